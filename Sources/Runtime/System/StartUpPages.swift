#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Gives back the code and read-only data pages that only start-up used.
///
/// Argument parsing, reading agent.conf, loading the models, the loader's relocation pass and the
/// unwinding of the main thread when it hands over to the Swift concurrency runtime run once,
/// and the kernel maps their pages in 64 KB chunks; those pages stay in the process's resident
/// set although nothing uses them again. `release()` unmaps every page of the program's and its
/// libraries' read-only, private, file-backed mappings (`MADV_DONTNEED`). The data stays in the
/// page cache: what the agent goes on using comes back at its next access as a minor fault, and
/// what only start-up used stays out.
///
/// Only mappings that cannot hold a private change are touched: not writable, and with no
/// anonymous (copied-on-write) page in /proc/self/smaps. That excludes the relocated data the
/// loader made read-only afterwards (RELRO) and pages a debugger patched with breakpoints, whose
/// contents would otherwise fall back to the file's. Call it after phases of one-off work (the
/// runtime's start-up; each period's summaries, whose code runs once a period), never in a tight
/// loop: that would only make the agent fault its own code in again.
public enum StartUpPages {
    /// What one `release()` did.
    public struct Released: Sendable, Equatable {
        /// Mappings whose pages were given back.
        public var mappings = 0
        /// Resident kilobytes those mappings held just before (smaps `Rss`).
        public var residentKilobytes = 0
        /// Mappings `madvise` refused, with its errno (the pages stay; nothing else changes).
        public var failures: [Int32] = []
    }

    /// Unmaps the resident pages of every read-only private file mapping of this process.
    /// - Returns: what was released, or nil when /proc/self/smaps cannot be read (nothing done).
    @discardableResult
    public static func release() -> Released? {
        guard let smaps = readProcFile("/proc/self/smaps") else { return nil }
        var released = Released()
        for mapping in parseMappings(smaps) where mapping.isReleasable {
            guard let start = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if madvise(start, mapping.end - mapping.start, MADV_DONTNEED) == 0 {
                released.mappings += 1
                released.residentKilobytes += mapping.residentKilobytes
            } else {
                released.failures.append(errno)
            }
        }
        return released
    }

    /// One mapping of /proc/self/smaps, with the fields `release()` decides on.
    struct Mapping: Equatable {
        var start: Int
        var end: Int
        var permissions: Substring
        var path: Substring
        var residentKilobytes = 0
        var anonymousKilobytes = 0

        /// Read-only, private, backed by a file, and never written: its pages equal the file's.
        var isReleasable: Bool {
            permissions.count == 4 && !permissions.contains("w") && permissions.last == "p"
                && path.first == "/" && anonymousKilobytes == 0 && residentKilobytes > 0
        }
    }

    /// Parses the mapping header lines (`start-end perms offset dev inode path`) and their `Rss:`
    /// and `Anonymous:` fields; other fields are skipped.
    ///
    /// Walks the text's UTF-8 bytes once, without splitting it: a split made an array per line,
    /// thousands of allocations per call for the agent's smaps (docs/performance.md). The
    /// mappings' `permissions` and `path` are slices of `text`.
    static func parseMappings(_ text: String) -> [Mapping] {
        var mappings: [Mapping] = []
        let bytes = text.utf8
        var lineStart = bytes.startIndex
        while lineStart < bytes.endIndex {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            defer { lineStart = lineEnd < bytes.endIndex ? bytes.index(after: lineEnd) : lineEnd }
            if let mapping = header(text, from: lineStart, to: lineEnd) {
                mappings.append(mapping)
                continue
            }
            var fields = FieldScanner(bytes: bytes, position: lineStart, end: lineEnd)
            guard !mappings.isEmpty, let name = fields.next(), let second = fields.next(),
                  let kilobytes = number(bytes[second], radix: 10) else { continue }
            if bytes[name].elementsEqual("Rss:".utf8) {
                mappings[mappings.count - 1].residentKilobytes = kilobytes
            } else if bytes[name].elementsEqual("Anonymous:".utf8) {
                mappings[mappings.count - 1].anonymousKilobytes = kilobytes
            }
        }
        return mappings
    }

    /// The mapping a header line (`start-end perms offset dev inode [path]`) of `text` between
    /// `start` and `end` names, or nil when the line is not one.
    private static func header(_ text: String, from start: String.Index, to end: String.Index) -> Mapping? {
        let bytes = text.utf8
        var fields = FieldScanner(bytes: bytes, position: start, end: end)
        guard let range = fields.next(), let dash = bytes[range].firstIndex(of: UInt8(ascii: "-")),
              let low = number(bytes[range.lowerBound..<dash], radix: 16),
              let high = number(bytes[bytes.index(after: dash)..<range.upperBound], radix: 16),
              let permissions = fields.next(), fields.next() != nil, fields.next() != nil, fields.next() != nil
        else { return nil }
        // The path is the rest of the line after the inode, spaces inside it kept.
        return Mapping(start: low, end: high, permissions: text[permissions], path: text[fields.remainder()])
    }

    /// The space-separated fields of one line of `bytes`, as ranges.
    private struct FieldScanner {
        let bytes: String.UTF8View
        var position: String.Index
        let end: String.Index

        /// The next field, or nil at the end of the line.
        mutating func next() -> Range<String.Index>? {
            skipSpaces()
            guard position < end else { return nil }
            let start = position
            while position < end && bytes[position] != UInt8(ascii: " ") { bytes.formIndex(after: &position) }
            return start..<position
        }

        /// What follows the fields read so far, leading spaces skipped (empty at the line's end).
        mutating func remainder() -> Range<String.Index> {
            skipSpaces()
            return position..<end
        }

        private mutating func skipSpaces() {
            while position < end && bytes[position] == UInt8(ascii: " ") { bytes.formIndex(after: &position) }
        }
    }

    /// A non-negative number in `radix` (10 or 16) spelt by all of `digits`, or nil (empty, another
    /// character, too large for an `Int`).
    private static func number(_ digits: Substring.UTF8View, radix: Int) -> Int? {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            let digit: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = Int(byte - UInt8(ascii: "A")) + 10
            default: return nil
            }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: radix)
            guard !overflow else { return nil }
            let (sum, carry) = shifted.addingReportingOverflow(digit)
            guard !carry else { return nil }
            value = sum
        }
        return value
    }

    /// The whole file read with `read(2)` (proc files report no size), or nil on an error.
    static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
