import EdgeCore
import Runtime
import Testing

@Suite struct DataQualityMonitorTests {
    let sensors = [
        MonitoredSensor(name: "flow", unitKey: "sim/1", unit: "m3/h", minimum: 0, maximum: 200),
        MonitoredSensor(name: "pressure", unitKey: "sim/1", unit: "bar", minimum: 0, maximum: 16),
        MonitoredSensor(name: "ambient", unitKey: "sim/9"),
    ]

    func t(_ s: Int) -> Timestamp { Timestamp(millisecondsSinceEpoch: 1_000_000 + Int64(s) * 1000) }
    func t(_ s: Double) -> Timestamp { Timestamp(millisecondsSinceEpoch: 1_000_000 + Int64(s * 1000)) }
    /// `s` seconds on the monotonic clock, in nanoseconds.
    func mono(_ s: Double) -> UInt64 { 5_000_000_000 + UInt64(s * 1e9) }

    func monitor() -> DataQualityMonitor {
        DataQualityMonitor(machine: "pump-1", sensors: sensors, pollInterval: .seconds(1))
    }

    @Test func silentUnitRaisesOfflineOnceAndClears() {
        var m = monitor()
        var events: [AlertEvent] = []
        for s in 0..<10 {
            events += m.observe(time: t(s), values: [10, 2, .nan], qualities: [.good, .good, .timeout])
        }
        events += m.observe(time: t(10), values: [10, 2, 20], qualities: [.good, .good, .good])
        #expect(events.map(\.change) == [.raised, .cleared])
        #expect(events[0].alert.kind == .unitOffline)
        #expect(events[0].alert.message.contains("sim/9"))
        #expect(events[0].alert.started == t(0))
        #expect(events[1].alert.ended == t(10))
    }

    @Test func oneSensorFailingIsStaleNotOffline() {
        var m = monitor()
        var events: [AlertEvent] = []
        for s in 0..<6 {
            events += m.observe(time: t(s), values: [10, .nan, 20], qualities: [.good, .exception, .good])
        }
        #expect(events.map(\.alert.kind) == [.sensorStale])
        #expect(events[0].alert.topSensors.first?.sensor == "pressure")
        #expect(events[0].time == t(4))
    }

    @Test func outOfRangeNeedsPersistenceAndIsNotScorable() {
        var m = monitor()
        #expect(!m.isScorable(sensor: 1, value: 99, quality: .good))
        #expect(!m.isScorable(sensor: 0, value: .infinity, quality: .good))
        #expect(m.isScorable(sensor: 0, value: 50, quality: .good))
        #expect(m.observe(time: t(0), values: [10, 99, 20], qualities: [.good, .good, .good]).isEmpty)
        #expect(m.observe(time: t(1), values: [10, 2, 20], qualities: [.good, .good, .good]).isEmpty)
        #expect(m.observe(time: t(2), values: [10, 99, 20], qualities: [.good, .good, .good]).isEmpty)
        let raised = m.observe(time: t(3), values: [10, 99, 20], qualities: [.good, .good, .good])
        #expect(raised.map(\.alert.kind) == [.outOfRange])
        #expect(raised.first?.alert.message.contains("outside its physical range 0.0…16.0") == true)
        let cleared = m.observe(time: t(4), values: [10, 3, 20], qualities: [.good, .good, .good])
        #expect(cleared.map(\.change) == [.cleared])
    }

    /// As the poller delivers it: an out-of-range value is flagged `out_of_range` with the value kept.
    /// It is an answer (out_of_range, never stale, not scorable); a NaN decode error is not.
    @Test func flaggedOutOfRangeValueIsOutOfRangeNotStale() {
        var m = monitor()
        #expect(!m.isScorable(sensor: 1, value: 65535, quality: .outOfRange))
        var events: [AlertEvent] = []
        for s in 0..<8 {
            events += m.observe(time: t(s), values: [10, 65535, 20], qualities: [.good, .outOfRange, .good])
        }
        #expect(events.map(\.alert.kind) == [.outOfRange])
        #expect(events.first?.time == t(1))
        #expect(events.first?.alert.message.contains("reads 65535.0 bar") == true)
        #expect(events.first?.alert.topSensors.first?.value == 65535)
        // The transmitter then gives nothing decodable: stale after 5 such cycles; out_of_range stays open.
        var later: [AlertEvent] = []
        for s in 8..<13 {
            later += m.observe(time: t(s), values: [10, .nan, 20], qualities: [.good, .decodeError, .good])
        }
        #expect(later.map(\.alert.kind) == [.sensorStale])
        #expect(later.first?.time == t(12))
        // Back in range: both clear.
        let cleared = m.observe(time: t(13), values: [10, 3, 20], qualities: [.good, .good, .good])
        #expect(cleared.map(\.change) == [.cleared, .cleared])
        #expect(Set(cleared.map(\.alert.kind)) == [.sensorStale, .outOfRange])
    }

    @Test func stoppedDataRaisesOnTickAndClearsOnArrival() {
        var m = monitor()
        #expect(m.tick(now: t(100)) == nil)  // nothing ever arrived: not "stopped", just not started
        _ = m.observe(time: t(0), values: [1, 1, 1], qualities: [.good, .good, .good])
        #expect(m.tick(now: t(9)) == nil)
        // 10 intervals of silence found at t(10), raised once a check 1 s later still finds it.
        #expect(m.tick(now: t(10)) == nil)
        #expect(m.tick(now: t(10.5)) == nil)
        let stopped = m.tick(now: t(11))
        #expect(stopped?.alert.kind == .dataStopped)
        #expect(stopped?.alert.message.contains("no reading for 11 s") == true, "\(String(describing: stopped?.alert.message))")
        #expect(m.tick(now: t(20)) == nil)  // raised once
        #expect(m.openAlerts.count == 1)
        let events = m.observe(time: t(21), values: [1, 1, 1], qualities: [.good, .good, .good])
        #expect(events.map(\.change) == [.cleared])
        #expect(m.openAlerts.isEmpty)
    }

    /// The whole agent paused (its process starved of CPU for 12 s): the first check after it
    /// finds 10 intervals of silence for every machine, but the pollers deliver within a moment;
    /// no data_stopped alert (it was raised, then cleared 59 ms later, in a loaded test run).
    @Test func aPauseOfTheAgentIsNotStoppedData() {
        var m = monitor()
        _ = m.observe(time: t(0), values: [1, 1, 1], qualities: [.good, .good, .good], monotonicNanoseconds: mono(0))
        #expect(m.tick(now: t(12), monotonicNanoseconds: mono(12)) == nil)
        // The poller's late cycle reaches the intake 60 ms later (scored later still).
        m.noteArrival(monotonicNanoseconds: mono(12.06))
        #expect(m.tick(now: t(12.5), monotonicNanoseconds: mono(12.5)) == nil)
        #expect(m.tick(now: t(13.1), monotonicNanoseconds: mono(13.1)) == nil)
        _ = m.observe(time: t(12), values: [1, 1, 1], qualities: [.good, .good, .good], monotonicNanoseconds: mono(12.06))
        #expect(m.tick(now: t(14), monotonicNanoseconds: mono(14)) == nil)
        #expect(m.openAlerts.isEmpty)
        // Data that really stops is still raised: found at 22.1 s, 1 s later still silent.
        #expect(m.tick(now: t(22.1), monotonicNanoseconds: mono(22.1)) == nil)
        let stopped = m.tick(now: t(23.1), monotonicNanoseconds: mono(23.1))
        #expect(stopped?.alert.kind == .dataStopped)
    }
}
