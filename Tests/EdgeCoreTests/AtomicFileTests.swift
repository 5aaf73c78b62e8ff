import EdgeCore
import Foundation
import Testing

@Suite struct AtomicFileTests {
    /// A fresh directory under the temp dir (EdgeCoreTests has no TestSupport dependency).
    private func makeDirectory() throws -> String {
        let path = "\(FileManager.default.temporaryDirectory.path)/edge-agent-atomic-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func replacesWholeFileAndLeavesNoTemporary() throws {
        let dir = try makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/metrics.prom"
        try AtomicFile.write("a 1\n", to: path)
        try AtomicFile.write("a 2\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a 2\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["metrics.prom"])
    }

    @Test func missingDirectoryIsAnError() {
        #expect(throws: AtomicFileError.self) { try AtomicFile.write("x", to: "/nonexistent-edge-agent/x.json") }
    }

    /// rename(2) onto a non-empty directory fails after the temporary was fully written:
    /// the error names the step, and the temporary is gone.
    @Test func failedRenameLeavesNoTemporary() throws {
        let dir = try makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/report.json/inner", withIntermediateDirectories: true)
        do {
            try AtomicFile.write("{}", to: "\(dir)/report.json")
            Issue.record("writing over a non-empty directory succeeded")
        } catch {
            #expect(error.operation == "rename")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["report.json"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/report.json") == ["inner"])
    }

    /// Binary contents (model and detector files): every byte, zeros and invalid UTF-8 included,
    /// arrives as written, with the requested mode, and no temporary is left.
    @Test func writesBytesExactlyWithTheMode() throws {
        let dir = try makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes: [UInt8] = [0x89, 0x45, 0, 0xFF, 0xC3, 0x28, 0, 10] + (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try bytes.withUnsafeBytes { try AtomicFile.write(bytes: $0, to: "\(dir)/m.model", mode: 0o600) }
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/m.model"))) == bytes)
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(dir)/m.model")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.model"])
    }
}
