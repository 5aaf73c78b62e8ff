import Foundation
import ModbusServer

/// Starts a real libmodbus server on `127.0.0.1` at an ephemeral port serving `units`
/// (each with all four tables at addresses 0..<10000). Call `stop()` when done.
///
/// It stands in for the units on a plant's network, which answer whatever this machine's
/// load: its thread runs with SCHED_FIFO where allowed (`DevicePriority`). Without that, on a
/// starved machine it missed 200-500 ms response timeouts in tests about decoding and alerts.
public func startLoopbackServer(units: [Int] = [1]) throws -> ModbusServer {
    let server = try ModbusServer(endpoint: .tcp(host: "127.0.0.1", port: 0), units: units.map { ModbusServer.Unit(unitID: $0) })
    _ = server.useRealtimeScheduling(priority: DevicePriority.priority)
    return server
}

/// A real serial line for RTU tests: two pseudo-terminals joined by `socat`.
///
/// `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`; bytes written to one end come
/// out of the other. socat runs with real-time priority where allowed (`DevicePriority`).
/// Call `stop()` to end socat and remove the links.
public final class SocatPair: @unchecked Sendable {
    // @unchecked Sendable: `process` and `directory` are set once in init; ChildProcess is
    // safe to signal and wait for from any thread.
    /// The end the server opens.
    public let serverEnd: String
    /// The end the client opens.
    public let clientEnd: String
    private let process: ChildProcess
    private let directory: TemporaryDirectory

    /// Whether socat is installed (tests that need it are skipped otherwise).
    public static var isAvailable: Bool { socatPath != nil }

    private static var socatPath: String? {
        ["/usr/bin/socat", "/bin/socat", "/usr/local/bin/socat"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts socat and waits (up to 5 s, without blocking a thread) until both pty links exist.
    public init() async throws {
        guard let socat = SocatPair.socatPath else { throw TestSupportError("socat is not installed (apt-get install socat)") }
        directory = try TemporaryDirectory(prefix: "socat")
        serverEnd = directory.file("server")
        clientEnd = directory.file("client")
        // A ChildProcess: socat dies with the test process even when that crashes. With
        // SCHED_FIFO where allowed: it is the wire, which carries bytes whatever the host's load.
        let command = DevicePriority.command(socat, ["-d", "-d", "pty,raw,echo=0,link=\(serverEnd)", "pty,raw,echo=0,link=\(clientEnd)"])
        process = try ChildProcess(command.executable, command.arguments)
        let deadline = ContinuousClock.now + .seconds(5)
        while !(FileManager.default.fileExists(atPath: serverEnd) && FileManager.default.fileExists(atPath: clientEnd)) {
            if ContinuousClock.now > deadline || !process.isRunning {
                stop()
                throw TestSupportError("socat did not create its pty pair within 5 s")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Ends socat (waiting for it) and removes the links.
    public func stop() {
        process.killAndWait()
        directory.remove()
    }

    deinit { stop() }
}

/// A test-support failure (a tool missing, a process that did not start).
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The built executable `name` (e.g. `edge-agent`) next to the test bundle, else under the
/// repository's `.build/debug`; nil when it has not been built.
public func builtExecutable(named name: String) -> String? {
    var candidates: [String] = []
    if let testBinary = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        var folder = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        while folder.path != "/" && folder.lastPathComponent.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        candidates.append(folder.appendingPathComponent(name).path)
    }
    candidates.append(repositoryRoot() + "/.build/debug/\(name)")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// What one run of a program printed and how it ended.
public struct ProgramRun: Sendable {
    /// The exit status (or the signal number when a signal ended it).
    public var status: Int32
    /// Everything it wrote to stdout.
    public var standardOutput: String
    /// Everything it wrote to stderr.
    public var standardError: String

    /// A run's outcome, for test helpers that start programs their own way.
    public init(status: Int32, standardOutput: String, standardError: String) {
        self.status = status
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
}

/// Runs `executable` with `arguments` to its end as a `ChildProcess` (so it dies with the test
/// process), capturing stdout and stderr separately.
///
/// - Parameters:
///   - environment: replaces the environment when given (default: inherited).
///   - timeoutSeconds: a program still running then is killed, and its `status` is SIGKILL's number.
/// - Throws: `TestSupportError` when `executable` is not an executable file; an error when it
///   cannot be started or its output cannot be read.
///
/// Async: it waits for the program without blocking a thread. Swift Testing runs tests in
/// parallel on the cooperative pool (one thread per core, 2 here), which the in-process agents
/// and other async tests need; a test blocked on a child held one of them for the child's
/// whole run, and on a loaded machine that starved the rest of the suite.
public func runProgram(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeoutSeconds: Double = 600
) async throws -> ProgramRun {
    // Files, not pipes: nothing has to drain them while the child runs.
    let directory = try TemporaryDirectory(prefix: "run-program")
    defer { directory.remove() }
    let child = try ChildProcess(
        executable, arguments, environment: environment, outputFile: directory.file("stdout"), errorFile: directory.file("stderr"))
    if !(await child.waitForExit(seconds: timeoutSeconds)) { child.killAndWait() }
    func text(_ name: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: directory.file(name))), as: UTF8.self)
    }
    return ProgramRun(status: child.terminationStatus, standardOutput: try text("stdout"), standardError: try text("stderr"))
}

/// `runProgram` for the few places that cannot wait asynchronously (an initializer, `deinit`,
/// `defer`, a static property) and programs that take milliseconds (`mount`, `umount`, `cp`):
/// it blocks the calling thread until the program ends.
public func runProgramBlocking(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeoutSeconds: Double = 60
) throws -> ProgramRun {
    let directory = try TemporaryDirectory(prefix: "run-program")
    defer { directory.remove() }
    let child = try ChildProcess(
        executable, arguments, environment: environment, outputFile: directory.file("stdout"), errorFile: directory.file("stderr"))
    if !child.waitForExit(seconds: timeoutSeconds) { child.killAndWait() }
    func text(_ name: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: directory.file(name))), as: UTF8.self)
    }
    return ProgramRun(status: child.terminationStatus, standardOutput: try text("stdout"), standardError: try text("stderr"))
}
