#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// Why the alert log could not be written.
public struct AlertLogError: Error, Sendable, CustomStringConvertible {
    /// What was being done.
    public var operation: String
    public var path: String
    /// The errno value.
    public var code: Int32

    public var description: String {
        "alert log \(path): \(operation) failed: \(String(cString: strerror(code)))"
    }
}

/// The alert log: JSON Lines, one event per line, fsync'd after every event and rotated by size.
///
/// On open, a torn last line (left by a crash mid-write) is cut off, so the file stays valid
/// JSON Lines for every reader. Files are created with mode 0640 (not world-readable).
///
/// - Important: not thread-safe; the runtime writes it from one task.
public final class AlertLog {
    public let path: String
    /// Rotate when the file would grow past this many bytes.
    public let maxBytes: Int64
    /// How many rotated files (`alerts.jsonl.1` …) to keep.
    public let keepFiles: Int
    private var fd: Int32 = -1
    private var size: Int64 = 0
    /// Bytes of a torn last line removed at open (0 when the file was whole).
    public private(set) var repairedBytes: Int64 = 0

    /// Opens (creating if needed) the alert log and repairs a torn last line.
    /// - Throws: `AlertLogError` when the file or its directory cannot be opened.
    public init(path: String, maxBytes: Int64 = 10 << 20, keepFiles: Int = 5) throws(AlertLogError) {
        self.path = path
        self.maxBytes = max(4096, maxBytes)
        self.keepFiles = max(1, keepFiles)
        try createParentDirectory()
        try openFile()
        try repairTornTail()
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Appends one event as a line and fsyncs it.
    public func append(_ event: AlertEvent) throws(AlertLogError) {
        try append(line: event.jsonLine)
    }

    /// Appends one already-encoded JSON object as a line and fsyncs it.
    public func append(line: String) throws(AlertLogError) {
        var text = line
        text.append("\n")
        let count = Int64(text.utf8.count)
        if size > 0, size + count > maxBytes { try rotate() }
        let ok = text.withUTF8 { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        guard ok else {
            let code = errno
            // A partial line (e.g. the disk filled mid-write) is cut off again, so the next line
            // does not start in the middle of it and readers keep seeing valid JSON Lines.
            _ = ftruncate(fd, off_t(size))
            throw AlertLogError(operation: "write", path: path, code: code)
        }
        size += count
        guard fsync(fd) == 0 else { throw AlertLogError(operation: "fsync", path: path, code: errno) }
    }

    /// The whole lines among the last `maxBytes` bytes of the current file (not the rotated
    /// ones), oldest first: where an interrupted writer's last event is.
    /// - Throws: `AlertLogError` when the file cannot be read.
    public func lastLines(maxBytes: Int) throws(AlertLogError) -> [String] {
        let length = Int(min(size, Int64(max(0, maxBytes))))
        guard length > 0 else { return [] }
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else { throw AlertLogError(operation: "open for reading", path: path, code: errno) }
        defer { close(reader) }
        let start = size - Int64(length)
        var buffer = [UInt8](repeating: 0, count: length)
        var filled = 0
        while filled < length {
            let n = buffer.withUnsafeMutableBytes { pread(reader, $0.baseAddress! + filled, length - filled, off_t(start) + off_t(filled)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw AlertLogError(operation: "read", path: path, code: n < 0 ? errno : EIO) }
            filled += n
        }
        var lines = buffer.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        // Mid-file, the first piece is the end of a line that began before the range.
        if start > 0, buffer.first != UInt8(ascii: "\n"), !lines.isEmpty { lines.removeFirst() }
        return lines.map { String(decoding: $0, as: UTF8.self) }
    }

    private func createParentDirectory() throws(AlertLogError) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let dir = String(path[..<slash])
        var current = dir.hasPrefix("/") ? "" : "."
        for part in dir.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o750) != 0, errno != EEXIST {
                throw AlertLogError(operation: "mkdir \(current)", path: path, code: errno)
            }
        }
    }

    private func openFile() throws(AlertLogError) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AlertLogError(operation: "open", path: path, code: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw AlertLogError(operation: "stat", path: path, code: errno) }
        size = Int64(st.st_size)
    }

    /// Cuts the file back to just after its last newline, if it does not end with one.
    private func repairTornTail() throws(AlertLogError) {
        guard size > 0 else { return }
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else { throw AlertLogError(operation: "open for repair", path: path, code: errno) }
        defer { close(reader) }
        var keep = size
        var buffer = [UInt8](repeating: 0, count: 4096)
        var end = size
        scan: while end > 0 {
            let start = max(0, end - Int64(buffer.count))
            let length = Int(end - start)
            let n = buffer.withUnsafeMutableBytes { pread(reader, $0.baseAddress, length, off_t(start)) }
            guard n == length else { throw AlertLogError(operation: "read for repair", path: path, code: errno) }
            if end == size, buffer[length - 1] == UInt8(ascii: "\n") { return }
            for i in stride(from: length - 1, through: 0, by: -1) where buffer[i] == UInt8(ascii: "\n") {
                keep = start + Int64(i) + 1
                break scan
            }
            end = start
            keep = 0
        }
        guard ftruncate(fd, off_t(keep)) == 0 else { throw AlertLogError(operation: "truncate torn line", path: path, code: errno) }
        repairedBytes = size - keep
        size = keep
        _ = fsync(fd)
    }

    private func rotate() throws(AlertLogError) {
        _ = fsync(fd)
        close(fd)
        fd = -1
        unlink("\(path).\(keepFiles)")
        for index in stride(from: keepFiles - 1, through: 1, by: -1) {
            rename("\(path).\(index)", "\(path).\(index + 1)")
        }
        guard rename(path, "\(path).1") == 0 else { throw AlertLogError(operation: "rotate", path: path, code: errno) }
        try openFile()
    }
}
