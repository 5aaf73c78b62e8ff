#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import EdgeCore
import Logging
import Synchronization

/// `--log-level`, shared by every subcommand (`@OptionGroup var logging: LoggingOptions`).
///
/// Call `bootstrap(configuredLevel:)` once, as early as possible in `run()`: the flag wins,
/// then the configuration's `log_level`, then `info`.
struct LoggingOptions: ParsableArguments {
    @Option(help: "How much to log, from the most detailed to the least (default: log_level in agent.conf, else info).")
    var logLevel: Logger.Level? = nil

    /// Sets up swift-log for the whole process and returns a logger labelled `label`.
    /// - Parameter configuredLevel: `agent.log_level` from the configuration, if one was loaded.
    @discardableResult
    func bootstrap(configuredLevel: String? = nil, label: String = "edge-agent") -> Logger {
        let level = logLevel ?? configuredLevel.flatMap(Logger.Level.init(rawValue:)) ?? .info
        AgentLogging.bootstrap(level: level)
        return Logger(label: label)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The one place the logging system is bootstrapped (swift-log allows it once per process).
enum AgentLogging {
    private static let done = Mutex(false)

    /// Installs `StandardErrorLogHandler` at `level`; later calls are ignored.
    static func bootstrap(level: Logger.Level) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        let journal = standardErrorIsJournal()
        LoggingSystem.bootstrap { label in
            StandardErrorLogHandler(label: label, logLevel: level, journal: journal)
        }
    }
}

/// Whether stderr is connected to the systemd journal: systemd then sets JOURNAL_STREAM to
/// `device:inode` of that stream, and we compare it with stderr so that a redirected stderr
/// (`2>file` in a service's shell script) still gets plain lines (see systemd.exec(5)).
func standardErrorIsJournal() -> Bool {
    guard let value = getenv("JOURNAL_STREAM") else { return false }
    let parts = String(cString: value).split(separator: ":")
    guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
    var status = stat()
    guard fstat(2, &status) == 0 else { return false }
    return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
}

/// Writes one line per message to standard error.
///
/// On a terminal or in a file: `2026-11-29T01:05:53.123Z info edge-agent: message key=value`.
/// Under systemd: `<6>edge-agent: message key=value`, where `<N>` is the syslog priority the
/// journal files the line under (it adds its own timestamp).
struct StandardErrorLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    let journal: Bool
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider? = nil

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = ""
        if journal {
            line += "<\(Self.syslogPriority(event.level))>"
        } else {
            line += Timestamp.now().iso8601
            line += " "
            line += event.level.rawValue
            line += " "
        }
        line += label
        line += ": "
        line += event.message.description
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(value)"
        }
        if let error = event.error { line += " error=\(error)" }
        if journal && line.contains("\n") {
            // Every journal line needs its own priority, or continuation lines land at info.
            let prefix = "<\(Self.syslogPriority(event.level))>"
            line = line.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n" + prefix)
        }
        printToStandardError(line)
    }

    /// The syslog priority (sd-daemon(3)) for a swift-log level.
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }
}
