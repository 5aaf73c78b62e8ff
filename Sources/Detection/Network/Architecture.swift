/// The sizes of the compact network. One architecture (and one set of weights) serves every
/// machine with 1 through `maximumSensorCount` sensors; see docs/detection.md, "Detection: the compact network".
public struct NetworkArchitecture: Sendable, Hashable {
    /// Summary features computed per sensor from its window (see `FeatureExtractor`).
    public static let featureCount = 8

    /// Width of the encoder's hidden layer.
    public var encoderHiddenWidth: Int
    /// Width of the per-sensor embedding `h_i` that is pooled across sensors.
    public var embeddingWidth: Int
    /// Width of the decoder's hidden layer (predicts a sensor's features from the others).
    public var decoderHiddenWidth: Int
    /// Width of the deviation head's hidden layer.
    public var headHiddenWidth: Int
    /// Width of the learned per-slot sensor embedding (0 disables it).
    public var slotWidth: Int
    /// The largest sensor count served (the number of sensor slots).
    public var maximumSensorCount: Int

    /// Creates an architecture; every width must be in 1...255 (`slotWidth` may be 0) and
    /// `maximumSensorCount` in 1...255.
    public init(
        encoderHiddenWidth: Int = 16,
        embeddingWidth: Int = 8,
        decoderHiddenWidth: Int = 16,
        headHiddenWidth: Int = 8,
        slotWidth: Int = 4,
        maximumSensorCount: Int = 64
    ) {
        precondition((1...255).contains(encoderHiddenWidth) && (1...255).contains(embeddingWidth)
            && (1...255).contains(decoderHiddenWidth) && (1...255).contains(headHiddenWidth)
            && (0...255).contains(slotWidth) && (1...255).contains(maximumSensorCount),
            "architecture widths must be in 1...255 (slotWidth 0...255)")
        self.encoderHiddenWidth = encoderHiddenWidth
        self.embeddingWidth = embeddingWidth
        self.decoderHiddenWidth = decoderHiddenWidth
        self.headHiddenWidth = headHiddenWidth
        self.slotWidth = slotWidth
        self.maximumSensorCount = maximumSensorCount
    }

    /// The default architecture: 8 features → 16 → 8 embedding; decoder 8+8+4 → 16 → 8; head 8·3+4 → 8 → 1.
    public static let standard = NetworkArchitecture()

    /// The total number of float parameters.
    public var parameterCount: Int { ParameterLayout(self).count }
}

/// Offsets of every tensor in the flat parameter vector (row-major weights `[out][in]`).
struct ParameterLayout: Sendable {
    let f: Int, s: Int, h1: Int, e: Int, h3: Int, h5: Int, maxSensors: Int
    let in1: Int, in3: Int, in5: Int
    let w1: Int, b1: Int, w2: Int, b2: Int, w3: Int, b3: Int, w4: Int, b4: Int
    let w5: Int, b5: Int, w6: Int, b6: Int, slots: Int, count: Int

    init(_ a: NetworkArchitecture) {
        f = NetworkArchitecture.featureCount
        s = a.slotWidth
        h1 = a.encoderHiddenWidth
        e = a.embeddingWidth
        h3 = a.decoderHiddenWidth
        h5 = a.headHiddenWidth
        maxSensors = a.maximumSensorCount
        in1 = f + s
        in3 = 2 * e + s
        in5 = 3 * e + s
        var o = 0
        w1 = o; o += h1 * in1
        b1 = o; o += h1
        w2 = o; o += e * h1
        b2 = o; o += e
        w3 = o; o += h3 * in3
        b3 = o; o += h3
        w4 = o; o += f * h3
        b4 = o; o += f
        w5 = o; o += h5 * in5
        b5 = o; o += h5
        w6 = o; o += h5
        b6 = o; o += 1
        slots = o; o += maxSensors * s
        count = o
    }
}
