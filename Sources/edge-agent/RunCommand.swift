#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Configuration
import EdgeCore
import Logging
import Runtime
import ServiceLifecycle
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent: poll, buffer, score and alert until stopped.",
        discussion: """
            Polls every sensor in agent.conf, keeps every reading in the buffer (<data_dir>/edge-agent.db), \
            scores each calibrated machine on every new window and writes alerts to the alert log. \
            Machines without a model are buffered and logged as uncalibrated: run `edge-agent calibrate` for them. \
            SIGTERM or SIGINT stop it after flushing every reading and alert; SIGHUP reloads agent.conf \
            (a broken file is reported and the running configuration stays in force). \
            Under systemd it sends READY=1 and watchdog pings (Type=notify).
            """
    )

    @OptionGroup var options: ConfigurationOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: "Write Prometheus textfile metrics here (default: <data_dir>/edge-agent.prom).")
    var metricsFile: String?

    func run() async throws {
        // The buffer, alert log and summaries are not for every local user: no world access.
        umask(0o027)
        // Signals that report an I/O error by killing the process: a write past a file-size
        // limit (SIGXFSZ; ulimit -f, systemd's LimitFSIZE=) or into a pipe nobody reads
        // (SIGPIPE: a log reader gone, an action's pipe). Ignored, the write fails with EFBIG
        // or EPIPE instead, which the buffer reports as a full disk and the rest as a failed write.
        signal(SIGXFSZ, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let configuration = try options.load()
        let logger = logging.bootstrap(configuredLevel: configuration.agent.logLevel)
        // glibc gives each thread that meets a locked arena a new one (up to 8 per core), and
        // memory freed in one arena is not reused by the others: with pollers, the writer and the
        // Swift pool allocating side by side the heap creeps up in steps. Two arenas are plenty
        // for a process that spends ~1 % of a core.
        if !limitMallocArenas(to: 2) {
            logger.warning("mallopt(M_ARENA_MAX, 2) refused; memory may grow with the number of threads")
        }
        // Argument parsing, TOML and the main thread's hand-over to the concurrency runtime are
        // over: their code and data pages go (docs/performance.md, "Where the size and the memory go").
        releaseStartUpPages(logger: logger, after: "reading the configuration")
        var runtimeOptions = RuntimeOptions()
        runtimeOptions.metricsPath = metricsFile
        // Each phase of the runtime's start gives back the pages it alone used, before the next
        // phase adds its own: the start-up peak is the largest phase, not their sum.
        runtimeOptions.startUpPhaseEnded = { phase in releaseStartUpPages(logger: logger, after: phase.rawValue) }
        let runtime = AgentRuntime(configuration: configuration, options: runtimeOptions, logger: logger)
        let reloader = ReloadService(path: options.config, runtime: runtime, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: runtime),
                    .init(service: reloader, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            logger.critical("agent stopped: \(error)")
            throw ExitCode.failure
        }
    }
}

/// Reloads agent.conf on SIGHUP: a valid file replaces the running configuration, a broken one
/// is reported (every problem, with its line) and the running configuration stays.
struct ReloadService: Service {
    let path: String
    let runtime: AgentRuntime
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                let next = try ConfigurationLoader.load(path: path)
                runtime.reload(next)
            } catch {
                logger.error("SIGHUP: \(path) not reloaded, the running configuration stays in force:\n\(error.description)")
            }
        }
    }
}

/// `StartUpPages.release()` with a debug line saying what it gave back.
private func releaseStartUpPages(logger: Logger, after phase: String) {
    guard let released = StartUpPages.release() else {
        logger.debug("start-up pages not released after \(phase): /proc/self/smaps unreadable")
        return
    }
    let refused = released.failures.isEmpty ? "" : "; madvise refused \(released.failures.count) (errno \(released.failures))"
    logger.debug("released \(released.residentKilobytes) KiB of start-up pages in \(released.mappings) mappings after \(phase)\(refused)")
}

/// Sets glibc's M_ARENA_MAX. `mallopt` is declared in <malloc.h>, which the Glibc module does not
/// import, so it is looked up by name and called with the C calling convention.
/// - Returns: false when the symbol is missing or glibc refuses the value.
private func limitMallocArenas(to count: Int32) -> Bool {
    // RTLD_DEFAULT is the null handle: search the process's global symbols.
    guard let symbol = dlsym(nil, "mallopt") else { return false }
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    let arenaMaximum: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    return mallopt(arenaMaximum, count) == 1
}
