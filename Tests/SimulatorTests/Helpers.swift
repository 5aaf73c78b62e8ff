import Simulator

/// A machine at a fixed operating point (no automatic changes), settled there (thermal steady
/// state, as if it had run there for hours), for controlled experiments.
func steadyMachine(_ kind: MachineKind, seed: UInt64 = 42, load: Double? = nil, channels: ChannelSelection = .all) -> SimulatedMachine {
    var options = MachineOptions()
    options.automaticOperation = false
    options.channels = channels
    var machine = SimulatedMachine(kind: kind, id: "\(kind.rawValue)-1", seed: seed, options: options)
    let point = load ?? machine.loadRange.upperBound
    machine.setOperatingPoint(running: true, load: point)
    machine.settle()
    return machine
}

/// Mean of a channel over rows `range`, skipping NaN.
func mean(_ series: LabelledSeries, _ name: String, _ range: Range<Int>) -> Double {
    guard let c = series.channels.firstIndex(where: { $0.name == name }) else {
        Issue.record("no channel \(name) in \(series.machineID)")
        return .nan
    }
    var sum = 0.0
    var n = 0
    for r in range {
        let v = Double(series.value(row: r, channel: c))
        if !v.isNaN { sum += v; n += 1 }
    }
    return n == 0 ? .nan : sum / Double(n)
}

/// Standard deviation of a channel over rows `range`, skipping NaN.
func standardDeviation(_ series: LabelledSeries, _ name: String, _ range: Range<Int>) -> Double {
    let m = mean(series, name, range)
    guard let c = series.channels.firstIndex(where: { $0.name == name }) else { return .nan }
    var sum = 0.0
    var n = 0
    for r in range {
        let v = Double(series.value(row: r, channel: c))
        if !v.isNaN { sum += (v - m) * (v - m); n += 1 }
    }
    return (sum / Double(max(n - 1, 1))).squareRoot()
}

/// Whether two series have bit-identical values (NaN equal to NaN) and labels.
func bitIdentical(_ a: LabelledSeries, _ b: LabelledSeries, rows: Range<Int>? = nil) -> Bool {
    guard a.channels == b.channels, a.rowCount == b.rowCount else { return false }
    let range = rows ?? 0..<a.rowCount
    let width = a.channels.count
    for r in range {
        if a.anomaly[r] != b.anomaly[r] { return false }
        for c in 0..<width where a.values[r * width + c].bitPattern != b.values[r * width + c].bitPattern {
            return false
        }
    }
    return true
}

import Testing
