#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// One fault of a labelled file and how soon the detector alerted on it.
public struct FaultDetection: Sendable, Hashable, Codable {
    /// What went wrong: the fault's kind from the data set's `faults.csv` (the simulator's
    /// export), or `anomaly` for a run of labelled rows when there is no such list.
    public var kind: String
    /// How its severity evolved (`ramp`, `step`, `spike`; empty when unknown).
    public var profile: String
    /// The sensor a sensor fault affects (empty otherwise).
    public var sensor: String
    /// The timestamp of the fault's first scored row.
    public var start: String
    /// Index of that row in the scored table (after stopped and settling rows are left out).
    public var firstRow: Int
    /// Scored rows of the fault.
    public var rows: Int
    /// Rows from the fault's first row to the first row with an alert raised, both within the
    /// fault (0: alerting on its first row); nil when no alert was raised while it lasted.
    public var latencyRows: Int?
    /// The same in seconds, from the two rows' timestamps (nil when missed or not ISO-8601).
    public var latencySeconds: Double?
    /// Whether an alert was already raised on the row before the fault began (a false alarm
    /// still open): its latency then says nothing about how fast the fault was seen.
    public var alertingAtStart: Bool

    /// Whether any alert was raised while the fault lasted.
    public var detected: Bool { latencyRows != nil }
}

/// A fault listed in a data set's `faults.csv` (`machine,fault,start,end,severity,profile,sensor,…`,
/// as `edge-agent simulate --export` writes it).
public struct ListedFault: Sendable, Hashable {
    /// The machine (file name without `.csv`).
    public var machine: String
    /// The fault's kind.
    public var kind: String
    /// When it began and ended (UTC milliseconds).
    public var startMilliseconds: Int64
    /// When it ended (UTC milliseconds).
    public var endMilliseconds: Int64
    /// How its severity evolved.
    public var profile: String
    /// The sensor of a sensor fault (empty otherwise).
    public var sensor: String
}

/// Per kind of fault: how many were detected and how soon.
public struct FaultKindSummary: Sendable, Hashable {
    /// The fault kind.
    public var kind: String
    /// The profiles its faults followed, joined by `/`.
    public var profiles: String
    /// Faults with at least one scored row.
    public var faults: Int
    /// Faults with an alert raised while they lasted.
    public var detected: Int
    /// Detected faults whose alert was already raised when they began (left out of the latencies).
    public var alertingAtStart: Int
    /// Latencies in rows of the other detected faults, ascending.
    public var latencies: [Int]

    /// Median of `latencies` (nil when empty).
    public var medianLatency: Int? {
        latencies.isEmpty ? nil : latencies[(latencies.count - 1) / 2]
    }
}

/// Detection latency per fault: rows from a fault's start to the first alert, or "missed".
public enum FaultLatency {
    /// Reads a `faults.csv` fault list; nil when the file does not exist.
    /// - Throws: `ReplayError` when it exists but is not such a list.
    public static func readList(path: String) throws -> [ListedFault]? {
        guard access(path, F_OK) == 0 else { return nil }
        let text = String(decoding: try TextFile.readBytes(path: path), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let header = lines.next()?.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
              let machine = header.firstIndex(of: "machine"), let fault = header.firstIndex(of: "fault"),
              let start = header.firstIndex(of: "start"), let end = header.firstIndex(of: "end") else {
            throw ReplayError(message: "\(path) is not a fault list (expected a header machine,fault,start,end,…)")
        }
        let profile = header.firstIndex(of: "profile"), sensor = header.firstIndex(of: "sensor")
        var list: [ListedFault] = []
        var lineNumber = 1
        while let line = lines.next() {
            lineNumber += 1
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count, let s = Timestamp(iso8601: cells[start]), let e = Timestamp(iso8601: cells[end]) else {
                throw ReplayError(message: "\(path) line \(lineNumber): expected \(header.count) cells with ISO-8601 start and end")
            }
            list.append(ListedFault(machine: String(cells[machine]), kind: String(cells[fault]),
                                    startMilliseconds: s.millisecondsSinceEpoch, endMilliseconds: e.millisecondsSinceEpoch,
                                    profile: profile.map { String(cells[$0]) } ?? "", sensor: sensor.map { String(cells[$0]) } ?? ""))
        }
        return list
    }

    /// The faults of one replayed table and their latencies.
    ///
    /// With `faults` (the table's machine's entries of a fault list), each fault covers the rows
    /// whose timestamps lie in its [start, end]; without it, each run of rows labelled anomalous
    /// is one fault. Only faults that begin at or after `firstScoredRow` count: one already under
    /// way during calibration tests something else.
    /// - Parameters:
    ///   - alerts: one alert decision per row of `table` (whether an alert is raised).
    public static func detections(table: SensorTable, alerts: [Bool], firstScoredRow: Int,
                                  faults: [ListedFault]?) -> [FaultDetection] {
        let times = table.timestamps.map { Timestamp(iso8601: Substring($0))?.millisecondsSinceEpoch }
        var spans: [(kind: String, profile: String, sensor: String, rows: Range<Int>)] = []
        if let faults {
            for fault in faults {
                var first: Int? = nil, last = -1
                for r in times.indices {
                    guard let t = times[r], t >= fault.startMilliseconds, t <= fault.endMilliseconds else { continue }
                    if first == nil { first = r }
                    last = r
                }
                guard let first, first >= firstScoredRow else { continue }
                spans.append((fault.kind, fault.profile, fault.sensor, first..<(last + 1)))
            }
            spans.sort { $0.rows.lowerBound < $1.rows.lowerBound }
        } else if let labels = table.anomalyLabels {
            var r = max(firstScoredRow, 0)
            // A run already under way when scoring starts began during calibration.
            while r < labels.count, r > 0, labels[r] != 0, labels[r - 1] != 0 { r += 1 }
            while r < labels.count {
                guard labels[r] != 0 else { r += 1; continue }
                var end = r
                while end < labels.count && labels[end] != 0 { end += 1 }
                spans.append(("anomaly", "", "", r..<end))
                r = end
            }
        }
        return spans.map { span in
            let hit = span.rows.first { $0 < alerts.count && alerts[$0] }
            var seconds: Double? = nil
            if let hit, let a = times[span.rows.lowerBound], let b = times[hit] { seconds = Double(b - a) / 1000 }
            let before = span.rows.lowerBound - 1
            return FaultDetection(kind: span.kind, profile: span.profile, sensor: span.sensor,
                                  start: table.timestamps[span.rows.lowerBound], firstRow: span.rows.lowerBound,
                                  rows: span.rows.count, latencyRows: hit.map { $0 - span.rows.lowerBound },
                                  latencySeconds: seconds,
                                  alertingAtStart: before >= firstScoredRow && before < alerts.count && alerts[before])
        }
    }

    /// Per kind, in order of first appearance.
    public static func summary(_ detections: [FaultDetection]) -> [FaultKindSummary] {
        var order: [String] = []
        var byKind: [String: FaultKindSummary] = [:]
        for d in detections {
            if byKind[d.kind] == nil {
                order.append(d.kind)
                byKind[d.kind] = FaultKindSummary(kind: d.kind, profiles: "", faults: 0, detected: 0, alertingAtStart: 0, latencies: [])
            }
            guard var s = byKind[d.kind] else { continue }
            s.faults += 1
            if !d.profile.isEmpty, !s.profiles.split(separator: "/").contains(Substring(d.profile)) {
                s.profiles += s.profiles.isEmpty ? d.profile : "/" + d.profile
            }
            if let latency = d.latencyRows {
                s.detected += 1
                if d.alertingAtStart { s.alertingAtStart += 1 } else { s.latencies.append(latency) }
            }
            byKind[d.kind] = s
        }
        return order.compactMap { kind in
            byKind[kind].map { var s = $0; s.latencies.sort(); return s }
        }
    }
}
