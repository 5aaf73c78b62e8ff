import EdgeCore
import Foundation
import Runtime
import TestSupport
import Testing

@Suite struct AlertLogTests {
    func event(_ i: Int) -> AlertEvent {
        AlertEvent(
            change: .raised, time: Timestamp(millisecondsSinceEpoch: Int64(i) * 1000),
            alert: Alert(id: "m-\(i)", machine: "m", kind: .anomaly, severity: .warning,
                         started: Timestamp(millisecondsSinceEpoch: Int64(i) * 1000), peakScore: 2, threshold: 1,
                         message: "line \(i) with \"quotes\" and a\nnewline")
        )
    }

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func appendsParsableLinesWithPrivateMode() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("logs/alerts.jsonl")
        let log = try AlertLog(path: path)
        for i in 0..<3 { try log.append(event(i)) }
        let all = try lines(path)
        #expect(all.count == 4 && all.last == "")
        for line in all.dropLast() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["machine"] as? String == "m")
            #expect((object?["message"] as? String)?.contains("\n") == true)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }

    @Test func repairsTornLastLineOnOpen() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("alerts.jsonl")
        do {
            let log = try AlertLog(path: path)
            try log.append(event(1))
            try log.append(event(2))
        }
        // A crash mid-write leaves half a line.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"event":"raised","ti"#.utf8))
        handle.closeFile()
        let log = try AlertLog(path: path)
        #expect(log.repairedBytes == 21)
        try log.append(event(3))
        let all = try lines(path).dropLast()
        #expect(all.count == 3)
        for line in all { _ = try JSONSerialization.jsonObject(with: Data(line.utf8)) }
    }

    @Test func repairsFileThatIsOnlyATornLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("alerts.jsonl")
        try Data(#"{"event":"rai"#.utf8).write(to: URL(fileURLWithPath: path))
        let log = try AlertLog(path: path)
        #expect(log.repairedBytes == 13)
        try log.append(event(1))
        #expect(try lines(path).count == 2)
    }

    @Test func rotatesBySizeKeepingNFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("alerts.jsonl")
        let log = try AlertLog(path: path, maxBytes: 4096, keepFiles: 2)
        for i in 0..<200 { try log.append(event(i)) }
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: path + ".1"))
        #expect(fm.fileExists(atPath: path + ".2"))
        #expect(!fm.fileExists(atPath: path + ".3"))
        for file in [path, path + ".1", path + ".2"] {
            let size = try #require(try fm.attributesOfItem(atPath: file)[.size] as? Int)
            #expect(size <= 4096)
        }
        // The newest event is the last line of the live file; nothing in between is torn.
        let last = try #require(try lines(path).dropLast().last)
        #expect(last.contains(#""id":"m-199""#))
    }

    @Test func unwritableDirectoryIsAClearError() throws {
        let error = #expect(throws: AlertLogError.self) { try AlertLog(path: "/proc/edge-agent-test/alerts.jsonl") }
        #expect(error?.description.contains("/proc/edge-agent-test") == true)
    }
}
