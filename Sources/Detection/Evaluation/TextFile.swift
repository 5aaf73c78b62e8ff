#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes whole text or binary files atomically (temporary file + rename), with errors that name the path.
public enum TextFile {
    /// Writes `text` to `path`, replacing it atomically.
    /// - Throws: `ReplayError` naming the path and the system error.
    public static func write(_ text: String, to path: String) throws {
        var copy = text
        try copy.withUTF8 { try write(bytes: UnsafeRawBufferPointer($0), to: path) }
    }

    /// Writes `bytes` to `path`, replacing it atomically; the file is created with `mode` (the
    /// umask can only narrow it, so 0640 is never world-readable).
    /// - Throws: `ReplayError` naming the path and the system error.
    public static func write(bytes: UnsafeRawBufferPointer, to path: String, mode: mode_t = 0o644) throws {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0, let file = fdopen(descriptor, "wb") else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { close(descriptor); unlink(temporary) }
            throw ReplayError(message: "cannot create \(temporary): \(reason); check the folder exists and is writable")
        }
        let written = bytes.count == 0 ? 0 : fwrite(bytes.baseAddress, 1, bytes.count, file)
        let flushed = fflush(file) == 0
        let closed = fclose(file) == 0
        guard written == bytes.count, flushed, closed else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ReplayError(message: "cannot write \(path): \(reason); is the disk full?")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ReplayError(message: "cannot replace \(path): \(reason)")
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
