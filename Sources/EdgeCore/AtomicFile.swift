#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a file could not be written atomically.
public struct AtomicFileError: Error, Sendable, CustomStringConvertible {
    /// The file the failing call was about (the temporary, the final name or the directory).
    public var path: String
    /// The failing step: `create`, `write`, `fsync` or `rename`.
    public var operation: String
    /// errno of the failing call.
    public var code: Int32
    /// One line for people, e.g. `/var/lib/x/.a.json.tmp-12-9: write failed: No space left on device`.
    public var description: String { "\(path): \(operation) failed: \(String(cString: strerror(code)))" }
}

/// Writes files so readers only ever see a whole file: write a temporary file in the same
/// directory, fsync it, rename it over the final name, fsync the directory.
///
/// A crash at any moment leaves either the old file or the new one under the final name,
/// never half of one. Used for summaries, the metrics textfile, model and detector files and
/// every file the evaluation commands write.
public enum AtomicFile {
    /// What follows `.NAME` in a temporary's name (`.NAME.tmp-PID-RANDOM`); a file with it is
    /// left behind only when a writer was killed mid-write, and may be deleted.
    public static let temporaryMarker = ".tmp-"

    /// Replaces `path` with `contents`, creating it with `mode`.
    public static func write(_ contents: String, to path: String, mode: mode_t = 0o640) throws(AtomicFileError) {
        var text = contents
        let result = text.withUTF8 { buffer in
            Result { () throws(AtomicFileError) in try write(bytes: UnsafeRawBufferPointer(buffer), to: path, mode: mode) }
        }
        try result.get()
    }

    /// Replaces `path` with `bytes`, creating it with `mode` (the umask can only narrow it).
    public static func write(bytes: UnsafeRawBufferPointer, to path: String, mode: mode_t = 0o640) throws(AtomicFileError) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        // pid + random: two writers of the same file (other processes or other threads) never
        // share a temporary.
        let temporary = "\(directory.isEmpty ? "" : directory)/.\(name)\(temporaryMarker)\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AtomicFileError(path: temporary, operation: "create", code: errno) }
        var failure: AtomicFileError?
        if let base = bytes.baseAddress {
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, base + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = AtomicFileError(path: temporary, operation: "write", code: errno)
                    break
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = AtomicFileError(path: temporary, operation: "fsync", code: errno) }
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw AtomicFileError(path: path, operation: "rename", code: code)
        }
        let dirfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}
