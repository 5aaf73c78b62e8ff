#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A judge of how fast a lagged temperature rises, beside the window score (which judges
/// levels): a winding that climbs several degrees in minutes at an unchanged speed is
/// overheating even while its level is still inside the load prior's tolerance.
///
/// Each checked sensor's readings are averaged over blocks of `blockRows`; at each block's end
/// the rise of the log of the block mean over `horizonBlocks` blocks, and how much faster that
/// is than the rise over the `horizonBlocks` before, are each compared with what the speed
/// explains (no change, or the load prior's elasticity ± band times the same difference of the
/// speed now and of each of its moving averages). The smaller excess, in units of `limit`, is
/// the sensor's rise score: both must exceed, since a warm-up after a start rises fast but ever
/// more slowly, and a cooling that slows down is faster than before but no rise. Only
/// temperatures the load prior calls lagged and compensates, on a machine whose driver is a
/// speed (not a duty cycle).
public struct TemperatureRiseCheck: Sendable, Hashable, Codable {
    /// Columns of the checked sensors.
    public var sensors: [Int]
    /// Per checked sensor: the rise of its log level over the horizon, beyond what the speed
    /// explains, that scores 1 (an alert).
    public var limit: [Float]
    /// Per checked sensor: the largest such rise calibration showed (0: none, or too short).
    public var calibrationRise: [Float]
    /// Rows per averaged block.
    public var blockRows: Int
    /// Blocks between the two block means compared.
    public var horizonBlocks: Int

    /// Seconds per block, seconds of the horizon.
    public static let blockSeconds: Float = 60, horizonSeconds: Float = 300
    /// The limit is the largest rise calibration showed times this, ...
    public static let calibrationMargin: Float = 3
    /// ... and at least this fraction of the sensor's tolerance (the log change the prior lets
    /// ambient swings move it by over a day), and at least `smallestLimit`.
    public static let toleranceFraction: Float = 0.25, smallestLimit: Float = 0.02

    /// Fits the check to a machine whose readings `load` compensates, or nil when it has no
    /// lagged temperature (`roleNames`: the names the prior matched) or a duty-cycle driver.
    /// `values` (row-major, NaN = missing) are the calibration rows as read, `staged` the same
    /// after any state compensation (what the load compensation was fitted on); each run
    /// (`runStarts`) is scored afresh for the largest rise it shows.
    public static func fit(load: LoadCompensation, roleNames: [String], values: ArraySlice<Float>, staged: ArraySlice<Float>,
                           sensorCount n: Int, secondsPerRow: Float, runStarts: [Int] = []) -> TemperatureRiseCheck? {
        guard !load.duty, n > 0 else { return nil }
        let sensors = roleNames.indices.filter {
            $0 < load.reference.count && load.reference[$0].isFinite && load.lagged[$0] && $0 != load.driver
                && roleNames[$0].hasSuffix("temperature")
        }
        guard !sensors.isEmpty else { return nil }
        let step = max(secondsPerRow, 1e-3)
        let blockRows = max(1, Int((blockSeconds / step).rounded()))
        let horizonBlocks = max(1, Int((horizonSeconds / blockSeconds).rounded()))
        var check = TemperatureRiseCheck(sensors: sensors, limit: [Float](repeating: .infinity, count: sensors.count),
                                         calibrationRise: [Float](repeating: 0, count: sensors.count),
                                         blockRows: blockRows, horizonBlocks: horizonBlocks)
        // The calibration's own largest rises: score it with a limit of 1 (the raw excess).
        check.limit = [Float](repeating: 1, count: sensors.count)
        var scorer = TemperatureRiseScorer(check, lagCount: load.lagRows.count)
        var compensator = LoadCompensator(load)
        var row = [Float](repeating: .nan, count: n)
        let rows = min(values.count, staged.count) / n
        let starts = Set(runStarts)
        for r in 0..<rows {
            if r > 0, starts.contains(r) {
                scorer = TemperatureRiseScorer(check, lagCount: load.lagRows.count)
                compensator = LoadCompensator(load)
            }
            for c in 0..<n { row[c] = values[values.startIndex + r * n + c] }
            scorer.takeReadings(row)
            for c in 0..<n { row[c] = staged[staged.startIndex + r * n + c] }
            row.withUnsafeMutableBufferPointer { compensator.apply($0) }
            scorer.push(compensator)
            for k in sensors.indices { check.calibrationRise[k] = max(check.calibrationRise[k], scorer.sensorScores[k]) }
        }
        for (k, s) in sensors.enumerated() {
            check.limit[k] = max(calibrationMargin * check.calibrationRise[k], toleranceFraction * load.tolerance[s], smallestLimit)
        }
        return check
    }
}

extension TemperatureRiseCheck {
    /// What makes a decoded check unusable with a detector of `sensorCount` sensors and its load
    /// compensation, or nil: checked before its rings are sized.
    func problem(sensorCount n: Int, load: LoadCompensation?) -> String? {
        guard let load else { return "a temperature rise check without a load compensation" }
        let m = sensors.count
        guard m >= 1, limit.count == m, calibrationRise.count == m,
              sensors.allSatisfy({ $0 >= 0 && $0 < n && $0 < load.elasticity.count && $0 < load.band.count }) else {
            return "temperature rise check: sensors or limits inconsistent with \(n) sensors"
        }
        guard (1...MachineDetector.maximumWindowRows).contains(blockRows), (1...1_000).contains(horizonBlocks) else {
            return "temperature rise check: blocks of \(blockRows) rows, horizon of \(horizonBlocks) blocks (expected 1…\(MachineDetector.maximumWindowRows), 1…1000)"
        }
        guard limit.allSatisfy({ $0.isFinite && $0 > 0 }) else { return "temperature rise check: a limit is not a finite, positive number" }
        return nil
    }
}

/// How one checked temperature rose over a `TemperatureRiseCheck`'s horizon, in the sensor's
/// units: what an alert driven by the check quotes.
public struct TemperatureRise: Sendable, Equatable {
    /// The block mean now less the block mean a horizon before.
    public var change: Float
    /// The largest change the check takes as normal over that horizon at the speeds the machine
    /// ran (what the speed's changes explain, plus the check's limit). An alert also needs the
    /// rise to be faster than over the horizon before, so a warm-up that slows down passes.
    public var normalChange: Float
    /// Rows between the two block means (the horizon).
    public var horizonRows: Int
}

/// Applies a `TemperatureRiseCheck` to rows as they arrive; allocation-free per row (its rings
/// are allocated once).
public struct TemperatureRiseScorer: Sendable {
    /// The check applied.
    public let check: TemperatureRiseCheck
    private let lagCount: Int
    /// Per checked sensor: the last row's raw reading, then the running sums of this block.
    private var readings: [Float]
    private var sums: [Double]
    private var counts: [Int]
    private var speedSum: Double = 0
    private var speedCount = 0
    private var rowsInBlock = 0
    /// Ring of `2 · horizonBlocks + 1` entries: per entry the sensors' block means, then the speed's
    /// block mean (log change) and its moving averages at the block's end; NaN: not usable.
    private var ring: [Float]
    private let size: Int
    private var blocks = 0
    private let width: Int
    /// Per checked sensor: its rise score at the last block's end (0: none or not judged).
    public private(set) var sensorScores: [Float]
    /// The largest of `sensorScores`.
    public private(set) var score: Float = 0
    /// Per checked sensor at the last block's end (NaN: not judged): the log of the block mean
    /// a horizon before, the log rise since, and the largest log rise the check takes as normal
    /// there (what the speed explains plus the limit).
    private var logLevelBefore: [Float]
    private var logRise: [Float]
    private var logRiseAllowed: [Float]

    /// Creates a scorer with empty rings: the first rise is judged after `2 · horizonBlocks + 1`
    /// blocks. `lagCount`: the load compensation's number of moving averages.
    public init(_ check: TemperatureRiseCheck, lagCount: Int) {
        self.check = check
        self.lagCount = lagCount
        let m = check.sensors.count
        readings = [Float](repeating: .nan, count: m)
        sums = [Double](repeating: 0, count: m)
        counts = [Int](repeating: 0, count: m)
        width = m + 1 + lagCount
        size = 2 * check.horizonBlocks + 1
        ring = [Float](repeating: .nan, count: width * size)
        sensorScores = [Float](repeating: 0, count: m)
        logLevelBefore = [Float](repeating: .nan, count: m)
        logRise = [Float](repeating: .nan, count: m)
        logRiseAllowed = [Float](repeating: .nan, count: m)
    }

    /// How the `k`th checked sensor rose at the last block's end, in its own units, for an
    /// alert to quote; nil where it was not judged (the first blocks, a speed not read).
    public func rise(ofSensor k: Int) -> TemperatureRise? {
        guard logRise.indices.contains(k), logRise[k].isFinite, logRiseAllowed[k].isFinite, logLevelBefore[k].isFinite else { return nil }
        let before = exp(logLevelBefore[k])
        return TemperatureRise(change: exp(logLevelBefore[k] + logRise[k]) - before,
                               normalChange: exp(logLevelBefore[k] + logRiseAllowed[k]) - before,
                               horizonRows: check.horizonBlocks * check.blockRows)
    }

    /// Takes the checked sensors' raw readings from `row` (before any compensation rewrites it).
    public mutating func takeReadings<C: Collection>(_ row: C) where C.Element == Float, C.Index == Int {
        for (k, s) in check.sensors.enumerated() {
            readings[k] = s < row.count ? row[row.startIndex + s] : .nan
        }
    }

    /// Adds the row whose readings `takeReadings` took, at the operating point `compensator`
    /// has just put the machine (after its `apply`), and judges the rise at a block's end.
    public mutating func push(_ compensator: LoadCompensator) {
        let point = compensator.operatingPoint
        for k in readings.indices where readings[k].isFinite && readings[k] > 0 {
            sums[k] += Double(readings[k]); counts[k] += 1
        }
        if let point { speedSum += Double(point.now); speedCount += 1 }
        rowsInBlock += 1
        guard rowsInBlock >= check.blockRows else { return }
        let base = (blocks % size) * width
        let full = check.blockRows
        // A block counts only where the speed was known in every row (a stop, a speed below the
        // prior's minimum or a missing speed leave the lags unsure) and a sensor in most rows.
        let usable = speedCount == full
        for k in readings.indices {
            ring[base + k] = usable && 2 * counts[k] >= full ? Float(log(sums[k] / Double(counts[k]))) : .nan
            sums[k] = 0; counts[k] = 0
        }
        ring[base + readings.count] = usable ? Float(speedSum / Double(speedCount)) : .nan
        for j in 0..<lagCount { ring[base + readings.count + 1 + j] = usable ? compensator.lagAverage(j) : .nan }
        speedSum = 0; speedCount = 0; rowsInBlock = 0
        blocks += 1
        score = 0
        for k in sensorScores.indices {
            sensorScores[k] = 0
            logLevelBefore[k] = .nan; logRise[k] = .nan; logRiseAllowed[k] = .nan
        }
        let h = check.horizonBlocks
        guard blocks > 2 * h else { return }
        let load = compensator.compensation
        let mid = ((blocks - 1 - h) % size) * width, old = ((blocks - 1 - 2 * h) % size) * width
        let previous = ((blocks - 2) % size) * width
        for (k, s) in check.sensors.enumerated() {
            // The rise over the last horizon, and how much faster it is than over the one before.
            let rise = ring[base + k] - ring[mid + k]
            let faster = rise - (ring[mid + k] - ring[old + k])
            guard rise.isFinite, faster.isFinite else { continue }
            let e = load.elasticity[s], b = load.band[s]
            // What the speed explains of each: no change, or the law's with any elasticity in the
            // band applied to the same difference of the speed now or of any of its moving averages.
            var explainedRise: Float = 0, explainedFaster: Float = 0
            for j in 0...lagCount {
                let c = readings.count + j
                let change = ring[base + c] - ring[mid + c]
                let sooner = change - (ring[mid + c] - ring[old + c])
                guard change.isFinite, sooner.isFinite else { explainedRise = .infinity; break }
                explainedRise = max(explainedRise, (e - b) * change, (e + b) * change)
                explainedFaster = max(explainedFaster, (e - b) * sooner, (e + b) * sooner)
            }
            // Both must exceed: a warm-up after a start rises fast but ever slower, a cooling
            // that slows down is faster than before but no rise.
            let excess = min(rise - explainedRise, faster - explainedFaster)
            logLevelBefore[k] = ring[mid + k]
            logRise[k] = rise
            logRiseAllowed[k] = explainedRise + check.limit[k]
            // And it must still be rising: a winding cooling after a short step up to a higher
            // speed still reads above where it was before the step, a horizon ago, for as long
            // as it takes to shed the step's heat; that is no rise.
            if excess > 0, ring[base + k] > ring[previous + k] {
                sensorScores[k] = excess / check.limit[k]
                score = max(score, sensorScores[k])
            }
        }
    }
}
