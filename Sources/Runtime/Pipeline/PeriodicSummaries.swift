import Configuration
import EdgeCore
import Logging
import Store
import Summaries

/// Writes each machine's summary files every `summary_interval`, for periods aligned to UTC
/// multiples of the interval (an hourly summary covers 01:00–02:00). The scores of the period,
/// which the buffer does not keep, are collected here as they are computed.
struct PeriodicSummaries {
    let configuration: AgentConfiguration
    let intervalMilliseconds: Int64
    private(set) var periodStart: Timestamp
    private var scores: [[ScorePoint]]
    private var thresholds: [Double]
    private var dataEvents: [[DataQualityEvent]]

    init(configuration: AgentConfiguration, now: Timestamp) {
        self.configuration = configuration
        intervalMilliseconds = max(1000, configuration.agent.summaryInterval.wholeMilliseconds)
        periodStart = SummaryPeriod.lastComplete(before: now, interval: configuration.agent.summaryInterval).end
        scores = (0..<configuration.machines.count).map { _ in Self.preallocatedScorePoints(writtenOnce: true) }
        thresholds = Array(repeating: 0, count: configuration.machines.count)
        dataEvents = Array(repeating: [], count: configuration.machines.count)
    }

    /// Gives each sensor of `input` its normal range from `model`: what the detector judges its
    /// readings against at the operating point the machine held for most of the period, and
    /// `normalState` says which point that is.
    ///
    /// - A two-state machine (a compressor's `loaded`): a sensor the state moves gets the range
    ///   of the state the machine was in for most of the period (the mean of its state sensor's
    ///   good readings, at least 0.5: state 1; no reading: state 0), as an alert quotes the range
    ///   of the current state (`loaded = 1`).
    /// - A load-compensated machine: a sensor its speed moves gets the range at the period's
    ///   median speed (`SensorSeries.medianOverTime`: the median of the chart intervals' means,
    ///   so stops and a short excursion do not move it), as if the machine had run there long
    ///   enough for its thermal lags to catch up (`speed = 1012`); a speed that changed within
    ///   the period is judged row by row at each speed, which one range cannot show, so the
    ///   median is the speed most of the period's rows were judged near. A compressor's duty
    ///   cycle is its state's mean over the period (`loaded duty = 0.62`). Without a usable
    ///   reading of the driver (none, or the machine below the prior's minimum speed for most of
    ///   the period), the range at the calibration's own speed, labelled with it and
    ///   `(calibration)`. The speed itself: from the prior's minimum up (`normalHigh` nil: no
    ///   upper end), whatever the period.
    static func setNormalRanges(of input: inout SummaryInput, from model: MachineModel) {
        func series(_ name: String) -> SensorSeries? { input.sensors.first { $0.name == name } }
        var stateOn = false
        var stateText: String? = nil
        if let stateSensor = model.stateSensor {
            let share = series(stateSensor).flatMap { series in
                SensorStatistics(series, start: input.start, end: input.end, pollIntervalMilliseconds: input.pollIntervalMilliseconds).mean
            }
            stateOn = (share ?? 0) >= 0.5
            stateText = "\(stateSensor) = \(stateOn ? 1 : 0)"
        }
        var point = MachineModel.OperatingPoint.asRead
        var loadText: String? = nil
        if let driver = model.loadDriver, let calibration = model.calibrationDriverLevel {
            let duty = model.loadDriverIsDuty
            let typical = series(driver).flatMap { series in
                duty ? SensorStatistics(series, start: input.start, end: input.end, pollIntervalMilliseconds: input.pollIntervalMilliseconds).mean
                     : series.medianOverTime(start: input.start, end: input.end, pollIntervalMilliseconds: input.pollIntervalMilliseconds)
            }
            let name = duty ? "\(driver) duty" : driver
            if let typical, let settled = model.settledOperatingPoint(driver: typical) {
                point = settled
                loadText = "\(name) = \(NumberText.short(typical))"
            } else if let settled = model.settledOperatingPoint(driver: calibration) {
                point = settled
                loadText = "\(name) = \(NumberText.short(calibration)) (calibration)"
            }
        }
        for i in input.sensors.indices {
            guard let column = model.sensorNames.firstIndex(of: input.sensors[i].name) else { continue }
            let moved = model.stateMovesRange(column: column)
            let range = model.normalRange(column: column, stateOn: moved && stateOn, at: point)
            input.sensors[i].normalLow = range.low
            input.sensors[i].normalHigh = range.high.isFinite ? range.high : nil
            let labels = [moved ? stateText : nil, model.loadMovesRange(column: column) ? loadText : nil].compactMap { $0 }
            input.sensors[i].normalState = labels.isEmpty ? nil : labels.joined(separator: ", ")
        }
    }

    /// Records the data alerts among `events` (unit offline, stale, out of range, stopped and
    /// their recoveries) as the period's data-quality events.
    mutating func record(_ events: [AlertEvent]) {
        for event in events where event.alert.kind != .anomaly && event.change != .updated {
            guard let index = configuration.machines.firstIndex(where: { $0.id == event.alert.machine }) else { continue }
            dataEvents[index].append(DataQualityEvent(
                time: event.time, kind: event.change == .cleared ? "recovered" : event.alert.kind.rawValue,
                subject: event.alert.topSensors.first?.sensor ?? "",
                message: event.change == .cleared ? "cleared: \(event.alert.message)" : event.alert.message))
        }
    }

    /// Most score points kept per machine and period: memory stays flat however long the
    /// period and however fast the polling (an hour at 10 Hz would otherwise be 36,000 points).
    static let maximumScorePoints = 4096

    /// Records one scored window.
    ///
    /// When a machine's points reach `maximumScorePoints`, neighbouring pairs are merged into
    /// the higher-scoring one: the chart keeps its shape and every peak, and the period's
    /// statistics become those of the retained points (mean and p95 lean slightly high).
    mutating func record(_ window: ScoredWindow) {
        if window.time < periodStart { return }
        thresholds[window.machine] = window.threshold
        if scores[window.machine].count >= Self.maximumScorePoints { Self.halve(&scores[window.machine]) }
        scores[window.machine].append(ScorePoint(time: window.time, score: window.score))
    }

    /// An empty array with room for `maximumScorePoints` (64 KiB).
    ///
    /// At start-up (`writtenOnce`) every page of it is written once: the points' memory is
    /// resident from start-up instead of growing over the first minutes of the period (or the
    /// first `maximumScorePoints` windows), so the agent's RSS stays flat. At a period's end it
    /// is not: the new arrays are made while the summary jobs still hold the old ones, and
    /// writing them at once added their 640 KiB (10 machines) to the summaries' peak; their
    /// pages become resident as the new period's points arrive, by which time the jobs have
    /// freed the old arrays and the heap has been trimmed.
    private static func preallocatedScorePoints(writtenOnce: Bool) -> [ScorePoint] {
        guard writtenOnce else {
            var points: [ScorePoint] = []
            points.reserveCapacity(maximumScorePoints)
            return points
        }
        var points = [ScorePoint](repeating: ScorePoint(time: Timestamp(millisecondsSinceEpoch: 0), score: 0),
                                  count: maximumScorePoints)
        points.removeAll(keepingCapacity: true)
        return points
    }

    /// The score points kept so far for machine `index` in the current period.
    func scorePoints(machine index: Int) -> [ScorePoint] { scores[index] }

    private static func halve(_ points: inout [ScorePoint]) {
        var kept = 0
        var i = 0
        while i + 1 < points.count {
            points[kept] = points[i].score >= points[i + 1].score ? points[i] : points[i + 1]
            kept += 1
            i += 2
        }
        if i < points.count { points[kept] = points[i]; kept += 1 }
        points.removeLast(points.count - kept)
    }

    /// Most sensors whose readings one summary pass reduces at once.
    ///
    /// One pass over the period's readings serves several machines (the buffer is keyed by
    /// time, so a machine read on its own costs a visit of every machine's readings), but its
    /// digests, about 7 KB per sensor, and the machines' summary inputs are all held until the
    /// pass's files are written. All 98 sensors of the benchmark's agent in one pass raised the
    /// summaries' peak RSS by about 1 MB (static agent, summaries every minute); 32 sensors
    /// (three 10-sensor machines) read an hour 4 times instead of 10 for about 0.2 MB of
    /// digests, and an agent of 968 sensors 34 times instead of 100 (docs/performance.md).
    static let sensorsPerPass = 32

    /// The machines (indices, configuration order) each summary pass reads, given each
    /// machine's sensor count: consecutive machines up to `sensorsPerPass` sensors, and a
    /// machine with more alone.
    static func passes(_ sensorCounts: [Int]) -> [[Int]] {
        var passes: [[Int]] = []
        var current: [Int] = []
        var sensors = 0
        for (index, count) in sensorCounts.enumerated() {
            if !current.isEmpty, sensors + count > sensorsPerPass {
                passes.append(current)
                current = []
                sensors = 0
            }
            current.append(index)
            sensors += count
        }
        if !current.isEmpty { passes.append(current) }
        return passes
    }

    /// When the current period is over, returns the jobs that write its summaries (to run on a
    /// blocking thread) and starts the next period.
    mutating func due(now: Timestamp, models: [MachineModel?], database: BufferDatabase, logger: Logger) -> [@Sendable () -> Void] {
        if now.millisecondsSinceEpoch < periodStart.millisecondsSinceEpoch - intervalMilliseconds {
            // The wall clock went back more than a whole period before the period in progress:
            // waiting for it to come round again would stop summaries for as long as the step.
            // Go on with the period that holds the new time (the readings stay in the buffer).
            let current = SummaryPeriod.lastComplete(before: now, interval: configuration.agent.summaryInterval).end
            logger.notice("wall clock moved back to \(now.iso8601), before the summary period in progress (from \(periodStart.iso8601)); summaries go on from \(current.iso8601)")
            periodStart = current
            for i in scores.indices { scores[i].removeAll(keepingCapacity: true) }
            for i in dataEvents.indices { dataEvents[i].removeAll() }
            return []
        }
        let end = Timestamp(millisecondsSinceEpoch: periodStart.millisecondsSinceEpoch + intervalMilliseconds)
        guard now >= end else { return [] }
        let start = periodStart
        // The first job on the serial worker gives back the code and read-only data pages that
        // are resident but idle (what ran once since start-up or the last period, not what
        // polling and scoring use, which faults back in at once): the summaries' own code then
        // takes their place instead of adding to them at the summaries' peak (static agent,
        // 98 sensors × 10 Hz: 0.5–0.9 MB of such pages).
        var jobs: [@Sendable () -> Void] = [{ givePagesBack(logger: logger, when: "before the summaries for \(start.iso8601)") }]
        let configuration = self.configuration
        for group in Self.passes(configuration.machines.map(\.sensors.count)) {
            let machines = group.map { configuration.machines[$0] }
            let points = group.map { scores[$0] }
            let quality = group.map { dataEvents[$0] }
            let thresholds = group.map { self.thresholds[$0] }
            let normals = group.map { models[$0] }
            jobs.append {
                let inputs: [SummaryInput]
                do {
                    inputs = try BufferSummarySource.inputs(
                        machines: machines.map(\.id), configuration: configuration, from: start, until: end, database: database)
                } catch {
                    for machine in machines {
                        logger.error("summary of \(machine.id) for \(start.iso8601) not written: \(error)")
                    }
                    return
                }
                for (k, var input) in inputs.enumerated() {
                    do {
                        if !points[k].isEmpty { input.scores = ScoreSeries(points: points[k], threshold: thresholds[k]) }
                        input.dataQualityEvents = quality[k]
                        if let normal = normals[k] { input.describe(with: normal) }
                        let files = try SummaryWriter.write(input, to: configuration.agent.summaryDirectory)
                        logger.info("summary of \(machines[k].id) for \(start.iso8601) – \(end.iso8601): \(files.html)")
                    } catch {
                        logger.error("summary of \(machines[k].id) for \(start.iso8601) not written: \(error)")
                    }
                }
            }
        }
        jobs.append {
            do {
                _ = try SummaryRetention(maximumAge: configuration.agent.retentionAge).apply(in: configuration.agent.summaryDirectory)
            } catch {
                logger.warning("summary retention: \(error)")
            }
            // The last job on the same serial worker: the summaries' memory is free by now.
            // Their code (the statistics, the HTML and JSON rendering, the JSON decoding of
            // alert details) runs once a period but stayed resident after the first one, in
            // 64 KB chunks: about 0.9 MB of the dynamic agent's RSS at 98 sensors × 10 Hz. Its
            // pages go back here; what polling and scoring use faults back in (minor faults,
            // from the page cache) within a second. Before the heap trim: reading smaps allocates.
            givePagesBack(logger: logger, when: "after the summaries for \(start.iso8601)")
            releaseFreedHeapMemory()
        }
        periodStart = end
        // The wall clock jumped ahead over whole periods (or the agent was stopped, e.g. a
        // suspended VM): nothing was polled in them, since every poll cycle is stamped with that
        // clock. Go on with the period in progress instead of writing one empty period per tick.
        let current = SummaryPeriod.lastComplete(before: now, interval: configuration.agent.summaryInterval).end
        if current.millisecondsSinceEpoch >= end.millisecondsSinceEpoch + 2 * intervalMilliseconds {
            logger.notice("summaries for \(end.iso8601) – \(current.iso8601) skipped: the wall clock moved ahead over them and nothing was polled in them (`edge-agent summarize` writes any period on demand)")
            periodStart = current
        }
        // The jobs hold the finished period's arrays; the next period gets fresh ones.
        for i in scores.indices { scores[i] = Self.preallocatedScorePoints(writtenOnce: false) }
        for i in dataEvents.indices { dataEvents[i].removeAll() }
        return jobs
    }
}

extension MachineModel {
    /// The model as a summary names it: its file's name, when it was calibrated, its threshold.
    public var summaryInfo: ModelInfo {
        ModelInfo(name: path.split(separator: "/").last.map(String.init) ?? path,
                  calibrated: Timestamp(iso8601: Substring(calibratedAt)), threshold: threshold)
    }
}

extension SummaryInput {
    /// Names `model` as the summary's model and gives each sensor its normal range from it
    /// (`PeriodicSummaries.setNormalRanges(of:from:)`): what the agent's periodic summaries and
    /// `edge-agent summarize` over the buffer both do, so their files quote the same ranges.
    public mutating func describe(with model: MachineModel) {
        self.model = model.summaryInfo
        PeriodicSummaries.setNormalRanges(of: &self, from: model)
    }
}

/// `StartUpPages.release()` around the periodic summaries, with a debug line saying what it gave back.
private func givePagesBack(logger: Logger, when phase: String) {
    guard let released = StartUpPages.release() else { return }
    logger.debug("gave back \(released.residentKilobytes) KiB of code and read-only data pages in \(released.mappings) mappings (\(phase))")
}
