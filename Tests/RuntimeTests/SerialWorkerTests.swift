import Dispatch
import Synchronization
import Testing
@testable import Runtime

/// How many `Payload`s are alive.
private final class LiveCount: Sendable {
    private let count = Mutex(0)
    func add(_ n: Int) { count.withLock { $0 += n } }
    var value: Int { count.withLock { $0 } }
}

/// Stands for what a job captures (a period's score points, a status snapshot): counts itself
/// alive from init to deinit.
private final class Payload: Sendable {
    let live: LiveCount
    init(live: LiveCount) {
        self.live = live
        live.add(1)
    }
    deinit { live.add(-1) }
}

@Suite("SerialWorker")
struct SerialWorkerTests {
    /// The agent's alert thread runs a status job every 5 s and each period's summary jobs (each
    /// holding 64 KiB of score points): jobs that have run must not stay in the queue's storage,
    /// or the agent's memory grows for as long as it runs (found by the hour-long soak).
    @Test("a job and what it captured are released once it has run",
          arguments: [1, 10, 3_000])
    func releasesJobsOnceRun(jobs: Int) throws {
        let live = LiveCount()
        let worker = try SerialWorker(name: "test-worker")
        defer { worker.stop() }
        // Hold the worker on a first job so that every other one is queued behind it: the
        // queue's storage then holds `jobs` closures at once (3,000 crosses its compaction).
        let gate = DispatchSemaphore(value: 0)
        #expect(worker.submit { gate.wait() })
        for _ in 0..<jobs {
            let payload = Payload(live: live)
            #expect(worker.submit { withExtendedLifetime(payload) {} })
        }
        #expect(live.value == jobs)
        gate.signal()
        worker.drain()
        #expect(live.value == 0)
    }

    @Test("jobs run one at a time, in the order submitted, also after the queue emptied")
    func runsJobsInOrder() throws {
        let worker = try SerialWorker(name: "test-worker")
        defer { worker.stop() }
        let order = Mutex<[Int]>([])
        for round in 0..<3 {
            for i in 0..<700 {
                let n = round * 700 + i
                #expect(worker.submit { order.withLock { $0.append(n) } })
            }
            worker.drain()
        }
        #expect(order.withLock { $0 } == Array(0..<2_100))
    }
}
