import EdgeCore
import Testing

@testable import Store

/// One stored alert and whether `AlertFilter.active(from:until:machine:)` over minutes 10–20 of
/// machine "pump1" must return it. Times are minutes after t0; `ended` nil is an open alert.
struct ActiveAlertCase: Sendable, CustomTestStringConvertible {
    var machine = "pump1"
    var started: Int64
    var ended: Int64?
    var included: Bool
    var testDescription: String {
        "\(machine) \(started)–\(ended.map(String.init) ?? "open") → \(included ? "in" : "out")"
    }
}

@Suite struct AlertFilterTests {
    static let t0: Int64 = 1_780_000_000_000
    static func minute(_ m: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: t0 + m * 60_000) }

    /// A summary of [10, 20) reads the alerts open during it from SQL, not the machine's whole
    /// history (which grows for as long as the buffer is kept, and was read whole every period).
    @Test("alerts active during a period", arguments: [
        ActiveAlertCase(started: 2, ended: 5, included: false),     // over before the period
        ActiveAlertCase(started: 2, ended: 10, included: true),     // ends as it starts
        ActiveAlertCase(started: 2, ended: 12, included: true),     // runs into it
        ActiveAlertCase(started: 2, ended: nil, included: true),    // still open
        ActiveAlertCase(started: 10, ended: 11, included: true),    // inside
        ActiveAlertCase(started: 15, ended: 30, included: true),    // runs past its end
        ActiveAlertCase(started: 19, ended: nil, included: true),   // open, started inside
        ActiveAlertCase(started: 20, ended: nil, included: false),  // starts as it ends
        ActiveAlertCase(started: 25, ended: 26, included: false),   // after it
        ActiveAlertCase(machine: "motor2", started: 12, ended: nil, included: false),  // another machine
    ])
    func activeDuringAPeriod(_ c: ActiveAlertCase) throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        var record = AlertRecord(
            machine: c.machine, kind: "anomaly", severity: "warning", state: c.ended == nil ? .open : .cleared,
            started: Self.minute(c.started), ended: c.ended.map(Self.minute), peakScore: 3, threshold: 2)
        record.id = try buffer.insertAlert(record)
        let found = try buffer.alerts(.active(from: Self.minute(10), until: Self.minute(20), machine: "pump1"))
        #expect(found == (c.included ? [record] : []))
        // Without a machine, only the time filters apply.
        let anyMachine = try buffer.alerts(.active(from: Self.minute(10), until: Self.minute(20)))
        #expect(anyMachine.count == (c.included || (c.machine != "pump1" && c.started < 20) ? 1 : 0))
    }
}
