import EdgeCore
import Foundation
import Testing
import TestSupport
@testable import Detection

@Suite struct ModelFileTests {
    static let model: NetworkModel = {
        let machine = SyntheticMachine(sensorCount: 8, seed: 61)
        let raw = machine.windows(count: 40, seed: 62)
        let normalization = Normalization(fitting: raw)
        let network = Network(seed: 63)
        let quantized = try! network.quantize(calibrationWindows: raw, normalization: normalization)
        return NetworkModel(
            metadata: ModelMetadata(machineID: "pump-1", sensorNames: (1...8).map { "sensor \($0) (°C)" }, timeSteps: 32,
                                    calibrationWindowCount: raw.count, createdAt: Timestamp(millisecondsSinceEpoch: 1_795_000_000_123),
                                    notes: "test model"),
            normalization: normalization, threshold: 0.25, quantized: quantized, network: network)
    }()

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    @Test func roundTripThroughAFileKeepsEverythingAndScoresIdentically() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("pump-1.model")
        try Self.model.write(to: path)
        let loaded = try NetworkModel(contentsOf: path)
        #expect(loaded == Self.model)
        let window = SyntheticMachine(sensorCount: 8, seed: 61).windows(count: 1, seed: 99)[0]
        let workspace = ScoringWorkspace()
        #expect(loaded.score(window, workspace: workspace).bitPattern == Self.model.score(window, workspace: workspace).bitPattern)
        // Without float weights the file is smaller and still loads.
        var slim = Self.model
        slim.network = nil
        let slimBytes = slim.encoded()
        #expect(try NetworkModel(decoding: slimBytes) == slim)
        #expect(slimBytes.count < Self.model.encoded().count)
    }

    @Test func int8ModelFileForEightSensorsIsUnder32KB() {
        var slim = Self.model
        slim.network = nil
        #expect(slim.encoded().count <= 32 * 1024, "\(slim.encoded().count) bytes")
        #expect(Self.model.encoded().count <= 32 * 1024, "with float weights: \(Self.model.encoded().count) bytes")
    }

    @Test func everyTruncationIsRefusedAsTruncated() {
        let bytes = Self.model.encoded()
        for length in Array(0..<64) + stride(from: 64, to: bytes.count, by: 97).map({ $0 }) + [bytes.count - 1] {
            #expect(throws: ModelFileError.self) { try NetworkModel(decoding: Array(bytes.prefix(length))) }
            do {
                _ = try NetworkModel(decoding: Array(bytes.prefix(length)))
            } catch {
                let expected: Set<ModelFileError.Code> = length < 8 ? [.notAModelFile] : [.truncated]
                #expect(expected.contains(error.code), "length \(length): \(error)")
            }
        }
    }

    @Test func everySingleByteCorruptionIsRefused() {
        let bytes = Self.model.encoded()
        var rng = SeededGenerator(seed: 5)
        for position in Array(8..<bytes.count).shuffled(using: &rng).prefix(400) {
            var corrupted = bytes
            corrupted[position] ^= UInt8(1 << rng.nextIndex(below: 8))
            do {
                _ = try NetworkModel(decoding: corrupted)
                Issue.record("corruption at byte \(position) was accepted")
            } catch {
                // The version and length fields are checked before the checksum.
                #expect([.checksumMismatch, .unsupportedVersion, .truncated, .invalidContents].contains(error.code), "byte \(position): \(error)")
            }
        }
    }

    @Test func wrongVersionIsRefusedWithItsOwnCode() {
        var bytes = Self.model.encoded()
        bytes[8] = 2
        // Recompute the checksum so only the version is wrong.
        let body = Array(bytes.dropLast(4))
        let crc = CRC32.checksum(body)
        bytes = body + (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt32($0))) }
        do {
            _ = try NetworkModel(decoding: bytes)
            Issue.record("version 2 accepted")
        } catch {
            #expect(error.code == .unsupportedVersion)
            #expect(error.message.contains("version 2"))
        }
    }

    @Test(arguments: [
        ("a JSON file", Array("{\"machine\": \"pump-1\"}".utf8)),
        ("a PNG header", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]),
        ("an empty file", []),
    ] as [(String, [UInt8])])
    func foreignFilesAreRefusedAsNotAModelFile(_ name: String, _ bytes: [UInt8]) {
        do {
            _ = try NetworkModel(decoding: bytes)
            Issue.record("\(name) accepted")
        } catch {
            #expect(error.code == .notAModelFile, "\(name): \(error)")
        }
    }

    @Test func validChecksumWithImpossibleContentsIsRefused() {
        var bytes = Self.model.encoded()
        // The first architecture field (feature count, at offset 16) set to 9.
        bytes[16] = 9
        let body = Array(bytes.dropLast(4))
        let crc = CRC32.checksum(body)
        bytes = body + (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt32($0))) }
        do {
            _ = try NetworkModel(decoding: bytes)
            Issue.record("impossible model accepted")
        } catch {
            #expect(error.code == .invalidContents)
        }
    }

    @Test func missingAndUnwritablePathsAreIOErrors() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            try Self.model.write(to: directory.file("no/such/folder/x.model"))
            Issue.record("write into a missing folder succeeded")
        } catch {
            #expect(error.code == .io)
        }
        do {
            _ = try NetworkModel(contentsOf: directory.file("absent.model"))
        } catch {
            #expect(error.code == .io)
            #expect(error.message.contains("absent.model"))
        }
    }
}
