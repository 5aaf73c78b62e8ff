import EdgeCore
@testable import Runtime
import Testing

/// The scoring stage's queue: a due tick goes ahead of every queued cycle, ticks due together
/// are one, a full queue turns away cycles only, and `finish()` hands out what is queued first.
/// (Through the whole agent with a backlog: `ScoringBacklogTests`.)
@Suite struct ScoringQueueTests {
    static func cycle(_ n: Int) -> ScoringQueue.Cycle {
        ScoringQueue.Cycle(readings: [Reading(machine: 0, sensor: 0, time: Timestamp(millisecondsSinceEpoch: Int64(n)), value: Double(n), quality: .good)],
                           arrivedMonotonicNanoseconds: UInt64(n))
    }

    /// What `next()` gave: "c<n>" for a cycle, "t<models>" for a tick, "end" for nil.
    static func take(_ queue: ScoringQueue) async -> String {
        switch await queue.next() {
        case .cycle(let cycle)?: "c\(cycle.arrivedMonotonicNanoseconds)"
        case .tick(let models)?: "t\(models.map(\.machine))"
        case nil: "end"
        }
    }

    @Test func aTickGoesAheadOfQueuedCyclesAndTicksDueTogetherAreOne() async {
        let queue = ScoringQueue(capacity: 3)
        #expect(queue.offer(Self.cycle(1)) && queue.offer(Self.cycle(2)) && queue.offer(Self.cycle(3)))
        // Full: the next cycle is turned away, a tick is not.
        #expect(!queue.offer(Self.cycle(4)))
        queue.tick()
        queue.tick(newModels: [ScoringQueue.NewModel(machine: 1, model: nil)])
        var taken: [String] = []
        for _ in 0..<4 { taken.append(await Self.take(queue)) }
        #expect(taken == ["t[1]", "c1", "c2", "c3"])
        // Taken from a wrapped ring, in order.
        #expect(queue.offer(Self.cycle(5)) && queue.offer(Self.cycle(6)))
        #expect(await Self.take(queue) == "c5")
        queue.tick()
        queue.finish()
        #expect(!queue.offer(Self.cycle(7)))
        taken = []
        for _ in 0..<3 { taken.append(await Self.take(queue)) }
        #expect(taken == ["t[]", "c6", "end"])
    }

    @Test func aWaitingConsumerIsWokenByACycleATickAndTheFinish() async {
        let queue = ScoringQueue(capacity: 2)
        let consumer = Task { () -> [String] in
            var taken: [String] = []
            while true {
                let item = await Self.take(queue)
                taken.append(item)
                if item == "end" { return taken }
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(queue.offer(Self.cycle(1)))
        try? await Task.sleep(for: .milliseconds(50))
        queue.tick(newModels: [ScoringQueue.NewModel(machine: 0, model: nil)])
        try? await Task.sleep(for: .milliseconds(50))
        queue.finish()
        // In either order: a loaded machine may not have run the consumer within the 50 ms.
        let taken = await consumer.value
        #expect(taken.count == 3 && Set(taken.prefix(2)) == ["c1", "t[0]"] && taken.last == "end", "\(taken)")
    }
}
