import ArgumentParser
import Configuration
import Detection
import EdgeCore
import Store

/// Reads calibration data for `calibrate --last/--from/--until` from the agent's buffer: the
/// machine's rows in the stretch (normal operation), plus the rows of its alerts that operators
/// labelled true (examples of faults) and false (normal operation after all).
struct CalibrationFromBuffer {
    let configuration: AgentConfiguration
    let machine: MachineConfiguration

    /// The stretch of normal operation, with rows inside alerts labelled true left out.
    /// - Returns: the normal rows and, when any alert of the machine is labelled true, its rows.
    func load(last: String?, from: String?, until: String?) throws -> (normal: SensorTable, faults: SensorTable?) {
        let now = Timestamp.now()
        let start: Timestamp
        var end = now
        if let last {
            guard let t = CSVExport.parseTime(last, now: now), t < now else {
                throw ValidationError("--last \(last): expected a duration such as 10m or 2h")
            }
            start = t
        } else {
            guard let fromText = from, let t = CSVExport.parseTime(fromText, now: now) else {
                throw ValidationError("--from: expected an ISO-8601 time (e.g. 2026-11-29T08:00:00Z) or a duration ago such as 2h")
            }
            start = t
            if let untilText = until {
                guard let u = CSVExport.parseTime(untilText, now: now) else {
                    throw ValidationError("--until \(untilText): expected an ISO-8601 time or a duration ago")
                }
                end = u
            }
        }
        guard start < end else { throw ValidationError("the stretch is empty: --from must be before --until") }
        let database = try openBuffer(configuration, access: .readOnly)
        let mapping = try database.lookUpSensors(configuration)
        guard let index = mapping.machineIndex(named: machine.id) else {
            throw ValidationError("the buffer has no readings of \(machine.id) yet: run the agent first")
        }
        let labelled = try database.alerts(AlertFilter(machine: machine.id)).filter { $0.label != nil }
        func span(_ alert: AlertRecord) -> (Timestamp, Timestamp) {
            (alert.started, alert.ended ?? Timestamp(millisecondsSinceEpoch: alert.started.millisecondsSinceEpoch + 10 * 60_000))
        }
        let faultSpans = labelled.filter { $0.label == true }.map(span)
        let normalSpans = labelled.filter { $0.label == false }.map(span)
        func isIn(_ spans: [(Timestamp, Timestamp)], _ t: Timestamp) -> Bool {
            spans.contains { t >= $0.0 && t <= $0.1 }
        }
        let names = machine.sensors.map(\.name)
        var normal = (times: [String](), values: [Float]())
        var faults = (times: [String](), values: [Float]())
        // A reading the poller flagged out of range is marked so (`Float.outOfRangeMark`), never
        // its value: `calibrate` counts it as out of range, not as missing, and never learns it.
        func append(_ t: Timestamp, _ row: UnsafeBufferPointer<Double>, _ qualities: UnsafeBufferPointer<Quality?>,
                    to table: inout (times: [String], values: [Float])) {
            table.times.append(t.iso8601)
            for (v, quality) in zip(row, qualities) {
                switch quality {
                case .good?: table.values.append(Float(v))
                case .outOfRange?: table.values.append(.outOfRangeMark)
                default: table.values.append(.nan)
                }
            }
        }
        func read(_ from: Timestamp, _ until: Timestamp, _ body: (Timestamp, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Quality?>) -> Void) throws {
            try database.forEachRowWithQualities(machines: [index], mapping: mapping, from: from, until: until) { _, t, row, qualities in
                body(t, row, qualities)
            }
        }
        try read(start, end) { t, row, qualities in
            if isIn(faultSpans, t) { append(t, row, qualities, to: &faults) } else { append(t, row, qualities, to: &normal) }
        }
        // Alerts judged false alarms are normal operation, even outside the stretch.
        for (s, e) in normalSpans where !(s >= start && e <= end) {
            try read(s, e) { t, row, qualities in append(t, row, qualities, to: &normal) }
        }
        for (s, e) in faultSpans where !(s >= start && e <= end) {
            try read(s, e) { t, row, qualities in append(t, row, qualities, to: &faults) }
        }
        guard normal.times.count >= 2 else {
            throw ValidationError("only \(normal.times.count) rows of \(machine.id) between \(start.iso8601) and \(end.iso8601): let the agent run longer, or widen the stretch")
        }
        let normalTable = SensorTable(sensorNames: names, timestamps: normal.times, values: normal.values)
        let faultTable = faults.times.isEmpty ? nil : SensorTable(sensorNames: names, timestamps: faults.times, values: faults.values)
        return (normalTable, faultTable)
    }
}
