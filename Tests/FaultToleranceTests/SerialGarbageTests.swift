import EdgeCore
import Foundation
import ModbusServer
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Copies bytes between two serial lines (each the end of a socat pty pair) and, while
/// `garbage` is on, injects random bytes and flips bits in both directions: a noisy RS-485 line.
final class GarbageRelay: @unchecked Sendable {
    // @unchecked Sendable: the descriptors are set in init and used only by the relay thread
    // until `stop()` has joined it; the flags and counters are atomics.
    private let left: Int32
    private let right: Int32
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    /// Whether bytes are being corrupted now.
    let garbage = Atomic<Bool>(false)
    /// Bytes injected or altered so far.
    let injectedBytes = Atomic<Int>(0)

    init(_ leftPath: String, _ rightPath: String) throws {
        left = try GarbageRelay.openRaw(leftPath)
        do { right = try GarbageRelay.openRaw(rightPath) } catch { close(left); throw error }
        let thread = Thread { [self] in run() }
        thread.name = "garbage-relay"
        thread.start()
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        while !finished.load(ordering: .sequentiallyConsistent) { usleep(5_000) }
        close(left)
        close(right)
    }

    private static func openRaw(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw TestSupportError("open \(path): \(String(cString: strerror(errno)))") }
        var t = termios()
        if tcgetattr(fd, &t) == 0 {
            cfmakeraw(&t)
            _ = tcsetattr(fd, TCSANOW, &t)
        }
        return fd
    }

    private func run() {
        // Part of the line: SCHED_FIFO where allowed, like socat (see DevicePriority).
        DevicePriority.raiseCurrentThread()
        var generator = SystemRandomNumberGenerator()
        var buffer = [UInt8](repeating: 0, count: 512)
        while !stopping.load(ordering: .sequentiallyConsistent) {
            var fds = [pollfd(fd: left, events: Int16(POLLIN), revents: 0), pollfd(fd: right, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 20) > 0 else { continue }
            for (from, to) in [(0, right), (1, left)] where fds[from].revents & Int16(POLLIN) != 0 {
                let n = read(fds[from].fd, &buffer, buffer.count)
                guard n > 0 else { continue }
                var bytes = Array(buffer[0..<n])
                if garbage.load(ordering: .relaxed) {
                    let roll = Int.random(in: 0..<10, using: &generator)
                    if roll < 4 {
                        let extra = (0..<Int.random(in: 1...6, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                        bytes.insert(contentsOf: extra, at: Int.random(in: 0...bytes.count, using: &generator))
                        injectedBytes.add(extra.count, ordering: .relaxed)
                    } else if roll < 6 {
                        bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
                        injectedBytes.add(1, ordering: .relaxed)
                    }
                }
                var offset = 0
                var attempts = 0
                while offset < bytes.count && attempts < 100 {
                    let w = bytes.withUnsafeBytes { write(to, $0.baseAddress! + offset, bytes.count - offset) }
                    if w > 0 { offset += w } else { attempts += 1; usleep(1_000) }
                }
            }
        }
        finished.store(true, ordering: .sequentiallyConsistent)
    }
}

/// An RTU line with garbage on it (socat pty pairs with the relay above in between), next to a
/// healthy TCP bus: the agent keeps running, never stores garbage as data, flags every poll, and
/// reads the line again once it is clean.
@Suite(.serialized) struct SerialGarbageTests {
    @Test(.enabled(if: sqlite3Available && SocatPair.isAvailable), .timeLimit(.minutes(2)))
    func garbageOnTheRTULine() async throws {
        let result = await #expect(processExitsWith: .success, observing: childOutput) {
            try await SerialGarbageTests.garbageOnTheRTULineScenario()
        }
        printChildOutput(result)
    }

    /// The scenario, in its exit test's process (see `childOutput`).
    static func garbageOnTheRTULineScenario() async throws {
        let dir = try TemporaryDirectory(prefix: "rtu-garbage")
        defer { dir.remove() }
        let serverSide = try await SocatPair()
        defer { serverSide.stop() }
        let clientSide = try await SocatPair()
        defer { clientSide.stop() }
        let relay = try GarbageRelay(serverSide.clientEnd, clientSide.serverEnd)
        defer { relay.stop() }
        // The units at the end of the line answer like hardware, whatever the machine's load:
        // the server's thread gets SCHED_FIFO like socat and the relay (DevicePriority).
        let rtuServer = try ModbusServer(endpoint: .rtu(device: serverSide.serverEnd, baud: 115_200), units: [.init(unitID: 1), .init(unitID: 2)])
        defer { rtuServer.stop() }
        _ = rtuServer.useRealtimeScheduling(priority: DevicePriority.priority)
        try rtuServer.setRegisters([10], kind: .holding, unit: 1, address: 0)
        try rtuServer.setRegisters([20], kind: .holding, unit: 2, address: 0)
        let tcpServer = try startLoopbackServer(units: [1])
        defer { tcpServer.stop() }
        try tcpServer.setRegisters([30], kind: .holding, unit: 1, address: 0)

        var text = agentTable(dir.path)
        text += """

            [[bus]]
            name = "rtu"
            type = "rtu"
            device = "\(clientSide.clientEnd)"
            baud = 115200
            parity = "N"
            response_timeout = "200ms"
            pause_between_requests = "5ms"
            max_backoff = "1s"

            [[bus]]
            name = "b"
            type = "tcp"
            host = "127.0.0.1"
            port = \(tcpServer.port)
            response_timeout = "200ms"

            """
        for (id, bus, unit) in [("rtu-1", "rtu", 1), ("rtu-2", "rtu", 2), ("healthy-b", "b", 1)] {
            text += """

                [[machine]]
                id = "\(id)"
                poll_interval = "100ms"

                  [[machine.sensor]]
                  name = "v"
                  bus = "\(bus)"
                  unit_id = \(unit)
                  address = 0

                """
        }
        let agent = RunningAgent(try loadConfiguration(text, in: dir))
        #expect(await agent.waitUntilReady())
        let started = Timestamp.now()
        try await Task.sleep(for: .seconds(1))
        let garbageStart = Timestamp.now()
        relay.garbage.store(true, ordering: .relaxed)
        try await Task.sleep(for: .seconds(4))
        relay.garbage.store(false, ordering: .relaxed)
        let garbageEnd = Timestamp.now()
        #expect(!agent.hasEnded)
        try await Task.sleep(for: .seconds(3))
        let ended = Timestamp.now()
        #expect(!agent.hasEnded)
        #expect(await agent.stop() == nil)

        let database = dir.file("data/edge-agent.db")
        let expectedCycles = Double(ended.millisecondsSinceEpoch - started.millisecondsSinceEpoch) / 100
        let healthy = try await storedReadings(database, machine: "healthy-b", sensor: "v").filter { $0.quality == .good }
        #expect(Double(healthy.count) >= 0.6 * expectedCycles, "healthy TCP unit: \(healthy.count) of \(Int(expectedCycles))")
        // Garbage never becomes data: every good value is the one the unit holds.
        let wrongValues = try await sqlite(database, """
            SELECT count(*) FROM readings r JOIN sensors s ON s.id = r.sensor_id JOIN machines m ON m.id = s.machine_id
            WHERE r.quality = 0 AND ((m.name = 'rtu-1' AND r.value != 10) OR (m.name = 'rtu-2' AND r.value != 20))
            """)
        #expect(wrongValues == "0", "garbage was stored as readings")
        var summary: [String] = []
        for machine in ["rtu-1", "rtu-2"] {
            let readings = try await storedReadings(database, machine: machine, sensor: "v").filter { $0.milliseconds >= started.millisecondsSinceEpoch }
            let gaps = zip(readings.dropFirst(), readings).map { $0.milliseconds - $1.milliseconds }
            #expect((gaps.max() ?? 0) <= 1500, "\(machine): a gap of \(gaps.max() ?? 0) ms with nothing recorded")
            let during = readings.filter { $0.milliseconds > garbageStart.millisecondsSinceEpoch && $0.milliseconds < garbageEnd.millisecondsSinceEpoch }
            let flagged = during.filter { $0.quality != .good }
            #expect(!flagged.isEmpty, "\(machine): garbage left no flagged reading")
            #expect(flagged.allSatisfy { [.decodeError, .timeout, .stale].contains($0.quality) }, "\(machine): \(Set(flagged.map(\.quality.name)))")
            let recovered = readings.first { $0.quality == .good && $0.milliseconds > garbageEnd.millisecondsSinceEpoch }
            let recovery = recovered.map { $0.milliseconds - garbageEnd.millisecondsSinceEpoch }
            #expect(recovery != nil && recovery! <= 2100, "\(machine): recovery after \(recovery ?? -1) ms")
            let after = readings.filter { $0.milliseconds > garbageEnd.millisecondsSinceEpoch + 2100 }
            #expect(!after.isEmpty && after.allSatisfy { $0.quality == .good }, "\(machine): not all good after the line was clean: \(after.filter { $0.quality != .good }.map { "\($0.quality.name) at +\($0.milliseconds - garbageEnd.millisecondsSinceEpoch) ms" })")
            summary.append("\(machine): \(during.count) polls under garbage, \(flagged.count) flagged \(Set(flagged.map(\.quality.name)).sorted()), recovery \(recovery ?? -1) ms")
        }
        print("rtu garbage: \(relay.injectedBytes.load(ordering: .relaxed)) bytes injected; " + summary.joined(separator: "; "))
    }
}
