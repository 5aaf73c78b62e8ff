import Detection
import EdgeCore

/// A machine's stored model that cannot be used, with the file and what to do.
public struct MachineModelError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// What is wrong and what to do.
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// A machine's calibrated detector as the runtime uses it: score one row at a time, say which
/// sensors drove the score, and what each sensor's normal range is.
///
/// This is the only file of the runtime that knows the Detection module's types, so a change of
/// detector touches one place.
public struct MachineModel: Sendable {
    /// Where the model was loaded from.
    public let path: String
    /// When it was calibrated (ISO-8601, as stored in the file).
    public let calibratedAt: String
    /// Scores above this count towards an alert.
    public let threshold: Double
    /// Sensor names in the order the detector expects them.
    public let sensorNames: [String]
    /// Per-sensor normal range (robust centre ± 3 robust scales), for alerts and summaries.
    public let normalLow: [Double]
    public let normalHigh: [Double]
    /// Rows the scorer needs before its windows are full; earlier scores are not judged.
    public let windowRows: Int
    /// Threshold of the int8 network's own score, when `calibrate` stored a network model
    /// (`<machine>.model`) beside the detector.
    public let networkThreshold: Double?
    private let detector: MachineDetector
    private let network: NetworkModel?

    /// Loads the model calibrated for `machine` from `<dataDirectory>/models/`.
    /// - Returns: nil when the machine has not been calibrated yet.
    /// - Throws: when a model file exists but cannot be used (corrupt, wrong version).
    public static func load(machine: String, dataDirectory: String) throws -> MachineModel? {
        let path = modelPath(machine: machine, dataDirectory: dataDirectory)
        guard fileExists(path) else { return nil }
        let file = try DetectorFile.read(path: path)
        var network: NetworkModel? = nil
        let networkPath = "\(dataDirectory)/models/\(machine).model"
        if fileExists(networkPath) {
            let model: NetworkModel
            do {
                model = try NetworkModel(contentsOf: networkPath)
            } catch {
                throw MachineModelError(path: networkPath, message: "\(error) (recalibrate the machine, or remove the file to run without the network score)")
            }
            guard model.metadata.sensorNames == file.detector.sensorNames else {
                throw MachineModelError(path: networkPath, message: "its sensors (\(model.metadata.sensorNames.joined(separator: ", "))) are not the detector's (\(file.detector.sensorNames.joined(separator: ", "))): recalibrate the machine")
            }
            network = model
        }
        return MachineModel(path: path, file: file, network: network)
    }

    /// Where `calibrate` stores a machine's model.
    public static func modelPath(machine: String, dataDirectory: String) -> String {
        "\(dataDirectory)/models/\(machine).detector.json"
    }

    init(path: String, file: DetectorFile, network: NetworkModel? = nil) {
        self.path = path
        self.network = network
        networkThreshold = network.map { Double($0.threshold) }
        calibratedAt = file.calibratedAt
        detector = file.detector
        threshold = Double(file.detector.alertThreshold)
        sensorNames = file.detector.sensorNames
        let baseline = file.detector.baseline
        windowRows = max(baseline.settings.windowRows, file.detector.network?.windowRows ?? 0)
        // Centre ± 3 robust scales, widened by the sensor's configured tolerance (its dead band).
        let halfWidth = baseline.scale.indices.map { s in Double(baseline.scale[s] * (3 + (baseline.deadBand?[s] ?? 0))) }
        normalLow = baseline.median.indices.map { Double(baseline.median[$0]) - halfWidth[$0] }
        normalHigh = baseline.median.indices.map { Double(baseline.median[$0]) + halfWidth[$0] }
    }

    /// A fresh streaming scorer for this model.
    public func makeScorer() -> Scorer { Scorer(stream: detector.makeStream(), network: network.map(NetworkScorer.init)) }

    /// Scores the machine's last `timeSteps` rows with the int8 network; allocation-free per row.
    ///
    /// - Important: not thread-safe (it owns a scoring workspace).
    struct NetworkScorer {
        let model: NetworkModel
        var window: Window
        var rows = 0
        let workspace: ScoringWorkspace

        init(model: NetworkModel) {
            self.model = model
            let c = model.normalization.sensorCount, w = model.metadata.timeSteps
            window = Window(timeSteps: w, sensorCount: c, values: [Float](repeating: 0, count: w * c))
            workspace = ScoringWorkspace(architecture: model.quantized.architecture)
        }

        /// Adds one row (missing readings replaced by the sensor's median) to the window.
        mutating func push(row: [Float]) {
            window.slide(in: row, fill: model.normalization.centers)
            rows += 1
        }

        /// The int8 score of the window ending at the last row, or NaN until the window is full.
        func scoreWindow() -> Float {
            rows >= window.timeSteps ? model.score(window, workspace: workspace) : .nan
        }
    }

    /// Scores one machine's rows as they arrive; no allocation per row.
    ///
    /// - Important: not thread-safe (it owns scratch buffers): one per machine, used from one task.
    public struct Scorer {
        private var stream: DetectorStream
        private var network: NetworkScorer?
        /// The int8 network's score of the last row's window (NaN without a network model or
        /// before its window is full). Reported beside the alerting score, not alerted on: on
        /// real data it did not improve the decisions (README, "Results on SKAB"). Computed on
        /// demand, so that with `hop` > 1 only the windows that are judged cost a forward pass.
        public var networkScore: Double { network.map { Double($0.scoreWindow()) } ?? .nan }

        init(stream: DetectorStream, network: NetworkScorer?) {
            self.stream = stream
            self.network = network
        }

        /// Scores one row (one value per sensor in model order; NaN = missing).
        public mutating func score(row: [Float]) -> Double {
            network?.push(row: row)
            return Double(stream.score(row: row))
        }

        /// Each sensor's share of the last score, from whichever half of the detector (window
        /// deviation or network) drove it.
        public var contributions: [Float] {
            let deviation = stream.lastDeviationScore / stream.detector.threshold
            if let network = stream.detector.network, !stream.networkContributions.isEmpty,
               !(deviation >= stream.lastNetworkScore / network.threshold) {
                return stream.networkContributions
            }
            return stream.contributions
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether a file exists (no Foundation).
func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// The file's modification time in nanoseconds, or nil when it does not exist.
func modificationTime(_ path: String) -> Int64? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
}
