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

    /// Writes `bytes` to `path`, replacing it atomically.
    /// - Throws: `ReplayError` naming the path and the system error.
    public static func write(bytes: UnsafeRawBufferPointer, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard let file = fopen(temporary, "wb") else {
            throw ReplayError(message: "cannot create \(temporary): \(String(cString: strerror(errno))); check the folder exists and is writable")
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
