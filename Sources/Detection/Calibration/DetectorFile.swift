import FoundationEssentials

/// The calibrated detector of one machine on disk: `<data_dir>/models/<machine>.detector.json`,
/// a versioned JSON document (baseline, threshold, alert rule, what calibration did).
///
/// JSON because it is small (a few hundred numbers), read once at start-up, and worth being
/// readable by a plant engineer; the network's weights live in the binary model file beside it.
public struct DetectorFile: Sendable, Codable {
    /// Format version; readers refuse versions they do not know.
    public static let currentVersion = 1
    /// The format version of this document.
    public var formatVersion: Int
    /// The machine's id in agent.conf.
    public var machine: String
    /// When calibration ran (ISO-8601 UTC).
    public var calibratedAt: String
    /// The detector.
    public var detector: MachineDetector
    /// What calibration did.
    public var report: CalibrationReport
    /// The time of the first row calibration's stream scored (ISO-8601 UTC), when it calibrated
    /// on the agent's buffer (`calibrate --last/--from`); nil for a file calibrated on a CSV
    /// file, or before it was recorded. The agent's stream, warmed on the buffer when the model
    /// loads, starts there at the earliest, as calibration's and `replay`'s do.
    public var dataFrom: String? = nil

    /// Creates a document for `detector`.
    public init(machine: String, calibratedAt: String, detector: MachineDetector, report: CalibrationReport,
                dataFrom: String? = nil) {
        self.formatVersion = DetectorFile.currentVersion
        self.machine = machine
        self.calibratedAt = calibratedAt
        self.detector = detector
        self.report = report
        self.dataFrom = dataFrom
    }

    /// Writes the document atomically to `path`.
    /// - Throws: `ReplayError` when the file cannot be written.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(self)
        // 0640: a machine's model is not for every local user (the agent's user and group).
        try data.withUnsafeBytes { try TextFile.write(bytes: $0, to: path, mode: 0o640) }
    }

    /// Reads and checks a document.
    /// - Throws: `DetectorFileError` when the file is missing, not this format, or a newer version.
    public static func read(path: String) throws -> DetectorFile {
        let table: [UInt8]
        do { table = try TextFile.readBytes(path: path) } catch {
            throw DetectorFileError(path: path, message: "cannot read (\(error)); run `edge-agent calibrate` for this machine first")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let file: DetectorFile
        do { file = try decoder.decode(DetectorFile.self, from: Data(table)) } catch {
            throw DetectorFileError(path: path, message: "not a detector file or damaged (\(error)); recalibrate the machine")
        }
        guard file.formatVersion == currentVersion else {
            throw DetectorFileError(path: path, message: "format version \(file.formatVersion) is not supported (this agent reads \(currentVersion)); recalibrate with this agent")
        }
        if let problem = file.detector.problem {
            throw DetectorFileError(path: path, message: "\(problem); the file is damaged, recalibrate the machine")
        }
        return file
    }
}

extension MachineDetector {
    /// Largest window the file may ask for (agent.conf's `window_length` bound), so a damaged
    /// count never turns into a huge allocation when scoring starts.
    static let maximumWindowRows = 100_000

    /// What makes a decoded detector unusable, or nil when it can score: JSON decoding skips
    /// the initializers' clamps, so counts, sizes and numbers are checked here before any
    /// buffer is sized from them. NaN is allowed where calibration writes it (a sensor that
    /// was never read); infinities never are.
    var problem: String? {
        let n = sensorNames.count
        let b = baseline, settings = b.settings
        guard n >= 1 else { return "no sensors" }
        guard [b.median.count, b.scale.count, b.windowCenter.count, b.windowScale.count, b.weight.count].allSatisfy({ $0 == n }) else {
            return "inconsistent sensor counts (\(n) sensor names)"
        }
        guard (1...Self.maximumWindowRows).contains(settings.windowRows), (1...Self.maximumWindowRows).contains(settings.driftHorizonRows) else {
            return "window of \(settings.windowRows) rows or drift horizon of \(settings.driftHorizonRows) rows (expected 1…\(Self.maximumWindowRows))"
        }
        guard [settings.relativeScaleFloor, settings.wanderRatioLimit, settings.wanderPenaltyPower].allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            return "window-deviation settings are not finite and non-negative"
        }
        guard b.median.allSatisfy({ !$0.isInfinite }), b.windowCenter.allSatisfy({ !$0.isInfinite }),
              b.scale.allSatisfy({ $0.isNaN || ($0.isFinite && $0 > 0) }), b.windowScale.allSatisfy({ $0.isNaN || ($0.isFinite && $0 > 0) }),
              b.weight.allSatisfy({ $0.isNaN || ($0.isFinite && $0 >= 0) }) else {
            return "the baseline holds an infinite value or a scale that is not positive"
        }
        if let band = b.deadBand {
            guard band.count == n, band.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                return "dead band of \(band.count) sensors, or not finite and non-negative (expected \(n) values ≥ 0)"
            }
        }
        guard threshold.isFinite, threshold >= 0 else { return "threshold \(threshold) is not a finite, non-negative number" }
        if let problem = calibratedStates?.problem(sensorCount: n) { return problem }
        if let rise, let problem = rise.problem(sensorCount: n, load: load) { return problem }
        if let problem = receiver?.problem(sensorCount: n, maximumRows: Self.maximumWindowRows) { return problem }
        if let problem = rule.problem { return problem }
        if let network {
            guard (2...Self.maximumWindowRows).contains(network.windowRows) else {
                return "network window of \(network.windowRows) rows (expected 2…\(Self.maximumWindowRows))"
            }
            guard network.threshold.isFinite, network.threshold >= 0 else { return "network threshold is not a finite, non-negative number" }
            guard network.normalization.sensorCount == n, n <= network.network.architecture.maximumSensorCount else {
                return "the network reads \(network.normalization.sensorCount) sensors with \(network.network.architecture.maximumSensorCount) slots, the detector has \(n)"
            }
            guard network.normalization.centers.allSatisfy(\.isFinite), network.normalization.scales.allSatisfy({ $0.isFinite && $0 > 0 }),
                  network.network.parameters.allSatisfy(\.isFinite) else {
                return "the network's weights or normalization are not finite"
            }
        }
        return nil
    }
}

/// A detector file could not be used; the message says what to do.
public struct DetectorFileError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// What is wrong and what to do.
    public var message: String
    public var description: String { "\(path): \(message)" }
}
