import Configuration
import EdgeCore
import Foundation
import Testing

@testable import Store

@Suite struct SchemaTests {
    @Test func databasePathIsInTheDataDirectory() {
        #expect(Store.databasePath(dataDirectory: "/var/lib/edge-agent") == "/var/lib/edge-agent/edge-agent.db")
        #expect(Store.databasePath(dataDirectory: "/data/") == "/data/edge-agent.db")
    }

    @Test func freshFileIsMigratedToTheCurrentVersion() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        _ = try BufferDatabase(path: db.path)
        #expect(try queryInteger(db.path, "PRAGMA user_version") == Int64(Store.schemaVersion))
        for table in ["machines", "sensors", "readings", "alerts", "models", "calibrations", "kv", "schema_history"] {
            #expect(try queryInteger(db.path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '\(table)'") == 1, "\(table)")
        }
        #expect(try queryInteger(db.path, "PRAGMA auto_vacuum") == 2)  // INCREMENTAL
        let connection = try SQLiteConnection(path: db.path, mode: .readOnly)
        #expect(try connection.text("PRAGMA journal_mode") == "wal")
        #expect(try connection.text("SELECT agent_version FROM schema_history WHERE version = 1") == EdgeAgentVersion.string)
    }

    @Test func existingVersionZeroFileIsMigrated() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        // A file SQLite knows but with no schema of ours yet (user_version 0, another table).
        try SQLiteConnection(path: db.path, mode: .readWriteCreate).execute("CREATE TABLE unrelated(x); INSERT INTO unrelated VALUES (1)")
        #expect(try queryInteger(db.path, "PRAGMA user_version") == 0)
        let buffer = try BufferDatabase(path: db.path)
        #expect(try queryInteger(db.path, "PRAGMA user_version") == Int64(Store.schemaVersion))
        try buffer.setValue("v", forKey: "k")
        #expect(try buffer.value(forKey: "k") == "v")
        #expect(try queryInteger(db.path, "SELECT x FROM unrelated") == 1)
        // Opening again does not run migrations twice.
        _ = try BufferDatabase(path: db.path)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM schema_history") == Int64(Store.schemaVersion))
    }

    @Test func newerSchemaIsRefusedNamingTheWriter() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        _ = try BufferDatabase(path: db.path)
        let newer = Store.schemaVersion + 1
        try SQLiteConnection(path: db.path, mode: .readWrite).execute("""
            INSERT INTO schema_history VALUES (\(newer), '9.9.9', 0); PRAGMA user_version = \(newer)
            """)
        for access in [BufferDatabase.Access.readWrite, .readOnly] {
            let error = #expect(throws: StoreError.self) { _ = try BufferDatabase(path: db.path, access: access) }
            #expect(error?.code == .schemaTooNew)
            #expect(error?.message.contains("edge-agent 9.9.9") == true)
            #expect(error?.message.contains("schema version \(newer)") == true)
        }
        let writerError = #expect(throws: StoreError.self) {
            _ = try ReadingWriter(path: db.path, mapping: SensorMapping(machineNames: [], slotStart: [0], ids: [], names: []))
        }
        #expect(writerError?.code == .schemaTooNew)
        // Nothing was changed by the refused opens.
        #expect(try queryInteger(db.path, "PRAGMA user_version") == Int64(newer))
    }

    @Test func readOnlyOpenOfAnEmptyFileSaysWhatToDo() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        try SQLiteConnection(path: db.path, mode: .readWriteCreate).execute("PRAGMA user_version = 0")
        let error = #expect(throws: StoreError.self) { _ = try BufferDatabase(path: db.path, access: .readOnly) }
        #expect(error?.code == .notInitialized)
        let missing = #expect(throws: SQLiteError.self) { _ = try BufferDatabase(path: db.path + ".missing", access: .readOnly) }
        #expect(missing?.reason == .cannotOpen)
    }
}

@Suite struct RoundTripTests {
    @Test func sensorsAreRegisteredOnceWithStableIDs() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        let configuration = makeConfiguration(machines: 2, sensors: 3)
        let first = try buffer.registerSensors(configuration)
        #expect(first.machineNames == ["m0", "m1"])
        let ids = (0..<2).flatMap { m in (0..<3).map { first.sensorID(machine: Int32(m), sensor: Int32($0)) } }
        #expect(Set(ids.compactMap { $0 }).count == 6)
        #expect(first.sensorID(machine: 0, sensor: 3) == nil)
        #expect(first.sensorID(machine: 2, sensor: 0) == nil)
        #expect(first.sensorID(machine: -1, sensor: 0) == nil)
        #expect(first.sensorNames(ofMachine: 1) == ["s0", "s1", "s2"])

        // A sensor added to m0 later gets a new id; the old ones keep theirs.
        var grown = configuration
        grown.machines[0].sensors.append(SensorConfiguration(name: "extra", bus: "bus", address: 9))
        let second = try buffer.registerSensors(grown)
        #expect(second.sensorID(machine: 0, sensor: 0) == first.sensorID(machine: 0, sensor: 0))
        #expect(second.sensorID(machine: 1, sensor: 2) == first.sensorID(machine: 1, sensor: 2))
        #expect(second.sensorID(machine: 0, sensor: 3) != nil)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM sensors") == 7)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM machines") == 2)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM sensors WHERE unit = 'bar'") == 6)

        // A read-only lookup sees the same ids, and no id for sensors never registered.
        let reader = try BufferDatabase(path: db.path, access: .readOnly)
        var unknown = grown
        unknown.machines[1].sensors.append(SensorConfiguration(name: "never", bus: "bus", address: 10))
        let looked = try reader.lookUpSensors(unknown)
        #expect(looked.sensorID(machine: 0, sensor: 3) == second.sensorID(machine: 0, sensor: 3))
        #expect(looked.sensorID(machine: 1, sensor: 3) == nil)
    }

    @Test func alertsRoundTripWithFiltersLabelsAndStates() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        let t0 = Timestamp(millisecondsSinceEpoch: 1_780_000_000_000)
        var a = AlertRecord(
            machine: "pump1", kind: "anomaly", severity: "warning", started: t0, peakScore: 3.5, threshold: 2.0,
            details: #"{"sensors":["p"]}"#)
        a.id = try buffer.insertAlert(a)
        let b = AlertRecord(
            id: try buffer.insertAlert(AlertRecord(
                machine: "motor2", kind: "sensor_offline", severity: "critical",
                started: Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + 60_000), peakScore: 0, threshold: 0)),
            machine: "motor2", kind: "sensor_offline", severity: "critical",
            started: Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + 60_000), peakScore: 0, threshold: 0)
        #expect(try buffer.alert(id: a.id) == a)
        #expect(try buffer.alerts() == [b, a])
        #expect(try buffer.alerts(AlertFilter(machine: "pump1")) == [a])
        #expect(try buffer.alerts(AlertFilter(since: b.started)) == [b])
        #expect(try buffer.alerts(AlertFilter(limit: 1)) == [b])

        try buffer.acknowledge(alert: a.id, by: "maria", at: t0)
        try buffer.setLabel(alert: a.id, label: true, note: "bearing replaced")
        var expected = a
        expected.state = .acknowledged
        expected.acknowledgedBy = "maria"
        expected.acknowledgedAt = t0
        expected.label = true
        expected.note = "bearing replaced"
        #expect(try buffer.alert(id: a.id) == expected)
        #expect(try buffer.alerts(AlertFilter(state: .acknowledged)) == [expected])

        try buffer.setLabel(alert: a.id, label: false)
        #expect(try buffer.alert(id: a.id)?.label == false)
        #expect(try buffer.alert(id: a.id)?.note == "bearing replaced")
        try buffer.setLabel(alert: a.id, label: nil)
        #expect(try buffer.alert(id: a.id)?.label == nil)

        let end = Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + 5_000)
        try buffer.clear(alert: a.id, ended: end)
        #expect(try buffer.alert(id: a.id)?.state == .cleared)
        #expect(try buffer.alert(id: a.id)?.ended == end)
        try buffer.acknowledge(alert: a.id)
        #expect(try buffer.alert(id: a.id)?.state == .cleared)

        var updated = try #require(try buffer.alert(id: b.id))
        updated.peakScore = 9.25
        updated.details = #"{"x":1}"#
        try buffer.updateAlert(updated)
        #expect(try buffer.alert(id: b.id) == updated)

        let missing = #expect(throws: StoreError.self) { try buffer.acknowledge(alert: 999) }
        #expect(missing?.code == .invalidArgument)
        #expect(try buffer.alert(id: 999) == nil)
    }

    @Test func latestModelPerMachine() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        #expect(try buffer.latestModel(machine: "pump1") == nil)
        var old = ModelRecord(
            machine: "pump1", created: Timestamp(millisecondsSinceEpoch: 1000), windows: 500, threshold: 1.5,
            blob: Array(0..<200), metadata: #"{"v":1}"#)
        old.id = try buffer.saveModel(old)
        var new = ModelRecord(machine: "pump1", created: Timestamp(millisecondsSinceEpoch: 2000), windows: 800, threshold: 1.25, blob: [])
        new.id = try buffer.saveModel(new)
        var other = ModelRecord(machine: "motor2", created: Timestamp(millisecondsSinceEpoch: 3000), windows: 1, threshold: 9, blob: [7])
        other.id = try buffer.saveModel(other)
        #expect(try buffer.latestModel(machine: "pump1") == new)
        #expect(try buffer.latestModel(machine: "motor2") == other)
    }

    @Test func calibrationRecords() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        var ok = CalibrationRecord(
            machine: "pump1", started: Timestamp(millisecondsSinceEpoch: 1000), finished: Timestamp(millisecondsSinceEpoch: 9000),
            windows: 300, threshold: 2.5, outcome: "ok")
        ok.id = try buffer.recordCalibration(ok)
        var failed = CalibrationRecord(
            machine: "pump1", started: Timestamp(millisecondsSinceEpoch: 20_000), finished: Timestamp(millisecondsSinceEpoch: 21_000),
            windows: 3, threshold: nil, outcome: "too few windows", details: #"{"needed":100}"#)
        failed.id = try buffer.recordCalibration(failed)
        #expect(try buffer.calibrations(machine: "pump1") == [failed, ok])
        #expect(try buffer.calibrations(machine: "motor2") == [])
        #expect(try buffer.calibrations().count == 2)
    }

    @Test func keyValueState() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        #expect(try buffer.value(forKey: "last_summary") == nil)
        try buffer.setValue("2026-11-29T00:00:00.000Z", forKey: "last_summary")
        try buffer.setValue("2026-11-29T01:00:00.000Z", forKey: "last_summary")
        #expect(try buffer.value(forKey: "last_summary") == "2026-11-29T01:00:00.000Z")
        // Another connection sees it (it is on disk).
        #expect(try BufferDatabase(path: db.path, access: .readOnly).value(forKey: "last_summary") == "2026-11-29T01:00:00.000Z")
        try buffer.setValue(nil, forKey: "last_summary")
        #expect(try buffer.value(forKey: "last_summary") == nil)
    }
}
