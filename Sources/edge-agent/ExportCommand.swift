import ArgumentParser
import Configuration
import EdgeCore
import Logging
import Store

#if canImport(Glibc)
import Glibc
#endif

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a machine's buffered readings as CSV, for replay and meta-train.",
        discussion: """
            Reads the agent's buffer (<data_dir>/edge-agent.db) without disturbing a running \
            agent and writes one row per poll time: a header `timestamp,<sensor>...` in \
            agent.conf order, ISO-8601 UTC timestamps with milliseconds, and an empty cell where \
            a value is missing or was bad (timeout, exception, out of range). \
            --since and --until take an ISO-8601 time (2026-11-29T08:00:00Z, or a date) or a \
            time ago: 90s, 10m, 24h, 7d, 2w.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv
    }

    @OptionGroup var options: ConfigurationOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: "The machine id from agent.conf (e.g. pump-1).")
    var machine: String

    @Option(help: "Start of the range, inclusive: ISO-8601 or a time ago (10m, 24h, 7d).")
    var since: String = "24h"

    @Option(help: "End of the range, exclusive: ISO-8601 or a time ago (default: now).")
    var until: String?

    @Option(help: "Output format (csv).")
    var format: Format = .csv

    @Option(help: "File to write (default: standard output). Replaced if it exists.")
    var output: String?

    func run() throws {
        let configuration = try options.load()
        let logger = logging.bootstrap(configuredLevel: configuration.agent.logLevel)
        let now = Timestamp.now()
        guard let from = CSVExport.parseTime(since, now: now) else {
            throw ValidationError("--since \(since): expected an ISO-8601 time (2026-11-29T08:00:00Z) or a time ago (10m, 24h, 7d)")
        }
        let untilText = until ?? "0s"
        guard let to = CSVExport.parseTime(untilText, now: now) else {
            throw ValidationError("--until \(untilText): expected an ISO-8601 time (2026-11-29T08:00:00Z) or a time ago (10m, 24h, 7d)")
        }
        guard from < to else {
            throw ValidationError("--since (\(from)) must be before --until (\(to))")
        }
        guard configuration.machine(id: machine) != nil else {
            let known = configuration.machines.map(\.id).joined(separator: ", ")
            throw ValidationError("no machine \"\(machine)\" in \(configuration.sourcePath); machines: \(known)")
        }
        let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
        let database: BufferDatabase
        do {
            database = try BufferDatabase(path: path, access: .readOnly)
        } catch let error as SQLiteError where error.reason == .cannotOpen {
            printToStandardError("export: no buffer at \(path): has the agent run with data_dir = \"\(configuration.agent.dataDirectory)\"? (\(error.message))")
            throw ExitCode.failure
        } catch {
            printToStandardError("export: \(error)")
            throw ExitCode.failure
        }

        var stream: FileStream
        if let output {
            guard let opened = FileStream(path: output) else {
                let reason = String(cString: strerror(errno))
                printToStandardError("export: cannot write \(output): \(reason)")
                throw ExitCode.failure
            }
            stream = opened
        } else {
            guard let opened = FileStream.standardOutput() else {
                printToStandardError("export: cannot write to standard output: \(String(cString: strerror(errno)))")
                throw ExitCode.failure
            }
            stream = opened
        }
        let rows: Int
        do {
            rows = try CSVExport.export(
                machine: machine, configuration: configuration, from: from, until: to, database: database, to: &stream)
        } catch {
            stream.close()
            printToStandardError("export: \(error)")
            throw ExitCode.failure
        }
        if let problem = stream.close() {
            printToStandardError("export: writing \(output ?? "standard output") failed: \(problem)")
            throw ExitCode.failure
        }
        logger.info("exported \(rows) rows of \(machine) from \(from) until \(to)", metadata: ["output": "\(output ?? "stdout")"])
    }
}

/// A buffered C stdio stream as a `TextOutputStream`; the first write error is kept for `close`.
struct FileStream: TextOutputStream {
    private let file: UnsafeMutablePointer<FILE>
    private let owned: Bool
    private var failure: Int32 = 0

    /// A stream on file descriptor 1 (flushed, never closed), nil when it cannot be opened.
    static func standardOutput() -> FileStream? {
        fdopen(1, "w").map { FileStream(file: $0, owned: false) }
    }

    private init(file: UnsafeMutablePointer<FILE>, owned: Bool) {
        self.file = file
        self.owned = owned
    }

    /// Opens `path` for writing (truncating it), nil with `errno` set on failure.
    init?(path: String) {
        guard let file = fopen(path, "w") else { return nil }
        self.init(file: file, owned: true)
    }

    mutating func write(_ string: String) {
        guard failure == 0 else { return }
        var text = string
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return }
            if fwrite(base, 1, buffer.count, file) != buffer.count { failure = errno }
        }
    }

    /// Flushes (and closes a file it opened); returns the first error, if any.
    @discardableResult
    mutating func close() -> String? {
        if fflush(file) != 0, failure == 0 { failure = errno }
        if owned, fclose(file) != 0, failure == 0 { failure = errno }
        return failure == 0 ? nil : String(cString: strerror(failure))
    }
}
