@testable import Detection
import EdgeCore
import Testing

/// A two-sensor machine of stationary noise (±1 around 10 and 60) whose sensor 0 steps up by
/// `faultSize` over `faults` (labelled anomalous there).
private func machine(seed: UInt64, rows: Int = 2400, faults: [Range<Int>], faultSize: Float) -> MetaTask {
    var random = SplitMix64(seed: seed)
    var values: [Float] = []
    var anomalous = [Bool](repeating: false, count: rows)
    for r in 0..<rows {
        let inFault = faults.contains { $0.contains(r) }
        anomalous[r] = inFault
        values.append(10 + random.signedUnitFloat() + (inFault ? faultSize : 0))
        values.append(60 + random.signedUnitFloat())
    }
    return MetaTask(name: "machine-\(seed)", values: values, sensorCount: 2, anomalous: anomalous)
}

@Suite("Calibration margin learned by the detection objective on simulated faults")
struct DetectionObjectivePriorTests {
    @Test("the best margin by F1 − FAR%/100 is hand-countable: 1 alerts normal rows, 3 misses the fault, ties keep the smallest")
    func bestMarginByHand() {
        // 40 normal rows at 1.2, then 40 fault rows at 3.0 (relative to the calibration maximum).
        let relative = [Float](repeating: 1.2, count: 40) + [Float](repeating: 3.0, count: 40)
        let labels = [Bool](repeating: false, count: 40) + [Bool](repeating: true, count: 40)
        let rule = AlertDecisionRule.standard
        let margin = CalibrationPrior.bestDetectionMargin(streams: [(relative, labels)], grid: [3, 1, 2, 1.25, 4], rule: rule)
        // 1: every row is above, all 40 normal rows alert after the first 2 (FAR 95 %); 1.25 and 2
        // alert the fault from its third row on (F1 38/(38+1) with no false alarm) and tie; 3 and 4
        // never alert (F1 0).
        #expect(margin == 1.25)
        // Without fault rows there is nothing to weigh: the largest margin.
        #expect(CalibrationPrior.bestDetectionMargin(streams: [(relative, [Bool](repeating: false, count: 80))], grid: [1, 2], rule: rule) == 2)
    }

    @Test("episodes end the lead before each fault, after settling, and never calibrate on an earlier fault")
    func placesEpisodes() {
        let task = machine(seed: 1, rows: 3000, faults: [300..<400, 1500..<1700, 1900..<2000], faultSize: 5)
        let episodes = CalibrationPrior.detectionEpisodes(in: [task], rows: 100, settlingRows: 150,
                                                          episodes: DetectionEpisodeSettings(horizonRows: 400, leadRows: 50))
        // Fault 1 would need rows 150..<250: allowed (settling ends at 150). Fault 2: 1350..<1450.
        // Fault 3: 1750..<1850 contains the rows 1750..<1850 after fault 2 ended at 1700: normal, kept.
        #expect(episodes.map(\.start) == [150, 1350, 1750])
        let late = CalibrationPrior.detectionEpisodes(in: [task], rows: 100, settlingRows: 151,
                                                      episodes: DetectionEpisodeSettings(horizonRows: 400, leadRows: 50))
        #expect(late.map(\.start) == [1350, 1750])
        // A lead of 250 puts fault 3's calibration on rows 1550..<1650, inside fault 2: skipped.
        let overlapping = CalibrationPrior.detectionEpisodes(in: [task], rows: 100, settlingRows: 0,
                                                             episodes: DetectionEpisodeSettings(horizonRows: 400, leadRows: 250))
        #expect(overlapping.map(\.start) == [1150])
    }

    @Test("on held-out machines the margin learned on faults detects better than the false-alarm target's")
    func beatsFalseAlarmTargetOnHeldOutMachines() throws {
        let network = Network(seed: 5)
        let calibration = NetworkCalibration(initialization: network, adaptation: AdaptationSettings(steps: 0),
                                             thresholdMargin: 1, quantize: false)
        let fault = [1200..<1500]
        let training = (0..<4).map { machine(seed: 30 + UInt64($0), faults: fault, faultSize: 6) }
        let heldOut = (0..<4).map { machine(seed: 40 + UInt64($0), faults: fault, faultSize: 6) }
        let settings = CalibrationPriorSettings(calibrationRowCounts: [50], targetFalseAlarmRate: 0.0, episodesPerTask: 2)
        let episodes = DetectionEpisodeSettings(horizonRows: 600, leadRows: 300)
        let detection = try #require(CalibrationPrior.learnByDetection(initialization: network, calibration: calibration,
                                                                        tasks: training, settings: settings, episodes: episodes).entries.first)
        let quiet = try #require(CalibrationPrior.learn(initialization: network, calibration: calibration,
                                                        tasks: training, settings: settings).entries.first)
        // Score the held-out machines' episodes with each margin, exactly as learning does.
        func objective(margin: Float) -> (f1: Double, far: Double) {
            var counts = ConfusionCounts()
            for task in heldOut {
                let start = fault[0].lowerBound - episodes.leadRows - 50, n = task.sensorCount
                var part = calibration
                part.thresholdMargin = 1
                guard let (detector, _, _) = Calibrator.calibrateNetwork(part, values: task.values[(start * n)..<((start + 50) * n)],
                                                                          sensorCount: n, labelledAnomalies: nil) else { continue }
                var stream = NetworkStream(detector: detector)
                for r in start..<(start + 50) { _ = stream.score(row: task.values[(r * n)..<((r + 1) * n)]) }
                var state = AlertDecisionRule.State()
                for r in (start + 50)..<(start + 50 + episodes.horizonRows) {
                    let relative = stream.score(row: task.values[(r * n)..<((r + 1) * n)]) / detector.threshold
                    counts.record(prediction: state.update(score: relative, threshold: margin, rule: settings.rule), label: task.anomalous[r])
                }
            }
            return (counts.f1, counts.falseAlarmRatePercent)
        }
        let learned = objective(margin: detection.thresholdMargin), target = objective(margin: quiet.thresholdMargin)
        #expect(detection.thresholdMargin < quiet.thresholdMargin, "detection margin \(detection.thresholdMargin), zero-FAR margin \(quiet.thresholdMargin)")
        #expect(learned.f1 > 0.8, "held-out F1 \(learned.f1) at FAR \(learned.far) with margin \(detection.thresholdMargin)")
        #expect(learned.far < 10, "held-out FAR \(learned.far)")
        #expect(learned.f1 - learned.far / 100 > target.f1 - target.far / 100 + 0.05,
                "objective \(learned) at \(detection.thresholdMargin) against \(target) at \(quiet.thresholdMargin)")
    }
}
