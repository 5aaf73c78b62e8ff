import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Which summary files to keep: the newest `keepNewest` periods per machine and/or those
/// younger than `maximumAge` (by the period's start in the file name). Both nil keeps everything.
public struct SummaryRetention: Sendable, Equatable {
    /// Periods kept per machine (each period is up to three files: json, csv, html); nil for no limit.
    public var keepNewest: Int?
    /// Periods that started longer ago than this are deleted; nil for no limit.
    public var maximumAge: Duration?

    /// Creates a retention policy.
    public init(keepNewest: Int? = nil, maximumAge: Duration? = nil) {
        self.keepNewest = keepNewest
        self.maximumAge = maximumAge
    }

    /// Deletes the summary files in `directory` that the policy does not keep, and temporaries
    /// that a killed writer left behind (older than an hour). Files whose names are not summary
    /// names are never touched.
    /// - Returns: the names of the files deleted, sorted.
    /// - Throws: `SummaryWriterError` when the directory cannot be listed.
    @discardableResult
    public func apply(in directory: String, now: Timestamp = .now()) throws -> [String] {
        guard let dir = opendir(directory) else {
            throw SummaryWriterError(path: directory, reason: "cannot list the summary directory: \(String(cString: strerror(errno)))")
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        let base = directory.hasSuffix("/") ? directory : directory + "/"

        var doomed: [String] = []
        // Periods per machine: machine → [(start, base name)].
        var periods: [String: [(Timestamp, String)]] = [:]
        var filesOfPeriod: [String: [String]] = [:]
        for name in names {
            if name.hasPrefix("."), name.contains(AtomicFile.temporaryMarker) {
                var info = stat()
                if stat(base + name, &info) == 0, Int64(info.st_mtim.tv_sec) * 1000 < now.millisecondsSinceEpoch - 3_600_000 {
                    doomed.append(name)
                }
                continue
            }
            guard let parsed = SummaryFileName(parsing: name),
                  name.hasSuffix(".json") || name.hasSuffix(".csv") || name.hasSuffix(".html") else { continue }
            let key = parsed.baseName
            if filesOfPeriod[key] == nil { periods[parsed.machine, default: []].append((parsed.start, key)) }
            filesOfPeriod[key, default: []].append(name)
        }
        for (_, list) in periods {
            let newestFirst = list.sorted { $0.0 > $1.0 }
            for (rank, (start, key)) in newestFirst.enumerated() {
                var drop = false
                if let keepNewest, rank >= max(0, keepNewest) { drop = true }
                if let maximumAge, start.millisecondsSinceEpoch < now.millisecondsSinceEpoch - maximumAge.wholeMilliseconds { drop = true }
                if drop { doomed += filesOfPeriod[key] ?? [] }
            }
        }
        var deleted: [String] = []
        for name in doomed.sorted() where unlink(base + name) == 0 || errno == ENOENT {
            deleted.append(name)
        }
        return deleted
    }
}
