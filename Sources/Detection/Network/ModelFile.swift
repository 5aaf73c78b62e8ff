import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Facts about a calibrated model, stored in its file.
public struct ModelMetadata: Sendable, Hashable {
    /// The machine this model was calibrated for (agent.conf `machine.id`).
    public var machineID: String
    /// Sensor names in the order the model reads them.
    public var sensorNames: [String]
    /// Time steps per window the model was calibrated with.
    public var timeSteps: Int
    /// How many windows calibration used.
    public var calibrationWindowCount: Int
    /// When the model was made.
    public var createdAt: Timestamp
    /// Free text: the recipe, the meta-initialization, anything a person should know.
    public var notes: String

    /// Creates metadata.
    public init(machineID: String, sensorNames: [String], timeSteps: Int, calibrationWindowCount: Int,
                createdAt: Timestamp, notes: String = "") {
        self.machineID = machineID
        self.sensorNames = sensorNames
        self.timeSteps = timeSteps
        self.calibrationWindowCount = calibrationWindowCount
        self.createdAt = createdAt
        self.notes = notes
    }
}

/// A machine's deployable detector: normalization, int8 network, alert threshold and metadata,
/// optionally with the float weights for later re-adaptation. Saved as a model file (format in
/// docs/detection.md, "Model file format").
public struct NetworkModel: Sendable, Hashable {
    /// Model file format version written by this build (and the only one it reads).
    public static let formatVersion: UInt16 = 1
    /// The file's first 8 bytes: `0x89 'E' 'A' 'N' 'M' '\r' '\n' 0x1A` (a non-ASCII first byte and
    /// CR LF catch text-mode transfers, as in PNG).
    public static let magic: [UInt8] = [0x89, 0x45, 0x41, 0x4E, 0x4D, 0x0D, 0x0A, 0x1A]

    /// What the model is for.
    public var metadata: ModelMetadata
    /// Per-sensor robust normalization from calibration.
    public var normalization: Normalization
    /// Scores above this raise alerts.
    public var threshold: Float
    /// The int8 network the runtime scores with.
    public var quantized: QuantizedNetwork
    /// The float network it was quantized from (kept for re-adaptation), or nil.
    public var network: Network?

    /// Creates a model. The sensor counts of `metadata` and `normalization` must match.
    public init(metadata: ModelMetadata, normalization: Normalization, threshold: Float,
                quantized: QuantizedNetwork, network: Network? = nil) {
        precondition(metadata.sensorNames.count == normalization.sensorCount, "sensor names and normalization disagree")
        self.metadata = metadata
        self.normalization = normalization
        self.threshold = threshold
        self.quantized = quantized
        self.network = network
    }

    /// Scores a raw window of this machine with the int8 network (no allocation after the first call).
    public func score(_ window: Window, workspace: ScoringWorkspace) -> Float {
        quantized.score(window, normalization: normalization, workspace: workspace)
    }

    // MARK: Encoding

    /// The model file's bytes.
    public func encoded() -> [UInt8] {
        var out = ByteWriter()
        out.bytes(NetworkModel.magic)
        out.u16(NetworkModel.formatVersion)
        out.u16(network == nil ? 0 : 1)
        let lengthAt = out.data.count
        out.u32(0)  // payload length, patched below
        let payloadStart = out.data.count
        let a = quantized.architecture
        for v in [NetworkArchitecture.featureCount, a.encoderHiddenWidth, a.embeddingWidth, a.decoderHiddenWidth,
                  a.headHiddenWidth, a.slotWidth, a.maximumSensorCount, metadata.timeSteps] { out.u16(UInt16(v)) }
        out.string(metadata.machineID)
        out.i64(metadata.createdAt.millisecondsSinceEpoch)
        out.u32(UInt32(clamping: metadata.calibrationWindowCount))
        out.u16(UInt16(metadata.sensorNames.count))
        for name in metadata.sensorNames { out.string(name) }
        out.string(metadata.notes)
        out.floats(normalization.centers)
        out.floats(normalization.scales)
        out.f32(threshold)
        out.floats(quantized.inputScales)
        out.u16(UInt16(quantized.activationScales.count))
        for scales in quantized.activationScales { out.floats(scales) }
        out.u16(UInt16(quantized.layers.count))
        for layer in quantized.layers {
            out.u16(UInt16(layer.outputCount))
            out.u16(UInt16(layer.inputCount))
            out.u32(UInt32(layer.weights.count))
            for w in layer.weights { out.data.append(UInt8(bitPattern: w)) }
            out.u32(UInt32(layer.biases.count))
            for b in layer.biases { out.i32(b) }
            out.u16(UInt16(layer.requantization.count))
            for r in layer.requantization { out.i32(r.multiplier); out.i32(r.shift) }
            out.floats(layer.dequantization)
        }
        if let network {
            out.u32(UInt32(network.parameters.count))
            for p in network.parameters { out.f32(p) }
        }
        let payloadLength = UInt32(out.data.count - payloadStart)
        for k in 0..<4 { out.data[lengthAt + k] = UInt8(truncatingIfNeeded: payloadLength >> (8 * UInt32(k))) }
        out.u32(CRC32.checksum(out.data))
        return out.data
    }

    /// Decodes a model file's bytes.
    /// - Throws: `ModelFileError` when the bytes are not a model file, are of another format
    ///   version, are cut short, fail the checksum or describe an impossible network.
    public init(decoding bytes: [UInt8]) throws(ModelFileError) {
        let headerSize = NetworkModel.magic.count + 8
        guard bytes.count >= NetworkModel.magic.count, Array(bytes.prefix(NetworkModel.magic.count)) == NetworkModel.magic else {
            throw ModelFileError(.notAModelFile, "this is not an EdgeAgent model file (wrong magic number); point the agent at a file written by `edge-agent calibrate`")
        }
        guard bytes.count >= headerSize else {
            throw ModelFileError(.truncated, "the model file is cut short (\(bytes.count) bytes, the header alone needs \(headerSize)); recalibrate or restore it from a backup")
        }
        var header = ByteReader(bytes, from: NetworkModel.magic.count)
        let version = try header.u16()
        guard version == NetworkModel.formatVersion else {
            throw ModelFileError(.unsupportedVersion, "model file format version \(version) is not supported (this build reads version \(NetworkModel.formatVersion)); recalibrate the machine with this version of edge-agent")
        }
        let flags = try header.u16()
        let payloadLength = Int(try header.u32())
        let expected = headerSize + payloadLength + 4
        guard bytes.count >= expected else {
            throw ModelFileError(.truncated, "the model file is cut short (\(bytes.count) of \(expected) bytes); recalibrate or restore it from a backup")
        }
        guard bytes.count == expected else {
            throw ModelFileError(.invalidContents, "the model file has \(bytes.count - expected) unexpected bytes after its checksum; recalibrate or restore it from a backup")
        }
        let stored = UInt32(bytes[expected - 4]) | UInt32(bytes[expected - 3]) << 8 | UInt32(bytes[expected - 2]) << 16 | UInt32(bytes[expected - 1]) << 24
        guard CRC32.checksum(bytes[0..<(expected - 4)]) == stored else {
            throw ModelFileError(.checksumMismatch, "the model file is corrupted (CRC-32 mismatch); recalibrate or restore it from a backup")
        }
        var r = ByteReader(Array(bytes[0..<(expected - 4)]), from: headerSize)
        do {
            try self.init(reading: &r, hasFloatWeights: flags & 1 != 0)
        } catch let error as ModelFileError {
            throw error
        } catch {
            throw ModelFileError(.invalidContents, "the model file's contents are invalid: \(error); recalibrate the machine")
        }
        guard r.isAtEnd else {
            throw ModelFileError(.invalidContents, "the model file has unread bytes before its checksum; recalibrate the machine")
        }
    }

    private init(reading r: inout ByteReader, hasFloatWeights: Bool) throws {
        func invalid(_ what: String) -> ModelFileError {
            ModelFileError(.invalidContents, "the model file is invalid: \(what); recalibrate the machine")
        }
        let featureCount = Int(try r.u16())
        guard featureCount == NetworkArchitecture.featureCount else { throw invalid("it uses \(featureCount) features per sensor, this build uses \(NetworkArchitecture.featureCount)") }
        var widths = [Int]()
        for _ in 0..<6 { widths.append(Int(try r.u16())) }
        let timeSteps = Int(try r.u16())
        guard (1...255).contains(widths[0]), (1...255).contains(widths[1]), (1...255).contains(widths[2]),
              (1...255).contains(widths[3]), (0...255).contains(widths[4]), (1...255).contains(widths[5]) else {
            throw invalid("architecture widths \(widths) out of range")
        }
        guard timeSteps >= 2 else { throw invalid("windows of \(timeSteps) time steps") }
        let architecture = NetworkArchitecture(encoderHiddenWidth: widths[0], embeddingWidth: widths[1], decoderHiddenWidth: widths[2],
                                               headHiddenWidth: widths[3], slotWidth: widths[4], maximumSensorCount: widths[5])
        let machineID = try r.string()
        let createdAt = Timestamp(millisecondsSinceEpoch: try r.i64())
        let windowCount = Int(try r.u32())
        let sensorCount = Int(try r.u16())
        guard (1...architecture.maximumSensorCount).contains(sensorCount) else { throw invalid("\(sensorCount) sensors for a network with \(architecture.maximumSensorCount) slots") }
        var names = [String]()
        for _ in 0..<sensorCount { names.append(try r.string()) }
        let notes = try r.string()
        let centers = try r.floats(), scales = try r.floats()
        guard centers.count == sensorCount, scales.count == sensorCount,
              centers.allSatisfy(\.isFinite), scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw invalid("normalization does not fit \(sensorCount) sensors or is not finite and positive")
        }
        let threshold = try r.f32()
        guard threshold.isFinite else { throw invalid("threshold is not finite") }
        let inputScales = try r.floats()
        guard inputScales.count == featureCount, inputScales.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw invalid("input scales") }
        let activationCount = Int(try r.u16())
        let e = architecture.embeddingWidth
        let expectedActivations = [architecture.encoderHiddenWidth, e, e, architecture.decoderHiddenWidth, architecture.headHiddenWidth]
        guard activationCount == expectedActivations.count else { throw invalid("\(activationCount) activation scale sets") }
        var activationScales = [[Float]]()
        for n in expectedActivations {
            let scales = try r.floats()
            guard scales.count == n, scales.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw invalid("activation scales") }
            activationScales.append(scales)
        }
        let layerCount = Int(try r.u16())
        let s = architecture.slotWidth
        // (outputs, inputs, reads the slot embedding, requantized)
        let shapes: [(Int, Int, Bool, Bool)] = [
            (architecture.encoderHiddenWidth, featureCount, s > 0, true),
            (e, architecture.encoderHiddenWidth, false, true),
            (architecture.decoderHiddenWidth, 2 * e, s > 0, true),
            (featureCount, architecture.decoderHiddenWidth, false, false),
            (architecture.headHiddenWidth, 3 * e, s > 0, true),
            (1, architecture.headHiddenWidth, false, false),
        ]
        guard layerCount == shapes.count else { throw invalid("\(layerCount) layers, expected \(shapes.count)") }
        var layers = [QuantizedDenseLayer]()
        for (n, shape) in shapes.enumerated() {
            let outputs = Int(try r.u16()), inputs = Int(try r.u16())
            guard outputs == shape.0, inputs == shape.1 else { throw invalid("layer \(n) is \(outputs)×\(inputs), expected \(shape.0)×\(shape.1)") }
            let weightCount = Int(try r.u32())
            guard weightCount == outputs * inputs else { throw invalid("layer \(n) weight count") }
            let weights = try r.int8s(weightCount)
            let biasCount = Int(try r.u32())
            guard biasCount == (shape.2 ? architecture.maximumSensorCount * outputs : outputs) else { throw invalid("layer \(n) bias count") }
            var biases = [Int32]()
            biases.reserveCapacity(biasCount)
            for _ in 0..<biasCount { biases.append(try r.i32()) }
            let requantCount = Int(try r.u16())
            guard requantCount == (shape.3 ? outputs : 0) else { throw invalid("layer \(n) requantization count") }
            var requant = [FixedPointMultiplier]()
            for _ in 0..<requantCount {
                let multiplier = try r.i32(), shift = try r.i32()
                guard multiplier >= 0, (1...62).contains(shift) else { throw invalid("layer \(n) requantization multiplier") }
                requant.append(FixedPointMultiplier(multiplier: multiplier, shift: shift))
            }
            let dequant = try r.floats()
            guard dequant.count == (shape.3 ? 0 : outputs), dequant.allSatisfy(\.isFinite) else { throw invalid("layer \(n) dequantization scales") }
            layers.append(QuantizedDenseLayer(outputCount: outputs, inputCount: inputs, weights: weights, biases: biases,
                                              requantization: requant, dequantization: dequant))
        }
        var network: Network?
        if hasFloatWeights {
            let count = Int(try r.u32())
            guard count == architecture.parameterCount else { throw invalid("\(count) float weights, the architecture has \(architecture.parameterCount)") }
            var parameters = [Float]()
            parameters.reserveCapacity(count)
            for _ in 0..<count { parameters.append(try r.f32()) }
            do { network = try Network(architecture: architecture, parameters: parameters) } catch { throw invalid("float weights: \(error)") }
        }
        self.init(
            metadata: ModelMetadata(machineID: machineID, sensorNames: names, timeSteps: timeSteps,
                                    calibrationWindowCount: windowCount, createdAt: createdAt, notes: notes),
            normalization: Normalization(centers: centers, scales: scales), threshold: threshold,
            quantized: QuantizedNetwork(architecture: architecture, inputScales: inputScales,
                                        activationScales: activationScales, layers: layers),
            network: network)
    }

    // MARK: Files

    /// Writes the model file atomically (EdgeCore's `AtomicFile`: temporary file in the same
    /// folder, fsync, rename, fsync of the folder).
    /// - Throws: `ModelFileError` with code `.io` naming the path and the system error.
    public func write(to path: String) throws(ModelFileError) {
        let bytes = encoded()
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(AtomicFileError) in try AtomicFile.write(bytes: buffer, to: path, mode: 0o640) }
        }
        do {
            try result.get()
        } catch {
            let reason = String(cString: strerror(error.code))
            switch error.operation {
            case "create":
                let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
                throw ModelFileError(.io, "cannot create \(error.path): \(reason); check that \(directory.isEmpty ? "/" : directory) exists and is writable")
            case "write": throw ModelFileError(.io, "cannot write \(error.path): \(reason); is the disk full?")
            case "fsync": throw ModelFileError(.io, "cannot sync \(error.path): \(reason)")
            default: throw ModelFileError(.io, "cannot replace \(path): \(reason)")
            }
        }
    }

    /// Reads and decodes a model file (refusing files over 16 MB).
    /// - Throws: `ModelFileError` (`.io` when the file cannot be read, otherwise as `init(decoding:)`).
    public init(contentsOf path: String) throws(ModelFileError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ModelFileError(.io, "cannot open model file \(path): \(String(cString: strerror(errno))); calibrate the machine first (edge-agent calibrate)")
        }
        defer { close(fd) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ModelFileError(.io, "cannot read model file \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= 16 << 20 else {
                throw ModelFileError(.notAModelFile, "\(path) is over 16 MB, far larger than any model file; check the path")
            }
        }
        do {
            try self.init(decoding: bytes)
        } catch {
            throw ModelFileError(error.code, "\(path): \(error.message)")
        }
    }
}

/// Why a model file could not be read or written. Switch on `code`; show `message`.
public struct ModelFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Hashable {
        /// The file does not start with the model magic number (a foreign file).
        case notAModelFile
        /// The file is a model file of a format version this build does not read.
        case unsupportedVersion
        /// The file ends before its declared length.
        case truncated
        /// The CRC-32 does not match: the file was corrupted.
        case checksumMismatch
        /// The checksum matches but the contents describe an impossible model.
        case invalidContents
        /// The file could not be opened, read or written.
        case io
    }

    /// The error code.
    public let code: Code
    /// A sentence saying what happened and what to do next.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// Little-endian writer.
struct ByteWriter {
    var data = [UInt8]()
    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func u16(_ v: UInt16) { data.append(UInt8(v & 0xFF)); data.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for k in 0..<4 { data.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) } }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func i64(_ v: Int64) { let u = UInt64(bitPattern: v); for k in 0..<8 { data.append(UInt8(truncatingIfNeeded: u >> (8 * UInt64(k)))) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func floats(_ v: [Float]) { u32(UInt32(v.count)); for x in v { f32(x) } }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8.prefix(65535))
        u16(UInt16(utf8.count))
        data.append(contentsOf: utf8)
    }
}

/// Little-endian reader that throws `.truncated` instead of reading past the end.
struct ByteReader {
    let data: [UInt8]
    var offset: Int

    init(_ data: [UInt8], from offset: Int) {
        self.data = data
        self.offset = offset
    }

    var isAtEnd: Bool { offset == data.count }

    private mutating func take(_ n: Int) throws(ModelFileError) -> ArraySlice<UInt8> {
        guard n >= 0, data.count - offset >= n else {
            throw ModelFileError(.truncated, "the model file ends in the middle of a field; recalibrate or restore it from a backup")
        }
        defer { offset += n }
        return data[offset..<(offset + n)]
    }

    mutating func u16() throws(ModelFileError) -> UInt16 {
        let b = try take(2)
        return UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8
    }

    mutating func u32() throws(ModelFileError) -> UInt32 {
        let b = try take(4)
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(b[b.startIndex + k]) << (8 * UInt32(k)) }
        return v
    }

    mutating func i32() throws(ModelFileError) -> Int32 { Int32(bitPattern: try u32()) }

    mutating func i64() throws(ModelFileError) -> Int64 {
        let b = try take(8)
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(b[b.startIndex + k]) << (8 * UInt64(k)) }
        return Int64(bitPattern: v)
    }

    mutating func f32() throws(ModelFileError) -> Float { Float(bitPattern: try u32()) }

    mutating func floats() throws(ModelFileError) -> [Float] {
        let n = Int(try u32())
        guard n <= (data.count - offset) / 4 else {
            throw ModelFileError(.truncated, "the model file declares more values than it holds; recalibrate or restore it from a backup")
        }
        var out = [Float]()
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try f32()) }
        return out
    }

    mutating func int8s(_ n: Int) throws(ModelFileError) -> [Int8] {
        try take(n).map { Int8(bitPattern: $0) }
    }

    mutating func string() throws(ModelFileError) -> String {
        let n = Int(try u16())
        let b = try take(n)
        guard let s = String(validating: b, as: UTF8.self) else {
            throw ModelFileError(.invalidContents, "the model file holds text that is not UTF-8; recalibrate the machine")
        }
        return s
    }
}
