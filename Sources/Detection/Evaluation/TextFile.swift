import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes whole text or binary files atomically (temporary file + fsync + rename), with errors that name the path.
public enum TextFile {
    /// Writes `text` to `path`, replacing it atomically.
    /// - Throws: `ReplayError` naming the path and the system error.
    public static func write(_ text: String, to path: String) throws {
        var copy = text
        try copy.withUTF8 { try write(bytes: UnsafeRawBufferPointer($0), to: path) }
    }

    /// Writes `bytes` to `path`, replacing it atomically (EdgeCore's `AtomicFile`: temporary
    /// file, fsync, rename); the file is created with `mode` (the umask can only narrow it, so
    /// 0640 is never world-readable).
    /// - Throws: `ReplayError` naming the path and the system error.
    public static func write(bytes: UnsafeRawBufferPointer, to path: String, mode: mode_t = 0o644) throws {
        do {
            try AtomicFile.write(bytes: bytes, to: path, mode: mode)
        } catch {
            let reason = String(cString: strerror(error.code))
            switch error.operation {
            case "create": throw ReplayError(message: "cannot create \(error.path): \(reason); check the folder exists and is writable")
            case "rename": throw ReplayError(message: "cannot replace \(path): \(reason)")
            default: throw ReplayError(message: "cannot write \(path): \(reason); is the disk full?")
            }
        }
    }
}

extension TextFile {
    /// Reads a whole file (refusing files over `limit` bytes).
    /// - Throws: `ReplayError` naming the path and the system error.
    public static func readBytes(path: String, limit: Int = 64 << 20) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw ReplayError(message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= limit else { throw ReplayError(message: "\(path) is larger than \(limit) bytes") }
            if n < chunk.count {
                if ferror(file) != 0 { throw ReplayError(message: "read error on \(path)") }
                return out
            }
        }
    }
}

extension TextFile {
    /// Creates a folder and its parents (like `mkdir -p`).
    /// - Throws: `ReplayError` naming the folder and the system error.
    public static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw ReplayError(message: "cannot create folder \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }
}
