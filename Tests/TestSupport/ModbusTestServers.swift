import Foundation
import ModbusServer
import Synchronization

/// Starts a real libmodbus server on `127.0.0.1` at an ephemeral port serving `units`
/// (each with all four tables at addresses 0..<10000). Call `stop()` when done.
public func startLoopbackServer(units: [Int] = [1]) throws -> ModbusServer {
    try ModbusServer(endpoint: .tcp(host: "127.0.0.1", port: 0), units: units.map { ModbusServer.Unit(unitID: $0) })
}

/// A real serial line for RTU tests: two pseudo-terminals joined by `socat`.
///
/// `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`; bytes written to one end come
/// out of the other. Call `stop()` to end socat and remove the links.
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

    /// Starts socat and waits (up to 5 s) until both pty links exist.
    public init() throws {
        guard let socat = SocatPair.socatPath else { throw TestSupportError("socat is not installed (apt-get install socat)") }
        directory = try TemporaryDirectory(prefix: "socat")
        serverEnd = directory.file("server")
        clientEnd = directory.file("client")
        // A ChildProcess: socat dies with the test process even when that crashes.
        process = try ChildProcess(socat, ["-d", "-d", "pty,raw,echo=0,link=\(serverEnd)", "pty,raw,echo=0,link=\(clientEnd)"])
        let deadline = Date().addingTimeInterval(5)
        while !(FileManager.default.fileExists(atPath: serverEnd) && FileManager.default.fileExists(atPath: clientEnd)) {
            if Date() > deadline || !process.isRunning {
                stop()
                throw TestSupportError("socat did not create its pty pair within 5 s")
            }
            usleep(10_000)
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
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

/// Runs `executable` with `arguments` and waits for it, capturing both outputs.
public func runProgram(_ executable: String, _ arguments: [String]) throws -> ProgramRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read both pipes at once, before waiting: reading one to its end first would block for
    // good when the child fills the other (a sanitizer report on stderr is easily 64 KB).
    let errorData = Mutex(Data())
    let errorDone = DispatchSemaphore(value: 0)
    let errorHandle = error.fileHandleForReading
    Thread {
        let data = errorHandle.readDataToEndOfFile()
        errorData.withLock { $0 = data }
        errorDone.signal()
    }.start()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    errorDone.wait()
    let errData = errorData.withLock { $0 }
    process.waitUntilExit()
    return ProgramRun(status: process.terminationStatus,
                      standardOutput: String(decoding: outData, as: UTF8.self),
                      standardError: String(decoding: errData, as: UTF8.self))
}
