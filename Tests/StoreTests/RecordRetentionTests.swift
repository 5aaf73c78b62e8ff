import Configuration
import EdgeCore
import Foundation
import Testing
import TestSupport

@testable import Store

/// Retention of alerts, models and calibration records, on a real SQLite file.
@Suite struct RecordRetentionTests {
    static let now: Int64 = 1_780_000_000_000
    static let day: Int64 = 86_400_000

    static func alert(_ state: AlertState, startedDaysAgo started: Int64, endedDaysAgo ended: Int64?, machine: String = "m0") -> AlertRecord {
        AlertRecord(
            machine: machine, kind: "anomaly", severity: "warning", state: state,
            started: Timestamp(millisecondsSinceEpoch: now - started * day),
            ended: ended.map { Timestamp(millisecondsSinceEpoch: now - $0 * day) }, peakScore: 2, threshold: 1)
    }

    /// A writer that only maintains the tables (no readings retention), checking every 20 ms.
    static func writer(_ db: TestDatabase, configure: (inout ReadingWriter.Options) -> Void) throws -> ReadingWriter {
        let mapping = try BufferDatabase(path: db.path).registerSensors(makeConfiguration(machines: 1, sensors: 4))
        var options = ReadingWriter.Options()
        options.retentionCheckInterval = .milliseconds(20)
        configure(&options)
        return try ReadingWriter(
            path: db.path, mapping: mapping, options: options, clock: FixedClock(time: Timestamp(millisecondsSinceEpoch: now)))
    }

    @Test func clearedAlertsPastTheAgeGoOpenAcknowledgedAndRecentStay() async throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        let expired = try buffer.insertAlert(Self.alert(.cleared, startedDaysAgo: 400, endedDaysAgo: 399))
        let expiredToo = try buffer.insertAlert(Self.alert(.cleared, startedDaysAgo: 366, endedDaysAgo: 366))
        let recent = try buffer.insertAlert(Self.alert(.cleared, startedDaysAgo: 10, endedDaysAgo: 9))
        // Started long ago but ended within the year: kept (age counts from the end).
        let longLasting = try buffer.insertAlert(Self.alert(.cleared, startedDaysAgo: 500, endedDaysAgo: 30))
        let open = try buffer.insertAlert(Self.alert(.open, startedDaysAgo: 600, endedDaysAgo: nil))
        let acknowledged = try buffer.insertAlert(Self.alert(.acknowledged, startedDaysAgo: 700, endedDaysAgo: nil))
        try buffer.setLabel(alert: expired, label: true, note: "bearing")

        let writer = try Self.writer(db) { $0.alertRetentionAge = .seconds(365 * 86_400) }
        #expect(await eventually(within: 20) { writer.statistics.deletedAlerts == 2 })
        try await Task.sleep(for: .milliseconds(100))  // a few more checks: nothing else goes
        #expect(writer.statistics.deletedAlerts == 2)
        #expect(writer.close(timeout: .seconds(10)) == 0)
        let left = try BufferDatabase(path: db.path, access: .readOnly).alerts().map(\.id).sorted()
        #expect(left == [recent, longLasting, open, acknowledged].sorted())
        #expect(!left.contains(expired) && !left.contains(expiredToo))
    }

    @Test func theCountBoundDeletesTheOldestClearedAlertsOnly() async throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        // Three open alerts older than everything else, then 15 cleared ones (1 day apart).
        let open = try (0..<3).map { try buffer.insertAlert(Self.alert(.open, startedDaysAgo: 100 + Int64($0), endedDaysAgo: nil)) }
        let cleared = try (0..<15).map { i in
            try buffer.insertAlert(Self.alert(.cleared, startedDaysAgo: 50 - Int64(i), endedDaysAgo: 49 - Int64(i), machine: "m\(i % 2)"))
        }
        let writer = try Self.writer(db) {
            $0.alertRetentionAge = .seconds(365 * 86_400)
            $0.alertRetentionCount = 10
        }
        #expect(await eventually(within: 20) { writer.statistics.deletedAlerts == 8 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(writer.statistics.deletedAlerts == 8)
        #expect(writer.close(timeout: .seconds(10)) == 0)
        let left = try BufferDatabase(path: db.path, access: .readOnly).alerts().map(\.id).sorted()
        // 18 alerts, bound 10: the 8 oldest cleared go, the open ones stay whatever their age.
        #expect(left == (open + cleared.suffix(7)).sorted())
    }

    @Test func onlyOpenAlertsOverTheCountAreKept() async throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        for i in 0..<6 { _ = try buffer.insertAlert(Self.alert(.open, startedDaysAgo: Int64(i), endedDaysAgo: nil)) }
        let writer = try Self.writer(db) { $0.alertRetentionCount = 2 }
        try await Task.sleep(for: .milliseconds(200))
        #expect(writer.statistics.deletedAlerts == 0)
        #expect(writer.close(timeout: .seconds(10)) == 0)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM alerts") == 6)
    }

    @Test func aHugeBacklogIsDeletedInChunksOfTheChunkSize() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        _ = try BufferDatabase(path: db.path)
        let connection = try SQLiteConnection(path: db.path, mode: .readWriteCreate)
        try Self.insertClearedAlerts(connection, count: 5_250, endedDaysAgo: 400)
        try connection.execute(
            "INSERT INTO alerts(machine, kind, severity, state, started_ms, peak_score, threshold) VALUES ('m0', 'anomaly', 'warning', 'open', \(Self.now - 500 * Self.day), 2, 1)")
        var options = ReadingWriter.Options()
        options.alertRetentionAge = .seconds(365 * 86_400)
        options.deleteChunkRecords = 500
        let retention = try RecordRetention(
            connection: connection, options: options, clock: FixedClock(time: Timestamp(millisecondsSinceEpoch: Self.now)))
        var chunks: [RecordRetention.Outcome] = []
        repeat {
            chunks.append(try retention.deleteChunk())
        } while chunks.last?.more == true && chunks.count < 100
        // Ten full chunks, then the last 250 and nothing left over the bound.
        #expect(chunks.count == 11)
        #expect(chunks.dropLast().allSatisfy { $0 == RecordRetention.Outcome(alerts: 500, modelsAndCalibrations: 0, more: true) })
        #expect(chunks.last == RecordRetention.Outcome(alerts: 250, modelsAndCalibrations: 0, more: false))
        #expect(try connection.integer("SELECT count(*) FROM alerts") == 1)
        #expect(try connection.integer("SELECT count(*) FROM alerts WHERE state = 'open'") == 1)
    }

    @Test func readingsAndAlertsKeepFlowingWhileABacklogIsPruned() async throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        do {
            let connection = try SQLiteConnection(path: db.path, mode: .readWriteCreate)
            try Self.insertClearedAlerts(connection, count: 100_000, endedDaysAgo: 400)
        }
        let writer = try Self.writer(db) {
            $0.alertRetentionAge = .seconds(365 * 86_400)
            $0.deleteChunkRecords = 500
        }
        // While the writer works through 200 chunks, readings and new alerts still get in.
        var newAlerts: [Int64] = []
        for i in 0..<50 {
            let time = Self.now + Int64(i) * 1000
            _ = writer.append(poll(machine: 0, sensors: 4, time: time))
            #expect(await writer.committed(within: .seconds(30)))
            if i % 10 == 0 { newAlerts.append(try buffer.insertAlert(Self.alert(.open, startedDaysAgo: 0, endedDaysAgo: nil))) }
        }
        #expect(await eventually(within: 60) { writer.statistics.deletedAlerts == 100_000 })
        #expect(writer.close(timeout: .seconds(10)) == 0)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM readings") == 200)
        #expect(try BufferDatabase(path: db.path, access: .readOnly).alerts().map(\.id).sorted() == newAlerts)
        #expect(try BufferDatabase(path: db.path, access: .readOnly).integrityCheck() == "ok")
    }

    @Test func modelsAndCalibrationsAreKeptPerMachineNewestFirst() async throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        var pumpModels: [ModelRecord] = []
        for i in 0..<8 {
            var model = ModelRecord(machine: "pump", created: Timestamp(millisecondsSinceEpoch: Int64(i) * 1000), windows: i, threshold: 1, blob: Array(repeating: UInt8(i), count: 4096))
            model.id = try buffer.saveModel(model)
            pumpModels.append(model)
        }
        var motor = ModelRecord(machine: "motor", created: Timestamp(millisecondsSinceEpoch: 0), windows: 1, threshold: 1, blob: [1])
        motor.id = try buffer.saveModel(motor)
        var calibrations: [CalibrationRecord] = []
        for i in 0..<4 {
            var record = CalibrationRecord(
                machine: "pump", started: Timestamp(millisecondsSinceEpoch: Int64(i) * 1000),
                finished: Timestamp(millisecondsSinceEpoch: Int64(i) * 1000 + 500), windows: i, threshold: 1, outcome: "ok")
            record.id = try buffer.recordCalibration(record)
            calibrations.append(record)
        }
        let writer = try Self.writer(db) {
            $0.modelsKeptPerMachine = 3
            $0.calibrationsKeptPerMachine = 2
        }
        #expect(await eventually(within: 20) { writer.statistics.deletedModelsAndCalibrations == 7 })
        #expect(writer.close(timeout: .seconds(10)) == 0)
        let reader = try BufferDatabase(path: db.path, access: .readOnly)
        #expect(try reader.latestModel(machine: "pump") == pumpModels.last)
        #expect(try reader.latestModel(machine: "motor") == motor)
        let keptPump = try SQLiteConnection(path: db.path, mode: .readOnly).text(
            "SELECT group_concat(windows, ',') FROM (SELECT windows FROM models WHERE machine = 'pump' ORDER BY windows)")
        #expect(keptPump == "5,6,7")
        #expect(try reader.calibrations(machine: "pump") == Array(calibrations.suffix(2).reversed()))
    }

    @Test func theAgentsSettingsBoundEveryGrowingTable() {
        var settings = AgentSettings()
        settings.alertRetentionAge = .seconds(90 * 86_400)
        settings.alertRetentionCount = 1234
        let options = ReadingWriter.Options(settings: settings)
        #expect(options.alertRetentionAge == .seconds(90 * 86_400))
        #expect(options.alertRetentionCount == 1234)
        #expect(options.modelsKeptPerMachine == ReadingWriter.Options.defaultModelsKeptPerMachine)
        #expect(options.calibrationsKeptPerMachine == ReadingWriter.Options.defaultCalibrationsKeptPerMachine)
        #expect(AgentSettings().alertRetentionAge == .seconds(365 * 86_400))
        #expect(ReadingWriter.Options().alertRetentionAge == nil && ReadingWriter.Options().alertRetentionCount == nil)
    }

    /// Inserts `count` cleared alerts in one transaction, all ended `endedDaysAgo` days ago.
    static func insertClearedAlerts(_ connection: SQLiteConnection, count: Int, endedDaysAgo: Int64) throws {
        let ended = now - endedDaysAgo * day
        try connection.execute("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count))
            INSERT INTO alerts(machine, kind, severity, state, started_ms, ended_ms, peak_score, threshold, details)
            SELECT 'm' || (i % 3), 'anomaly', 'warning', 'cleared', \(ended) - 60000 - i, \(ended) - i, 2, 1,
            '{"change":"cleared","message":"suction_pressure=0.825 bar (normal 0.251…0.253)"}' FROM n
            """)
    }
}
