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
            let lifetime = Int.random(in: 150...600, using: &generator)
            let path = db.path
            let base = Int64(run) * 1_000_000_000
            // Start, kill and check on a thread of its own, not on the test process's two
            // cooperative threads: a `Task.sleep` there ends only when a thread is free, and in
            // whole-suite runs, while tests computing on the pool held both for minutes, the
            // writer, meant to live 150-600 ms, appended flat out for minutes (2026-12-01: the
            // first run's writer lived about 4 minutes, the file reached 936 MB, and this test
            // ended the 785.6 s run about 270 s after every other test, integrity-checking that
            // file 20 times). The checks are synchronous SQLite calls: on this thread too, for
            // the same reason (under load, one such check once held its thread for about 10
            // minutes, and every other test waited for the one left).
            let outcome = try await onOwnThread("crash-run") { () throws -> (killed: Bool, status: Int32, committed: UInt64, integrity: String, present: Int64, partial: Int64?) in
                let process = try ChildProcess(
                    Self.writerBinary, ["store-crash-writer", path, String(run)], outputFile: outputFile, errorFile: "/dev/null")
                usleep(useconds_t(lifetime * 1000))
                process.killAndWait()
                let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: outputFile)), as: UTF8.self)
                let reported = text.split(separator: "\n").compactMap { line -> UInt64? in
                    // A line cut by the kill is ignored: only complete lines were reported.
                    line.hasPrefix("committed ") ? UInt64(line.dropFirst("committed ".count)) : nil
                }
                let committed = reported.max() ?? 0
                let integrity = try BufferDatabase(path: path).integrityCheck()
                let connection = try SQLiteConnection(path: path, mode: .readOnly)
                let present = try connection.integer(
                    "SELECT count(*) FROM readings WHERE t_ms BETWEEN \(base + 1) AND \(base + Int64(committed))") ?? -1
                // Each stored batch is whole: a transaction never leaves part of a batch behind.
                let partial = try connection.integer("""
                    SELECT count(*) FROM (SELECT t_ms FROM readings WHERE t_ms > \(base) AND t_ms < \(base + 1_000_000_000)
                    GROUP BY t_ms HAVING count(*) <> \(Self.sensorsPerBatch))
                    """)
                return (process.terminationReason == .uncaughtSignal, process.terminationStatus, committed, integrity, present, partial)
            }
            #expect(outcome.killed, "run \(run): the writer exited by itself (\(outcome.status))")
            totalCommitted += outcome.committed
            #expect(outcome.integrity == "ok", "run \(run)")
            #expect(outcome.present == Int64(outcome.committed) * Int64(Self.sensorsPerBatch), "run \(run): \(outcome.committed) batches reported")
            #expect(outcome.partial == 0, "run \(run)")
        }
        #expect(totalCommitted > 0, "the writer never reported a commit")
    }
}
