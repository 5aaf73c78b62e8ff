import EdgeCore
import Testing
import TestSupport

@testable import Store

@Suite struct ExportTests {
    @Test func csvHasAHeaderAndOneRowPerPollTime() async throws {
        let db = try TestDatabase()
        defer { db.remove() }
        var configuration = makeConfiguration(machines: 2, sensors: 3)
        configuration.machines[1].sensors[2].name = "flow, l/min"
        let mapping = try BufferDatabase(path: db.path).registerSensors(configuration)
        let writer = try ReadingWriter(path: db.path, mapping: mapping)
        let base: Int64 = 1_796_000_000_000  // 2026-11-30T00:53:20.000Z
        for i in 0..<4 {
            var batch = poll(machine: 1, sensors: 3, time: base + Int64(i) * 1500) { Double(i) + Double($0) * 0.25 }
            if i == 2 { batch[0] = Reading(machine: 1, sensor: 0, time: batch[0].time, value: .nan, quality: .exception) }
            if i == 3 { batch.remove(at: 1) }
            batch += poll(machine: 0, sensors: 3, time: base + Int64(i) * 1500) { _ in 99 }
            _ = writer.append(batch)
        }
        #expect(await writer.committed(within: .seconds(30)))
        let reader = try BufferDatabase(path: db.path, access: .readOnly)
        var csv = ""
        let rows = try CSVExport.export(
            machine: "m1", configuration: configuration, from: Timestamp(millisecondsSinceEpoch: base + 1),
            until: Timestamp(millisecondsSinceEpoch: base + 1_000_000), database: reader, to: &csv)
        #expect(rows == 3)
        #expect(csv == """
            timestamp,s0,s1,"flow, l/min"
            2026-11-30T00:53:21.500Z,1.0,1.25,1.5
            2026-11-30T00:53:23.000Z,,2.25,2.5
            2026-11-30T00:53:24.500Z,3.0,,3.5

            """)

        let unknown = #expect(throws: StoreError.self) {
            try CSVExport.export(
                machine: "nope", configuration: configuration, from: Timestamp(millisecondsSinceEpoch: 0),
                until: Timestamp(millisecondsSinceEpoch: base), database: reader, to: &csv)
        }
        #expect(unknown?.code == .unknownMachine)
        #expect(unknown?.message.contains("m0, m1") == true)
    }

    @Test(arguments: [
        ("10m", Int64(600_000)), ("24h", 86_400_000), ("90s", 90_000), ("7d", 604_800_000), ("2w", 1_209_600_000),
        ("0s", 0),
    ])
    func relativeTimesAreAgo(text: String, milliseconds: Int64) {
        let now = Timestamp(millisecondsSinceEpoch: 1_796_000_000_000)
        #expect(CSVExport.parseTime(text, now: now)?.millisecondsSinceEpoch == now.millisecondsSinceEpoch - milliseconds)
    }

    @Test(arguments: [
        ("2026-11-30T00:53:20.000Z", Int64(1_796_000_000_000)), ("2026-11-30T00:53:20Z", 1_796_000_000_000),
        ("2026-11-29", 1_795_910_400_000),
    ])
    func absoluteTimesAreISO8601(text: String, milliseconds: Int64) {
        #expect(CSVExport.parseTime(text, now: Timestamp(millisecondsSinceEpoch: 0))?.millisecondsSinceEpoch == milliseconds)
    }

    @Test(arguments: ["", "m", "10", "10x", "-5m", "yesterday", "2026-13-01"])
    func nonsenseTimesAreRejected(text: String) {
        #expect(CSVExport.parseTime(text, now: Timestamp(millisecondsSinceEpoch: 0)) == nil)
    }
}
