import EdgeCore
import Foundation
import Testing
import TestSupport
@testable import Detection

/// Damaged, foreign and absurd input files: every one is refused with an error that says what
/// is wrong (and where), none traps, none makes the reader allocate for what it declares.
@Suite("Bad input files: model, detector, meta-initialization, CSV")
struct BadInputTests {
    // MARK: Binary model file

    /// The model of `ModelFileTests` with a threshold whose bytes are easy to find.
    static let model: NetworkModel = {
        var model = ModelFileTests.model
        model.threshold = 1234.5678
        return model
    }()

    /// `bytes` with a correct CRC-32 again, so the reader gets past the checksum to the contents.
    static func resealed(_ bytes: [UInt8]) -> [UInt8] {
        let body = Array(bytes.dropLast(4))
        let crc = CRC32.checksum(body)
        return body + (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt32($0))) }
    }

    static func offset(of value: Float, in bytes: [UInt8]) -> Int? {
        let pattern = (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * UInt32($0))) }
        return (0...(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == pattern }
    }

    @Test("empty, tiny and oversized model files are refused with their own code", arguments: [
        ("empty", 0, ModelFileError.Code.notAModelFile), ("magic only", 8, .truncated), ("17 MB", 17 << 20, .notAModelFile),
    ])
    func emptyAndOversizedModelFiles(name: String, size: Int, expected: ModelFileError.Code) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var bytes = [UInt8](repeating: 0, count: size)
        if size >= 8 { bytes.replaceSubrange(0..<8, with: NetworkModel.magic) }
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("m.model")))
        let error = #expect(throws: ModelFileError.self) { try NetworkModel(contentsOf: directory.file("m.model")) }
        #expect(error?.code == expected, "\(name): \(String(describing: error))")
        #expect(error?.message.contains(directory.file("m.model")) == true)
    }

    @Test("a header declaring a 4 GB payload in a small file is refused as truncated")
    func hugeDeclaredPayload() {
        var bytes = Self.model.encoded()
        bytes.replaceSubrange(12..<16, with: [0xFF, 0xFF, 0xFF, 0xFF])
        let error = #expect(throws: ModelFileError.self) { try NetworkModel(decoding: bytes) }
        #expect(error?.code == .truncated)
    }

    @Test("NaN and infinite thresholds behind a valid checksum are refused", arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteThreshold(value: Float) throws {
        var bytes = Self.model.encoded()
        let at = try #require(Self.offset(of: 1234.5678, in: bytes))
        for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: value.bitPattern >> (8 * UInt32(k))) }
        let error = #expect(throws: ModelFileError.self) { try NetworkModel(decoding: Self.resealed(bytes)) }
        #expect(error?.code == .invalidContents)
        #expect(error?.message.contains("threshold") == true)
    }

    @Test("0xFFFFFFFF at each offset before the weights, checksum fixed: refused unless harmless, no trap, no huge allocation")
    func hugeCountsEverywhere() {
        let original = Self.model.encoded()
        // Up to the first layer's int8 weights: the structure (counts, sizes, names, scales).
        let firstWeights = Self.model.quantized.layers[0].weights.prefix(16).map { UInt8(bitPattern: $0) }
        let weightsStart = (16...(original.count - 16)).first { Array(original[$0..<($0 + 16)]) == firstWeights } ?? original.count
        #expect(weightsStart > 300 && weightsStart < 1_000)
        var accepted: [Int] = []
        for at in 16..<(weightsStart - 3) {
            var bytes = original
            bytes.replaceSubrange(at..<(at + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
            do {
                _ = try NetworkModel(decoding: Self.resealed(bytes))
                accepted.append(at)  // a creation time or a window count: any value is possible
            } catch {
                #expect([.truncated, .invalidContents].contains(error.code), "offset \(at): \(error)")
                #expect(!error.message.isEmpty)
            }
        }
        // Only the creation time, the window count and a float's low mantissa bytes can take
        // any bit pattern there.
        #expect(accepted.count <= 20, "accepted at offsets \(accepted)")
    }

    @Test("1,500 random corruptions with the checksum fixed: each decodes to a model that scores, or is refused")
    func randomCorruptionsBehindValidChecksum() {
        let original = Self.model.encoded()
        var random = SplitMix64(seed: 11)
        let window = SyntheticMachine(sensorCount: 8, seed: 61).windows(count: 1, seed: 99)[0]
        let workspace = ScoringWorkspace()
        var refused = 0
        for round in 0..<1_500 {
            var bytes = original
            for _ in 0...(random.next() % 4) {
                let at = 16 + Int(random.next() % UInt64(bytes.count - 20))
                bytes[at] = UInt8(truncatingIfNeeded: random.next())
            }
            do {
                let model = try NetworkModel(decoding: Self.resealed(bytes))
                // Accepted: a changed name, note or weight. It must still score without trapping.
                if model.metadata.sensorNames.count == window.sensorCount, model.metadata.timeSteps == window.timeSteps {
                    _ = model.score(window, workspace: workspace)
                }
            } catch {
                refused += 1
                #expect(!error.message.isEmpty, "round \(round)")
            }
        }
        #expect(refused > 0)
    }

    // MARK: Detector file (JSON)

    /// A calibrated detector with its network half, as the JSON document `calibrate` writes.
    static let detectorData: Data = {
        var random = SplitMix64(seed: 5)
        var values: [Float] = []
        for _ in 0..<200 { values += [10 + 0.1 * random.signedUnitFloat(), 50 + 0.5 * random.signedUnitFloat(), 200 + 2 * random.signedUnitFloat()] }
        let settings = CalibrationSettings(network: NetworkCalibration(initialization: Network(seed: 3), adaptation: AdaptationSettings(steps: 2)))
        let (detector, report) = Calibrator(settings: settings).calibrate(values: values[...], sensorNames: ["a", "b", "c"])
        let file = DetectorFile(machine: "pump-1", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
        let directory = try! TemporaryDirectory()
        defer { directory.remove() }
        try! file.write(to: directory.file("d.json"))
        return try! Data(contentsOf: URL(fileURLWithPath: directory.file("d.json")))
    }()

    /// Writes `json` with `change` applied at the key path, reads it back.
    static func readDetector(_ change: (inout [String: Any]) -> Void) throws -> DetectorFile {
        var json = try #require(try JSONSerialization.jsonObject(with: detectorData) as? [String: Any])
        change(&json)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: directory.file("d.json")))
        return try DetectorFile.read(path: directory.file("d.json"))
    }

    static func set(_ json: inout [String: Any], _ path: [String], _ value: Any) {
        guard let key = path.first else { return }
        if path.count == 1 { json[key] = value; return }
        var inner = json[key] as? [String: Any] ?? [:]
        set(&inner, Array(path.dropFirst()), value)
        json[key] = inner
    }

    @Test("the unchanged detector document reads back and has a network half")
    func detectorBaseline() throws {
        let file = try Self.readDetector { _ in }
        #expect(file.detector.network != nil)
        var stream = file.detector.makeStream()
        var score = Float.nan
        for _ in 0..<40 { score = stream.score(row: [10, 50, 200] as [Float]) }
        #expect(score.isFinite)
    }

    @Test("impossible values in a detector file are refused before anything is sized from them", arguments: [
        (["formatVersion"], 2 as any Sendable, "format version 2"),
        (["detector", "threshold"], "nan", "threshold"),
        (["detector", "threshold"], "inf", "threshold"),
        (["detector", "threshold"], -1, "threshold"),
        (["detector", "baseline", "settings", "windowRows"], 1_000_000_000_000, "window of"),
        (["detector", "baseline", "settings", "windowRows"], 0, "window of"),
        (["detector", "baseline", "settings", "windowRows"], -5, "window of"),
        (["detector", "baseline", "settings", "driftHorizonRows"], Int.max, "drift horizon"),
        (["detector", "baseline", "median"], ["inf", 1, 2] as [any Sendable], "infinite"),
        (["detector", "baseline", "scale"], [0, 1, 1], "not positive"),
        (["detector", "baseline", "median"], [1, 2], "inconsistent sensor counts"),
        (["detector", "rule", "raiseCount"], 0, "alert rule"),
        (["detector", "rule", "raiseCount"], 6, "alert rule"),
        (["detector", "rule", "clearCount"], -3, "alert rule"),
        (["detector", "rule", "clearRatio"], 1.5, "alert rule"),
        (["detector", "rule", "cooldownScores"], -1, "alert rule"),
        (["detector", "sensorNames"], [String](), "no sensors"),
        (["detector", "network", "windowRows"], 1 << 40, "network window"),
        (["detector", "network", "threshold"], "nan", "network threshold"),
        (["detector", "network", "centers"], ["nan", 0, 0] as [any Sendable], "not finite"),
        (["detector", "network", "parameters"], [1, 2, 3], "not a detector file or damaged"),
        (["detector", "network", "architecture"], [255, 255, 255, 255, 255, 99999], "not a detector file or damaged"),
    ] as [([String], any Sendable, String)])
    func impossibleDetectorValues(path: [String], value: any Sendable, expected: String) {
        let error = #expect(throws: DetectorFileError.self) { try Self.readDetector { Self.set(&$0, path, value) } }
        #expect(error?.message.contains(expected) == true, "\(path): \(String(describing: error))")
        #expect(error?.message.contains("recalibrate") == true)
    }

    @Test("empty, binary, deeply nested and truncated detector files are refused")
    func damagedDetectorFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let valid = Self.detectorData
        var cases: [(String, Data)] = [
            ("empty", Data()), ("binary", Data(ModelFileTests.model.encoded())), ("null", Data("null".utf8)),
            ("nested", Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)),
            ("invalid UTF-8", Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])),
        ]
        for cut in stride(from: 1, to: valid.count, by: max(1, valid.count / 40)) { cases.append(("cut at \(cut)", valid.prefix(cut))) }
        for (name, bytes) in cases {
            try bytes.write(to: URL(fileURLWithPath: directory.file("d.json")))
            let error = #expect(throws: DetectorFileError.self, "\(name)") { try DetectorFile.read(path: directory.file("d.json")) }
            #expect(error?.description.contains(directory.file("d.json")) == true, "\(name)")
        }
    }

    // MARK: Meta-initialization text file

    @Test("damaged meta-initialization files are refused naming their line", arguments: [
        ("", "line 1"),
        ("edge-agent meta-initialization 2\n4 4 4 4 2 8\n", "line 1"),
        ("edge-agent meta-initialization 1\n", "line 2"),
        ("edge-agent meta-initialization 1\n4 4 4 4 2\n", "line 2"),
        ("edge-agent meta-initialization 1\n4 4 4 4 2 99999999999999999999\n", "line 2"),
        ("edge-agent meta-initialization 1\n255 255 255 255 255 255\n3f800000\n", "line 2"),
        ("edge-agent meta-initialization 1\n\n\n4 4 4 4 2 8\n3f80000\n", "line 5"),
        ("edge-agent meta-initialization 1\n4 4 4 4 2 8\n3f80000g\n", "line 3"),
        ("edge-agent meta-initialization 1\n4 4 4 4 2 8\n+3f80000\n", "line 3"),
        ("edge-agent meta-initialization 1\n4 4 4 4 2 8\nü3f8000\n", "line 3"),
    ])
    func damagedMetaInitialization(text: String, line: String) {
        let error = #expect(throws: MetaInitializationError.self) { try MetaInitialization.parse(text) }
        #expect(error?.message.hasPrefix(line + ":") == true, "\(String(describing: error))")
    }

    @Test("a meta-initialization with a NaN or infinite weight is refused", arguments: ["7fc00000", "7f800000", "ff800000"])
    func nonFiniteWeights(bits: String) throws {
        let network = Network(seed: 4)
        var lines = MetaInitialization.text(of: network).split(separator: "\n").map(String.init)
        #expect(try MetaInitialization.parse(lines.joined(separator: "\n")).parameters == network.parameters)
        lines[10] = bits
        let error = #expect(throws: MetaInitializationError.self) { try MetaInitialization.parse(lines.joined(separator: "\n")) }
        #expect(error?.message.hasPrefix("line 2:") == true, "\(String(describing: error))")
    }

    // MARK: CSV (replay, evaluate, calibrate --input)

    @Test("a header of 10 million columns is refused as too long, from a file and from memory")
    func tenMillionColumns() throws {
        let header = "t" + String(repeating: ",c", count: 10_000_000) + "\n1" + String(repeating: ",1", count: 10_000_000) + "\n"
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try TextFile.write(header, to: directory.file("wide.csv"))
        for read in [{ try CSVReader().read(path: directory.file("wide.csv")) }, { try CSVReader().parse(text: header) }] {
            let error = #expect(throws: CSVReadError.self) { _ = try read() }
            #expect(error?.code == .lineTooLong)
            #expect(error?.line == 1)
        }
    }

    @Test("NaN, infinite and out-of-range cells are missing readings, like empty ones")
    func nonFiniteCells() throws {
        let t = try CSVReader().parse(text: "t,a,b,c,d\n1,nan,inf,-inf,1e39\n2,-1e39,NaN,Infinity,3.4e38\n3,, 7 ,\"8\",-0\n")
        #expect(t.values.prefix(7).allSatisfy { $0.isNaN }, "\(t.values)")
        #expect(t.values[7] == 3.4e38)
        #expect(t.values[8].isNaN && t.values[9] == 7 && t.values[10] == 8 && t.values[11] == 0)
    }

    @Test("empty, blank, BOM-only, truncated and binary CSV files are refused naming line and column", arguments: [
        ("empty", [UInt8](), CSVReadError.Code.missingHeader, nil as Int?, nil as String?),
        ("blank lines", Array("\n \n\t\r\n".utf8), .missingHeader, nil, nil),
        ("BOM only", [0xEF, 0xBB, 0xBF], .missingHeader, nil, nil),
        ("last line cut", Array("t;a;b\n1;2;3\n2;4".utf8), .wrongCellCount, 3, nil),
        ("invalid UTF-8 cell", Array("t;a;b\n1;2;3\n2;\u{1}".utf8) + [0xFF, 0xFE] + Array(";4\n".utf8), .notANumber, 3, "a"),
        ("NUL in a cell", Array("t;a;b\n1;2\u{0}5;3\n".utf8), .notANumber, 2, "a"),
        ("only a timestamp", Array("timestamp\n1\n".utf8), .noSensorColumns, 1, nil),
        ("a 2 MB line", Array(("t;a\n1;" + String(repeating: "9", count: 2 << 20)).utf8), .lineTooLong, 2, nil),
    ])
    func damagedCSV(name: String, bytes: [UInt8], code: CSVReadError.Code, line: Int?, column: String?) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("x.csv")))
        let error = #expect(throws: CSVReadError.self, "\(name)") { try CSVReader().read(path: directory.file("x.csv")) }
        #expect(error?.code == code, "\(name): \(String(describing: error))")
        #expect(error?.line == line, "\(name): \(String(describing: error))")
        #expect(error?.column == column, "\(name): \(String(describing: error))")
        #expect(error?.description.hasPrefix(directory.file("x.csv")) == true)
    }

    @Test("400 random byte mutations of a CSV file: a table or a located error, never a trap")
    func mutatedCSV() throws {
        var text = "datetime;a;b;anomaly\r\n"
        for i in 0..<50 { text += "2026-01-01 00:00:\(i);\(Double(i) * 0.5);\(i % 3 == 0 ? "" : "\(i)");\(i % 2)\r\n" }
        let original = Array(text.utf8)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var random = SplitMix64(seed: 77)
        var refused = 0
        for round in 0..<400 {
            var bytes = original
            for _ in 0...(random.next() % 6) {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 4 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.remove(at: at)
                case 2: bytes.insert([UInt8(ascii: ";"), UInt8(ascii: "\n"), 0xFF, 0][Int(random.next() % 4)], at: at)
                default: bytes.removeSubrange(at...)
                }
                if bytes.isEmpty { break }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: directory.file("m.csv")))
            do {
                let table = try CSVReader().read(path: directory.file("m.csv"))
                #expect(table.values.count == table.rowCount * table.sensorCount, "round \(round)")
                #expect(!table.values.contains { $0.isInfinite }, "round \(round)")
            } catch let error as CSVReadError {
                refused += 1
                #expect(error.line != nil || [.missingHeader, .unreadable].contains(error.code), "round \(round): \(error)")
            }
        }
        #expect(refused > 50, "only \(refused) of 400 mutated files were refused")
    }
}
