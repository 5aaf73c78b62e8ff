#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a file could not be written atomically.
public struct AtomicFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var code: Int32
    public var description: String { "\(path): \(operation) failed: \(String(cString: strerror(code)))" }
}

/// Writes files so readers only ever see a whole file: write a temporary file in the same
/// directory, fsync it, rename it over the final name, fsync the directory.
///
/// A crash at any moment leaves either the old file or the new one under the final name,
/// never half of one. Used for summaries and the metrics textfile.
public enum AtomicFile {
    /// Replaces `path` with `contents`, creating it with `mode`.
    public static func write(_ contents: String, to path: String, mode: mode_t = 0o640) throws(AtomicFileError) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(directory.isEmpty ? "" : directory)/.\(name).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AtomicFileError(path: temporary, operation: "create", code: errno) }
        var failure: AtomicFileError?
        var text = contents
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = AtomicFileError(path: temporary, operation: "write", code: errno)
                    return
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
