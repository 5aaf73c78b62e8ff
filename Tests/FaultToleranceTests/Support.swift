import Configuration
import EdgeCore
import Foundation
import Logging
import Runtime
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The sqlite3 command-line shell, used to look at the buffer from outside the agent.
let sqlite3Path = "/usr/bin/sqlite3"
let sqlite3Available = FileManager.default.isExecutableFile(atPath: sqlite3Path)

/// Runs one SQL statement with the sqlite3 shell and returns its trimmed output.
/// `readOnly` opens the file with `mode=ro` (never creates it).
func sqlite(_ database: String, _ query: String, readOnly: Bool = false) async throws -> String {
    let target = readOnly ? "file:\(database)?mode=ro" : database
    // A busy timeout like every reader of the buffer: the agent may be checkpointing.
    let run = try await runProgram(sqlite3Path, ["-batch", "-cmd", ".timeout 5000", target, query])
    guard run.status == 0 else { throw TestSupportError("sqlite3 \(query): \(run.standardError)") }
    return run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// One stored reading as the buffer holds it.
struct StoredReading: Equatable {
    var milliseconds: Int64
    var quality: Quality
}

/// The readings of one sensor in the buffer, oldest first.
func storedReadings(_ database: String, machine: String, sensor: String) async throws -> [StoredReading] {
    let text = try await sqlite(database, """
        SELECT r.t_ms, r.quality FROM readings r JOIN sensors s ON s.id = r.sensor_id JOIN machines m ON m.id = s.machine_id
        WHERE m.name = '\(machine)' AND s.name = '\(sensor)' ORDER BY r.t_ms
        """)
    return text.split(separator: "\n").compactMap { line in
        let parts = line.split(separator: "|")
        guard parts.count == 2, let t = Int64(parts[0]), let q = UInt8(parts[1]), let quality = Quality(rawValue: q) else { return nil }
        return StoredReading(milliseconds: t, quality: quality)
    }
}

/// Writes `text` as agent.conf in `directory` and loads it.
func loadConfiguration(_ text: String, in directory: TemporaryDirectory) throws -> AgentConfiguration {
    let path = directory.file("agent.conf")
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    do {
        return try ConfigurationLoader.load(path: path)
    } catch {
        throw TestSupportError("test configuration invalid:\n\(error.description)")
    }
}

/// Log lines the runtime wrote, kept for the test to inspect.
final class CollectedLog: Sendable {
    private let lines = Mutex<[(level: Logger.Level, message: String)]>([])

    func append(_ level: Logger.Level, _ message: String) { lines.withLock { $0.append((level, message)) } }

    /// Messages at `level` or above containing `text`.
    func messages(containing text: String, atLeast level: Logger.Level = .trace) -> [String] {
        lines.withLock { $0.filter { $0.level >= level && $0.message.contains(text) }.map(\.message) }
    }

    var all: [String] { lines.withLock { $0.map { "\($0.level) \($0.message)" } } }

    /// A logger whose lines (info and above) land here.
    func logger() -> Logger {
        var logger = Logger(label: "edge-agent.test") { _ in CollectingHandler(log: self) }
        logger.logLevel = .info
        return logger
    }
}

private struct CollectingHandler: LogHandler {
    let log: CollectedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log.append(event.level, event.message.description)
    }
}

/// What a test that runs a whole agent observes of its exit test's process.
///
/// Such a test runs its scenario inside `#expect(processExitsWith: .success, observing:
/// childOutput)`: this test binary started again for that scenario alone, so the agent it starts
/// (`RunningAgent`) has a cooperative pool to itself, as `edge-agent run` has. In the whole
/// suite's process it shared the pool's two threads with some 580 other tests, synchronous ones
/// among them, and every step of its scoring and alerting waited behind them: in a whole-suite
/// run with three busy loops beside it, these tests passed their time limits (9 of them, the run
/// 1,277 s). The scenario's issues are recorded in the child and fail the test in the parent
/// (which shows their comments, not their expressions: "Issue recorded"); `printChildOutput`
/// prints what the scenario printed.
///
/// Seen with Swift Testing 6.3.1: exit tests that overlap end together, when the one started
/// last ends (a 2 s exit test beside a 3 s one started after it: 3.04 s; the later child seems
/// to hold the earlier one's pipe). An exit test's duration, and what its time limit counts,
/// can therefore include the overlap.
let childOutput: [any PartialKeyPath<ExitTest.Result> & Sendable] = [\.standardOutputContent]

/// Prints what an exit test's process wrote (see `childOutput`).
func printChildOutput(_ result: ExitTest.Result?) {
    guard let result else { return }
    if !result.standardOutputContent.isEmpty {
        print(String(decoding: result.standardOutputContent, as: UTF8.self), terminator: "")
    }
}

/// `AgentRuntime` running in this process on its own task; `stop()` shuts it down gracefully
/// (every polled reading flushed to the buffer) and reports how `run()` ended.
final class RunningAgent: Sendable {
    let runtime: AgentRuntime
    let log: CollectedLog
    private let task: Task<String?, Never>
    private let ended: EndFlag

    private final class EndFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Whether `run()` has returned (before `stop()`, that means the agent gave up by itself).
    var hasEnded: Bool { ended.value.load(ordering: .sequentiallyConsistent) }

    init(_ configuration: AgentConfiguration, clock: any AgentClock = SystemClock(), options: RuntimeOptions = RuntimeOptions()) {
        log = CollectedLog()
        var options = options
        options.statusInterval = .seconds(1)
        runtime = AgentRuntime(configuration: configuration, options: options, logger: log.logger(), clock: clock)
        let runtime = self.runtime
        let ended = EndFlag()
        self.ended = ended
        task = Task {
            defer { ended.value.store(true, ordering: .sequentiallyConsistent) }
            do {
                try await runtime.run()
                return nil
            } catch {
                return "\(error)"
            }
        }
    }

    /// Waits until polling runs (or `seconds` pass). 60 s: in a whole-suite run under load,
    /// five in-process agents at once took longer than the 30 s allowed until then (start-up
    /// is async work, and the test process's cooperative pool has one thread per core, which
    /// blocking synchronous tests beside them can hold).
    func waitUntilReady(seconds: Double = 60) async -> Bool {
        await eventually(within: seconds) { self.runtime.isReady }
    }

    /// Stops and waits; returns the error `run()` ended with, or nil for a clean shutdown.
    func stop() async -> String? {
        runtime.stop()
        return await task.value
    }
}

/// A free TCP port on 127.0.0.1 with nothing listening on it (bound, then closed), for a server
/// the test starts on it later. A test that needs the port to refuse connections holds a
/// `RefusingPort` instead: once closed, any process may bind this one.
func unusedPort() throws -> Int {
    try RefusingPort().port
}

/// Every line of a JSON Lines file that does not parse as a JSON object (empty when valid).
func invalidJSONLines(_ path: String) -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    let text = String(decoding: data, as: UTF8.self)
    var bad: [String] = []
    if !text.isEmpty && !text.hasSuffix("\n") { bad.append("(no newline at end) \(text.suffix(80))") }
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        if object == nil { bad.append(String(line.prefix(200))) }
    }
    return bad
}

/// An integer environment variable (for the bigger `make` versions of the tests), else `fallback`.
func environmentCount(_ name: String, default fallback: Int) -> Int {
    ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? fallback
}
