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

    /// Creates a document for `detector`.
    public init(machine: String, calibratedAt: String, detector: MachineDetector, report: CalibrationReport) {
        self.formatVersion = DetectorFile.currentVersion
        self.machine = machine
        self.calibratedAt = calibratedAt
        self.detector = detector
        self.report = report
    }

    /// Writes the document atomically to `path`.
    /// - Throws: `ReplayError` when the file cannot be written.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(self)
        try data.withUnsafeBytes { try TextFile.write(bytes: $0, to: path) }
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
        let n = file.detector.sensorNames.count
        let b = file.detector.baseline
        guard [b.median.count, b.scale.count, b.windowCenter.count, b.windowScale.count, b.weight.count].allSatisfy({ $0 == n }) else {
            throw DetectorFileError(path: path, message: "inconsistent sensor counts; the file is damaged, recalibrate the machine")
        }
        return file
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
