/// The network half of a machine's detector: the adapted weights, the machine's robust
/// normalization, and the network score's own threshold.
public struct NetworkDetector: Sendable, Hashable {
    /// The adapted network (float32).
    public var network: Network
    /// Median/MAD normalization fitted to the calibration rows.
    public var normalization: Normalization
    /// Rows per scored window.
    public var windowRows: Int
    /// Network scores above this count as anomalous (calibration maximum × margin).
    public var threshold: Float
    /// The int8 network scored in place of the float one, when calibration quantized it.
    /// Not stored in the detector file (the binary model file holds it).
    public var quantized: QuantizedNetwork?
    /// Per-sensor references of `NetworkThresholdRule.sensorReference`: when set, the score is
    /// the largest over sensors of contribution / reference (nil: the network's own score).
    /// Not stored in the detector file (an evaluation option for now).
    public var sensorReferences: [Float]? = nil
    /// Per-sensor baselines of `NetworkThresholdRule.sensorExcess`: when set with references,
    /// the score is the largest over sensors of (contribution − baseline) / reference, the
    /// references then holding reference − baseline. Not stored in the detector file.
    public var sensorBaselines: [Float]? = nil

    /// Creates a network detector from its parts.
    public init(network: Network, normalization: Normalization, windowRows: Int, threshold: Float) {
        self.network = network
        self.normalization = normalization
        self.windowRows = windowRows
        self.threshold = threshold
    }
}

extension NetworkDetector: Codable {
    private enum Keys: String, CodingKey {
        case architecture, parameters, centers, scales, windowRows, threshold, reconstructionScoreWeight, scoresByLargestSensor
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let widths = try c.decode([Int].self, forKey: .architecture)
        guard widths.count == 6, widths.allSatisfy({ (0...255).contains($0) }), widths[5] >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .architecture, in: c, debugDescription: "architecture must be six widths in 0...255")
        }
        let architecture = NetworkArchitecture(encoderHiddenWidth: max(1, widths[0]), embeddingWidth: max(1, widths[1]),
                                               decoderHiddenWidth: max(1, widths[2]), headHiddenWidth: max(1, widths[3]),
                                               slotWidth: widths[4], maximumSensorCount: widths[5])
        network = try Network(architecture: architecture, parameters: try c.decode([Float].self, forKey: .parameters))
        network.reconstructionScoreWeight = try c.decodeIfPresent(Float.self, forKey: .reconstructionScoreWeight) ?? 1
        network.scoresByLargestSensor = try c.decodeIfPresent(Bool.self, forKey: .scoresByLargestSensor) ?? false
        let centers = try c.decode([Float].self, forKey: .centers)
        let scales = try c.decode([Float].self, forKey: .scales)
        guard centers.count == scales.count, scales.allSatisfy({ $0 > 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .scales, in: c, debugDescription: "one positive scale per center")
        }
        normalization = Normalization(centers: centers, scales: scales)
        windowRows = try c.decode(Int.self, forKey: .windowRows)
        threshold = try c.decode(Float.self, forKey: .threshold)
        quantized = nil
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        let a = network.architecture
        try c.encode([a.encoderHiddenWidth, a.embeddingWidth, a.decoderHiddenWidth, a.headHiddenWidth,
                      a.slotWidth, a.maximumSensorCount], forKey: .architecture)
        try c.encode(network.parameters, forKey: .parameters)
        if network.reconstructionScoreWeight != 1 {
            try c.encode(network.reconstructionScoreWeight, forKey: .reconstructionScoreWeight)
        }
        if network.scoresByLargestSensor { try c.encode(true, forKey: .scoresByLargestSensor) }
        try c.encode(normalization.centers, forKey: .centers)
        try c.encode(normalization.scales, forKey: .scales)
        try c.encode(windowRows, forKey: .windowRows)
        try c.encode(threshold, forKey: .threshold)
    }
}

/// Scores rows one at a time with a `NetworkDetector`: keeps the last `windowRows` rows and
/// scores them as one window. Allocation-free per row after `init`.
///
/// - Important: not thread-safe (it owns a `ScoringWorkspace`); use one per machine per thread.
public struct NetworkStream {
    /// The detector applied.
    public let detector: NetworkDetector
    private var window: Window
    private var seen = 0
    private let workspace: ScoringWorkspace

    /// Creates a stream with an empty window.
    public init(detector: NetworkDetector) {
        self.detector = detector
        let c = detector.normalization.sensorCount
        window = Window(timeSteps: detector.windowRows, sensorCount: c,
                        values: [Float](repeating: 0, count: detector.windowRows * c))
        workspace = ScoringWorkspace(architecture: detector.network.architecture)
    }

    /// Per-sensor contributions to the last score.
    public var contributions: [Float] { workspace.contributions }

    /// Adds one row and returns the network's score of the window ending at it (NaN until the
    /// window is full). Missing readings are replaced by the sensor's median.
    public mutating func score<C: Collection>(row: C) -> Float where C.Element == Float {
        window.slide(in: row, fill: detector.normalization.centers)
        seen += 1
        guard seen >= detector.windowRows else { return .nan }
        let score: Float
        if let quantized = detector.quantized {
            score = quantized.score(window, normalization: detector.normalization, workspace: workspace)
        } else {
            score = detector.network.score(window, normalization: detector.normalization, workspace: workspace)
        }
        return detector.sensorReferences == nil ? score : detector.referencedScore(score, workspace: workspace)
    }
}
