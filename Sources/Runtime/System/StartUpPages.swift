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
    static func parseMappings(_ text: String) -> [Mapping] {
        var mappings: [Mapping] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            if let range = fields.first, let dash = range.firstIndex(of: "-"),
               let start = Int(range[..<dash], radix: 16), let end = Int(range[range.index(after: dash)...], radix: 16),
               fields.count >= 5 {
                let path = fields.count == 6 ? fields[5].drop(while: { $0 == " " }) : ""
                mappings.append(Mapping(start: start, end: end, permissions: fields[1], path: path))
            } else if fields.count >= 2, !mappings.isEmpty, let kilobytes = Int(fields[1]) {
                switch fields[0] {
                case "Rss:": mappings[mappings.count - 1].residentKilobytes = kilobytes
                case "Anonymous:": mappings[mappings.count - 1].anonymousKilobytes = kilobytes
                default: break
                }
            }
        }
        return mappings
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
