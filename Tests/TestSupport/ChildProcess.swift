import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A program started by a test that cannot outlive the test process.
///
/// Started through `setpriv --pdeathsig KILL` (util-linux), so the kernel sends it SIGKILL when
/// its parent goes away, even when the test process itself is killed or traps and no `defer`
/// runs. The kernel's "parent" is the *thread* that spawned the child, so every child is spawned
/// from one thread that lives as long as the process (`Spawner`), never from a cooperative-pool
/// thread that may exit while the child still runs. That thread also has no signal blocked, so
/// the child starts with an empty signal mask and sees SIGTERM. `deinit` kills a child still
/// running.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` is set once in init; Foundation's Process is safe to
    // query and signal from any thread.
    private let process: Process

    /// The child's process id (the program's own: `setpriv` execs it).
    public var processIdentifier: Int32 { process.processIdentifier }
    /// Whether the child is still running.
    public var isRunning: Bool { process.isRunning }
    /// The exit status (or the signal number when `terminationReason` is `.uncaughtSignal`).
    public var terminationStatus: Int32 { process.terminationStatus }
    /// Whether it exited (`.exit`) or was killed by a signal (`.uncaughtSignal`).
    public var terminationReason: Process.TerminationReason { process.terminationReason }

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: replaces the environment when given (default: inherited).
    ///   - outputFile: stdout (and stderr, unless `errorFile` is given) is appended to this file;
    ///     nil discards it.
    ///   - errorFile: stderr is appended to this file instead; nil sends it where stdout goes.
    /// - Throws: `TestSupportError` when `executable` is not an executable file (checked here,
    ///   because `setpriv` would start and only then fail to run it); Foundation's error when
    ///   the program cannot be started.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, outputFile: String? = nil,
        errorFile: String? = nil
    ) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestSupportError("cannot start \"\(executable)\": not an executable file (run `swift build` first if it is one of ours)")
        }
        process = Process()
        if let setpriv = ChildProcess.setprivPath {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        let output = try outputFile.map(Self.appending) ?? FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = try errorFile.map(Self.appending) ?? (outputFile == nil ? FileHandle.nullDevice : output)
        process.standardInput = FileHandle.nullDevice
        try Spawner.shared.run(process)
    }

    deinit { killAndWait() }

    /// Sends `signal` to the child (no effect once it has exited).
    public func send(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Sends SIGTERM.
    public func terminate() { send(SIGTERM) }

    /// Blocks until the child has exited or `seconds` passed; returns whether it exited.
    /// In async code use the async overload, which leaves the thread free.
    @discardableResult
    public func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { return false }
        process.waitUntilExit()
        return true
    }

    /// Waits without blocking a thread (tests share the cooperative pool with in-process
    /// agents) until the child has exited or `seconds` passed; returns whether it exited.
    public func waitForExit(seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while process.isRunning && ContinuousClock.now < deadline {
            guard await pauseUnlessCancelled(.milliseconds(10)) else { break }
        }
        if process.isRunning { return false }
        process.waitUntilExit()
        return true
    }

    /// SIGKILL if still running, then reaps it.
    public func killAndWait() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    /// Asks the child to stop with SIGTERM, then kills it after `seconds`.
    public func stop(graceSeconds seconds: Double = 10) {
        terminate()
        if !waitForExit(seconds: seconds) { killAndWait() }
    }

    /// `path` opened for appending, created when missing.
    private static func appending(to path: String) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        return handle
    }

    private static let setprivPath: String? =
        ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The one thread every test child is spawned from (see `ChildProcess`).
private final class Spawner: @unchecked Sendable {
    // @unchecked Sendable: `jobs` is only touched with `condition` locked.
    static let shared = Spawner()

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [self] in
            // Children inherit the spawning thread's signal mask: keep it empty.
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.name = "test-spawner"
        thread.start()
    }

    /// Runs `process` on the spawner thread and waits for the outcome of `run()`.
    func run(_ process: Process) throws {
        let done = NSCondition()
        var finished = false
        var failure: Error? = nil
        condition.lock()
        jobs.append {
            var error: Error? = nil
            do { try process.run() } catch let e { error = e }
            done.lock()
            failure = error
            finished = true
            done.signal()
            done.unlock()
        }
        condition.signal()
        condition.unlock()
        done.lock()
        while !finished { done.wait() }
        let error = failure
        done.unlock()
        if let error { throw error }
    }
}


/// Waits without blocking a thread until the file at `path` contains `text`, or `seconds` pass;
/// returns whether it does. For the log a child program writes: a line it prints once it has got
/// that far (e.g. `edge-agent run`'s "agent running: "), where a fixed sleep would guess how long
/// start-up takes on a loaded machine.
/// - Parameter occurrences: how many times `text` must be there (a second start-up after a reload).
public func waitUntilFile(_ path: String, contains text: String, occurrences: Int = 1, seconds: Double) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    func found() -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        return String(decoding: data, as: UTF8.self).components(separatedBy: text).count - 1 >= occurrences
    }
    while ContinuousClock.now < deadline {
        if found() { return true }
        guard await pauseUnlessCancelled(.milliseconds(20)) else { break }
    }
    return found()
}
