/// A sensor judged by what it adds to another sensor: its reading minus the reference's, plus
/// the reference's calibration median (so the result stays in the sensor's range, and the
/// relative tolerance floors refer to a level like its own).
///
/// A compressor's discharge temperature is its oil temperature plus the compression's rise,
/// and only the rise follows loading and unloading: the oil runs hotter at a higher duty and
/// warms with the room, and the discharge temperature follows it there. Judged as it is, the
/// discharge temperature carries the oil's slow level into its state compensation (its
/// approach fit and phase means) and, with the oil, into the window score's operating
/// directions, where a common warming (overheating's) is projected away. Judged over the oil,
/// it is the compression's own rise; the oil's level is judged by the oil itself.
public struct SensorOverReference: Sendable, Hashable, Codable {
    /// The pairs calibration and the load prior's learning use by default: a compressor's
    /// discharge temperature over its oil temperature.
    public static let shippedPairs: [String: String] = ["discharge_temperature": "oil_temperature"]

    /// Column of the sensor judged over its reference.
    public var sensor: Int
    /// Column of the reference.
    public var reference: Int
    /// The reference's calibration median, added back.
    public var referenceLevel: Float

    /// Replaces the sensor's reading in `row` (one value per sensor) by its reading over the
    /// reference; allocation-free.
    @inline(__always)
    public func apply(to row: inout [Float]) {
        guard sensor < row.count, reference < row.count else { return }
        row[sensor] = row[sensor] - row[reference] + referenceLevel
    }

    /// `values` (row-major, `sensorCount` per row) with the sensor's readings over the reference.
    public func apply(to values: ArraySlice<Float>, sensorCount n: Int) -> [Float] {
        var out = Array(values)
        guard n > 0 else { return out }
        for r in 0..<(out.count / n) {
            out[r * n + sensor] = out[r * n + sensor] - out[r * n + reference] + referenceLevel
        }
        return out
    }

    /// The first pair of `pairs` (sensor → reference, by the names the load prior matches) both
    /// of whose sensors are present, with the reference's median over `values`; nil when none
    /// is, or the reference has no readings.
    static func find(in values: ArraySlice<Float>, roleNames: [String], pairs: [String: String]) -> SensorOverReference? {
        let n = roleNames.count
        guard n > 0 else { return nil }
        for (name, referenceName) in pairs.sorted(by: { $0.key < $1.key }) {
            guard let s = roleNames.firstIndex(of: name), let r = roleNames.firstIndex(of: referenceName), s != r else { continue }
            let level = RobustStatistics.median((0..<(values.count / n)).lazy.map { values[values.startIndex + $0 * n + r] })
            guard level.isFinite else { continue }
            return SensorOverReference(sensor: s, reference: r, referenceLevel: level)
        }
        return nil
    }
}
