/// What a short calibration cannot estimate from its own K rows, learned across machines with a
/// given initialization and shipped beside it: per K, how much wider than the K rows' median/MAD
/// a machine's normal operation turns out to be (`scaleFactor`, one for all sensors), and how far
/// above the highest calibration score the network threshold must sit so that the normal
/// operation that follows stays below it (`thresholdMargin`).
///
/// Why: 50 rows (under a minute) see a sensor's noise but not its slow wander, and the adapted
/// network scores its own calibration windows lower than anything later (it was just fitted to
/// them), so "highest calibration score × a fixed margin" alarms on most later normal rows. How
/// much later normal operation exceeds a K-row calibration depends on K, on the kind of machines
/// and on the initialization and adaptation; it is measured on the meta-training machines, after
/// calibrating each exactly as `calibrate` does, and carried to a new machine whose later rows
/// are unknown. Slot-agnostic on purpose: simulated sensor positions mean nothing on a real
/// machine, so one factor serves every sensor.
public struct CalibrationPrior: Sendable, Hashable, Codable {
    /// One learned point: the settings for calibrations of `calibrationRows` rows.
    public struct Entry: Sendable, Hashable, Codable {
        /// Calibration rows (K) this entry was learned for.
        public var calibrationRows: Int
        /// Factor applied to every sensor's calibration scale (≥ 1).
        public var scaleFactor: Float
        /// Network threshold = highest calibration network score × this (≥ 1).
        public var thresholdMargin: Float

        /// Creates an entry; factors below 1 or not finite become 1.
        public init(calibrationRows: Int, scaleFactor: Float, thresholdMargin: Float) {
            self.calibrationRows = max(2, calibrationRows)
            self.scaleFactor = scaleFactor.isFinite ? max(1, scaleFactor) : 1
            self.thresholdMargin = thresholdMargin.isFinite ? max(1, thresholdMargin) : 1
        }
    }

    /// Entries by increasing K.
    public private(set) var entries: [Entry]

    /// Creates a prior from its entries (sorted by K; duplicates keep the first).
    public init(entries: [Entry]) {
        var seen = Set<Int>()
        self.entries = entries.sorted { $0.calibrationRows < $1.calibrationRows }.filter { seen.insert($0.calibrationRows).inserted }
    }

    /// The entry for a calibration of `rows` rows: interpolated linearly in log K between the two
    /// nearest learned K (log factor, log margin), and the end entry outside the learned range.
    /// Nil without entries.
    public func entry(forRows rows: Int) -> Entry? {
        guard let first = entries.first, let last = entries.last else { return nil }
        if rows <= first.calibrationRows { return Entry(calibrationRows: rows, scaleFactor: first.scaleFactor, thresholdMargin: first.thresholdMargin) }
        if rows >= last.calibrationRows { return Entry(calibrationRows: rows, scaleFactor: last.scaleFactor, thresholdMargin: last.thresholdMargin) }
        let upper = entries.firstIndex { $0.calibrationRows >= rows } ?? entries.count - 1
        let a = entries[upper - 1], b = entries[upper]
        let t = (Self.log(Float(rows)) - Self.log(Float(a.calibrationRows))) / (Self.log(Float(b.calibrationRows)) - Self.log(Float(a.calibrationRows)))
        func blend(_ x: Float, _ y: Float) -> Float { Self.exp(Self.log(x) + t * (Self.log(y) - Self.log(x))) }
        return Entry(calibrationRows: rows, scaleFactor: blend(a.scaleFactor, b.scaleFactor),
                     thresholdMargin: blend(a.thresholdMargin, b.thresholdMargin))
    }

    /// `normalization` with every scale widened by the entry for `rows`.
    public func widen(_ normalization: Normalization, rows: Int) -> Normalization {
        guard let factor = entry(forRows: rows)?.scaleFactor, factor != 1 else { return normalization }
        return Normalization(centers: normalization.centers, scales: normalization.scales.map { $0 * factor })
    }

    // Natural log and exp through the standard library's Double versions (no Foundation).
    static func log(_ x: Float) -> Float { Float(_log(Double(x))) }
    static func exp(_ x: Float) -> Float { Float(_exp(Double(x))) }
}

/// How a `CalibrationPrior` is learned.
public struct CalibrationPriorSettings: Sendable, Hashable {
    /// The K a prior entry is learned for.
    public var calibrationRowCounts: [Int]
    /// The false-alarm rate (fraction of normal rows alerted, after the alert rule) the margin
    /// aims at on the meta-training machines: the smallest margin on `marginGrid` reaching it.
    public var targetFalseAlarmRate: Double
    /// The margins tried.
    public var marginGrid: [Float]
    /// Calibration stretches per task and K (the task's first rows, then evenly spaced).
    public var episodesPerTask: Int
    /// The alert rule whose output the false-alarm rate counts.
    public var rule: AlertDecisionRule
    /// Leading rows of every task never calibrated on (a machine settling after its start).
    public var settlingRows: Int = 0
    /// Rows after each calibration stretch that the false-alarm rate counts (nil: the rest of
    /// the task): how soon after calibrating the margin must hold.
    public var horizonRows: Int? = nil

    /// Creates settings; the defaults are the shipped recipe (docs/detection.md).
    public init(calibrationRowCounts: [Int] = [50, 100, 200, 400], targetFalseAlarmRate: Double = 0.05,
                marginGrid: [Float] = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64],
                episodesPerTask: Int = 3, rule: AlertDecisionRule = .standard) {
        self.calibrationRowCounts = calibrationRowCounts
        self.targetFalseAlarmRate = targetFalseAlarmRate
        self.marginGrid = marginGrid.sorted()
        self.episodesPerTask = max(1, episodesPerTask)
        self.rule = rule
    }
}

extension CalibrationPrior {
    /// Learns a prior for calibrations that start from `initialization` and adapt with
    /// `calibration`'s settings, on `tasks` (machines other than those it will calibrate).
    ///
    /// For each K: the scale factor is the median, over every sensor of every calibration
    /// stretch, of how widely the task's later normal rows spread around the stretch's median in
    /// units of the stretch's own scale (`NormalizationPrior`'s ratio, pooled over slots). Then
    /// each stretch is calibrated as `calibrate` would (network half, widened scales, margin 1),
    /// every later row of the task is scored, and the margin is the smallest on the grid whose
    /// alerts (with `settings.rule`) cover at most `targetFalseAlarmRate` of the later normal rows,
    /// pooled over all stretches. Labelled fault rows are never calibrated on nor counted.
    public static func learn(initialization: Network, calibration: NetworkCalibration, tasks: [MetaTask],
                             settings: CalibrationPriorSettings = CalibrationPriorSettings()) -> CalibrationPrior {
        var entries: [Entry] = []
        for k in settings.calibrationRowCounts where k >= calibration.adaptation.windowRows {
            let stretches = tasks.map { task in starts(in: task, rows: k, count: settings.episodesPerTask, after: settings.settlingRows) }
            let factor = scaleFactor(stretches: zip(tasks, stretches).flatMap { task, starts in starts.map { (task, $0) } },
                                     rows: k, inputScaling: calibration.inputScaling)
            // Margin: relative scores of every later row, per stretch.
            var network = calibration
            network.initialization = initialization
            network.thresholdMargin = 1
            network.calibrationPrior = CalibrationPrior(entries: [Entry(calibrationRows: k, scaleFactor: factor, thresholdMargin: 1)])
            var streams: [(relative: [Float], normal: [Bool])] = []
            for (task, starts) in zip(tasks, stretches) {
                let n = task.sensorCount
                for start in starts {
                    let support = task.values[(start * n)..<((start + k) * n)]
                    guard let (part, _, _) = Calibrator.calibrateNetwork(network, values: support, sensorCount: n, labelledAnomalies: nil)
                    else { continue }
                    var stream = NetworkStream(detector: part)
                    var relative: [Float] = [], normal: [Bool] = []
                    for r in (start + k)..<min(task.rowCount, start + k + (settings.horizonRows ?? task.rowCount)) {
                        let s = stream.score(row: task.values[(r * n)..<((r + 1) * n)])
                        relative.append(s / part.threshold)
                        normal.append(!task.anomalous[r])
                    }
                    streams.append((relative, normal))
                }
            }
            let margin = Self.smallestMargin(streams: streams, settings: settings)
            entries.append(Entry(calibrationRows: k, scaleFactor: factor, thresholdMargin: margin))
        }
        return CalibrationPrior(entries: entries)
    }

    /// Starts of up to `count` stretches of `rows` normal rows in `task` that leave at least
    /// `rows` later rows: the first one after `after` rows, then evenly spaced.
    static func starts(in task: MetaTask, rows k: Int, count: Int, after first: Int = 0) -> [Int] {
        let last = task.rowCount - 2 * k
        guard last >= first else { return [] }
        let candidates = count == 1 ? [first] : (0..<count).map { first + $0 * (last - first) / (count - 1) }
        var seen = Set<Int>()
        return candidates.filter { seen.insert($0).inserted && !task.anomalous[$0..<($0 + k)].contains(true) }
    }

    /// The smallest margin on `settings.marginGrid` whose alerts (the decision rule run over each
    /// stream of relative scores) cover at most `settings.targetFalseAlarmRate` of the normal
    /// rows; the grid's largest when none does.
    static func smallestMargin(streams: [(relative: [Float], normal: [Bool])], settings: CalibrationPriorSettings) -> Float {
        for m in settings.marginGrid {
            var alerted = 0, total = 0
            for s in streams {
                var state = AlertDecisionRule.State()
                for i in s.relative.indices {
                    let alert = state.update(score: s.relative[i], threshold: m, rule: settings.rule)
                    if s.normal[i] { total += 1; if alert { alerted += 1 } }
                }
            }
            if total > 0, Double(alerted) <= settings.targetFalseAlarmRate * Double(total) { return m }
        }
        return settings.marginGrid.last ?? 1
    }

    /// The scale factor of K-row calibrations: the median of `spreadRatios` pooled over every
    /// sensor of every stretch, at least 1; 1 in tolerated units, which already carry the
    /// calibration's tolerated spread.
    static func scaleFactor(stretches: [(task: MetaTask, start: Int)], rows k: Int, inputScaling: NetworkInputScaling) -> Float {
        guard inputScaling != .tolerated else { return 1 }
        var ratios: [Float] = []
        for (task, start) in stretches { ratios += spreadRatios(task: task, start: start, rows: k) }
        return ratios.isEmpty ? 1 : max(1, RobustStatistics.median(ratios))
    }

    /// Per sensor, 1.4826 × median |later normal reading − stretch median| / stretch scale.
    static func spreadRatios(task: MetaTask, start: Int, rows k: Int) -> [Float] {
        let n = task.sensorCount
        let columns = (0..<n).map { s in (start..<(start + k)).map { task.values[$0 * n + s] } }
        let fitted = Normalization(fittingColumns: columns)
        var ratios: [Float] = []
        for s in 0..<n {
            var deviations: [Float] = []
            for r in (start + k)..<task.rowCount where !task.anomalous[r] {
                let v = task.values[r * n + s]
                if v.isFinite { deviations.append(abs(v - fitted.centers[s])) }
            }
            guard deviations.count >= 20 else { continue }
            let ratio = 1.4826 * RobustStatistics.median(deviations) / fitted.scales[s]
            if ratio.isFinite { ratios.append(ratio) }
        }
        return ratios
    }
}
