import Foundation
import Testing
import TestSupport

@testable import Store

/// Kills a writer process with SIGKILL at random moments and checks that the file is sound and
/// every batch whose commit was reported is there.
@Suite struct CrashSafetyTests {
    static let writerBinary = builtExecutable(named: "edge-bench") ?? repositoryRoot() + "/.build/debug/edge-bench"
    static let sensorsPerBatch = 10  // crashWriterSensors in Sources/edge-bench/StoreCrashWriter.swift

    @Test func everyReportedCommitSurvivesSIGKILL() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.writerBinary),
            "\(Self.writerBinary) is missing: build it with `swift build` (swift test builds it too)")
        let db = try TestDatabase()
        defer { db.remove() }
        var generator = SystemRandomNumberGenerator()
        var totalCommitted: UInt64 = 0
        for run in 1...20 {
            let outputFile = db.directory.file("writer-\(run).out")
            let process = try ChildProcess(
                Self.writerBinary, ["store-crash-writer", db.path, String(run)], outputFile: outputFile, errorFile: "/dev/null")
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...600, using: &generator)))
            process.killAndWait()
            #expect(process.terminationReason == .uncaughtSignal, "run \(run): the writer exited by itself (\(process.terminationStatus))")
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: outputFile)), as: UTF8.self)
            let reported = text.split(separator: "\n").compactMap { line -> UInt64? in
                // A line cut by the kill is ignored: only complete lines were reported.
                line.hasPrefix("committed ") ? UInt64(line.dropFirst("committed ".count)) : nil
            }
            let committed = reported.max() ?? 0
            totalCommitted += committed

            // The checks are synchronous SQLite calls over a file that grows every run: on a
            // thread of their own, not one of the test process's two cooperative ones (under
            // load, one such check once held its thread for about 10 minutes, and every other
            // test waited for the one left).
            let path = db.path
            let base = Int64(run) * 1_000_000_000
            let (integrity, present, partial) = try await onOwnThread("crash-check") {
                let integrity = try BufferDatabase(path: path).integrityCheck()
                let connection = try SQLiteConnection(path: path, mode: .readOnly)
                let present = try connection.integer(
                    "SELECT count(*) FROM readings WHERE t_ms BETWEEN \(base + 1) AND \(base + Int64(committed))") ?? -1
                // Each stored batch is whole: a transaction never leaves part of a batch behind.
                let partial = try connection.integer("""
                    SELECT count(*) FROM (SELECT t_ms FROM readings WHERE t_ms > \(base) AND t_ms < \(base + 1_000_000_000)
                    GROUP BY t_ms HAVING count(*) <> \(Self.sensorsPerBatch))
                    """)
                return (integrity, present, partial)
            }
            #expect(integrity == "ok", "run \(run)")
            #expect(present == Int64(committed) * Int64(Self.sensorsPerBatch), "run \(run): \(committed) batches reported")
            #expect(partial == 0, "run \(run)")
        }
        #expect(totalCommitted > 0, "the writer never reported a commit")
    }
}
