import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why summary files could not be written.
public struct SummaryWriterError: Error, Sendable, CustomStringConvertible {
    /// The directory or file concerned.
    public var path: String
    /// What went wrong and what to check.
    public var reason: String
    /// One line for people.
    public var description: String { "\(path): \(reason)" }
}

/// The three files of one summary.
public struct SummaryFiles: Sendable, Equatable {
    /// The JSON summary.
    public var json: String
    /// The per-sensor CSV table.
    public var csv: String
    /// The self-contained HTML report.
    public var html: String
}

/// Writes a summary's JSON, CSV and HTML files into a directory, each atomically (a temporary
/// file in the same directory, fsync, rename): a reader or a crash never sees half a file.
public enum SummaryWriter {
    /// Computes the statistics of `input` and writes its three files into `directory`
    /// (created if missing), replacing earlier files of the same machine and period.
    /// - Returns: the paths written.
    /// - Throws: `SummaryWriterError` when the directory cannot be created, `AtomicFileError`
    ///   when a file cannot be written (disk full, permissions); files already written stay.
    @discardableResult
    public static func write(_ input: SummaryInput, to directory: String) throws -> SummaryFiles {
        try createDirectory(directory)
        let statistics = SummaryStatistics(input)
        let name = SummaryFileName(machine: input.machine, start: input.start, end: input.end)
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        let files = SummaryFiles(
            json: base + name.fileName(extension: "json"), csv: base + name.fileName(extension: "csv"),
            html: base + name.fileName(extension: "html"))
        // Mode 0640 whatever the umask: summaries hold the same sensor values as the alert log
        // and the buffer, so only the agent's user and group read them.
        // JSON last: log shippers that watch for *.json then find the CSV and HTML already there.
        try AtomicFile.write(SummaryCSV.render(input, statistics: statistics), to: files.csv, mode: 0o640)
        try AtomicFile.write(SummaryHTML.render(input, statistics: statistics), to: files.html, mode: 0o640)
        try AtomicFile.write(SummaryJSON.render(input, statistics: statistics), to: files.json, mode: 0o640)
        return files
    }

    /// `mkdir -p`.
    static func createDirectory(_ path: String) throws {
        guard !path.isEmpty else { throw SummaryWriterError(path: path, reason: "empty summary directory") }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o750) != 0 {
                let code = errno
                var info = stat()
                guard code == EEXIST, stat(prefix, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw SummaryWriterError(
                        path: prefix,
                        reason: "cannot create the summary directory: \(String(cString: strerror(code))) (check agent.summary_dir and its permissions)")
                }
            }
            prefix += "/"
        }
    }
}
