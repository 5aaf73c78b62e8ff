#if canImport(Glibc)
import Glibc
#endif
import Configuration
import Detection
import EdgeCore
import Foundation
import Logging
@testable import Runtime
import Store
import Summaries
import TestSupport
import Testing

/// The ends of an alert's life that are not its condition ending: the agent stopping, an
/// operator's acknowledgement, a start-up interrupted while it ends alerts left open, and a new
/// model. Real SQLite files, the real alert log and, for the stop, the real `edge-agent run`
/// process and a real libmodbus server on loopback.
@Suite(.serialized) struct AlertLifecycleTests {
    static let stopReason = "agent stopped: condition no longer monitored"

    /// The alert log as parsed JSON objects, oldest first.
    static func events(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not a JSON object: \($0)")
        }
    }

    /// Waits (awaiting, not blocking the cooperative pool) until `condition` holds or `seconds` pass.
    static func eventually(within seconds: Double, _ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            guard await pauseUnlessCancelled(.milliseconds(50)) else { break }
        }
        return try condition()
    }

    // MARK: 1. A graceful stop ends every open alert

    /// SIGTERM to `edge-agent run` with data alerts open on two machines, one acknowledged: before the
    /// process exits, each gets one `cleared` event in the alert log with the stop's reason, and
    /// its row in the buffer is cleared with that event; the next start finds none left open and
    /// writes no second event for them.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3")), .timeLimit(.minutes(2)))
    func aGracefulStopEndsEveryOpenAlertBeforeTheProcessExits() async throws {
        let dir = try TemporaryDirectory(prefix: "alert-stop")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        // "press" reads 50 bar where 10 bar is the most its sensor can show; "ghost" is on a unit
        // the server does not serve: each has a data alert open within a second or two.
        try server.setRegisters([50], kind: .holding, unit: 1, address: 0)
        let config = dir.file("agent.conf")
        try (agentTable(dir.path) + loopbackBusTable("line", port: server.port, responseTimeout: "200ms") + """
            [[machine]]
            id = "press"
            poll_interval = "100ms"

              [[machine.sensor]]
              name = "pressure"
              unit = "bar"
              bus = "line"
              unit_id = 1
              address = 0
              max = 10

            [[machine]]
            id = "ghost"
            poll_interval = "100ms"

              [[machine.sensor]]
              name = "level"
              bus = "line"
              unit_id = 9
              address = 0

            """).write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try AgentProcessTests.startAgent(config: config, directory: dir.path)
        defer { agent.killAndWait() }
        let databasePath = dir.file("data/edge-agent.db")
        #expect(await Self.eventually(within: 30) { FileManager.default.fileExists(atPath: databasePath) })
        let database = try BufferDatabase(path: databasePath)
        func unended() throws -> [AlertRecord] {
            try database.alerts(AlertFilter(state: .open)) + database.alerts(AlertFilter(state: .acknowledged))
        }
        #expect(try await Self.eventually(within: 30) { Set(try unended().map(\.machine)) == ["press", "ghost"] },
                "no data alert for both machines: \((try? unended().map(\.machine)) ?? [])")
        let ghost = try #require(try unended().first { $0.machine == "ghost" })
        try database.acknowledge(alert: ghost.id)

        let stopping = Timestamp.now()
        let clock = ContinuousClock()
        let began = clock.now
        agent.terminate()  // SIGTERM, as `systemctl stop` sends
        #expect(await agent.waitForExit(seconds: 25), "the agent did not exit within 25 s of SIGTERM (systemd waits 30 s)")
        let elapsed = clock.now - began
        let stopSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(agent.terminationStatus == 0)
        let exited = Timestamp.now()

        // The buffer: every alert ended, at the stop, with the stop's event as its details.
        let stillOpen = try unended()
        #expect(stillOpen.isEmpty, "still open after the stop: \(stillOpen.map(\.kind))")
        let rows = try database.alerts()
        #expect(rows.count >= 2)
        for row in rows {
            #expect(row.state == .cleared)
            let ended = try #require(row.ended)
            #expect(ended >= stopping && ended <= exited, "\(row.kind) ended at \(ended), the stop was \(stopping)…\(exited)")
            #expect(row.details.contains("\"reason\":\"\(Self.stopReason)\""), "\(row.kind) details: \(row.details)")
        }
        let acknowledgedID = try #require(try database.alert(id: ghost.id).flatMap { StoredAlertDetails(of: $0)?.id })

        // The alert log: for each alert, one cleared event with the reason (and the
        // acknowledgement), the message saying it too; the journal says how many.
        let logPath = dir.file("alerts.jsonl")
        let lines = try Self.events(logPath)
        let ids = Set(lines.compactMap { $0["id"] as? String })
        #expect(ids.count == rows.count)
        for id in ids {
            let cleared = lines.filter { $0["id"] as? String == id && $0["event"] as? String == "cleared" }
            #expect(cleared.count == 1, "\(id): \(cleared.count) cleared events")
            #expect(cleared.first?["reason"] as? String == Self.stopReason)
            #expect((cleared.first?["message"] as? String)?.hasSuffix("; ended: \(Self.stopReason)") == true)
            let acknowledged = cleared.first?["acknowledged"] as? Bool ?? false
            #expect(acknowledged == (id == acknowledgedID), "\(id): acknowledged \(acknowledged)")
        }
        func journal() -> String { (try? String(contentsOfFile: dir.file("agent.log"), encoding: .utf8)) ?? "" }
        #expect(journal().contains("ended \(rows.count) open alert(s): \(Self.stopReason)"))

        // The next start finds nothing left open: no second event for these alerts.
        let again = try AgentProcessTests.startAgent(config: config, directory: dir.path)
        defer { again.killAndWait() }
        #expect(await Self.eventually(within: 30) {
            journal().components(separatedBy: "no alerts left open before this start").count == 3
        }, "the second start did not report finding no alert left open")
        again.terminate()
        #expect(await again.waitForExit(seconds: 25))
        let afterRestart = try Self.events(logPath)
        for id in ids {
            #expect(afterRestart.filter { $0["id"] as? String == id && $0["event"] as? String == "cleared" }.count == 1)
        }
        print("graceful stop with \(rows.count) open alerts: exited \(String(format: "%.2f", stopSeconds)) s after SIGTERM")
    }

    // MARK: 2. An acknowledged alert says so when it clears

    /// An alert raised, acknowledged by an operator (`edge-agent alerts`), escalated and then
    /// cleared by itself: its `updated` and `cleared` lines carry `acknowledged: true`, lines
    /// before the acknowledgement do not, and the row keeps the operator's label and note.
    @Test func anAcknowledgedAlertSaysSoInItsLaterEvents() throws {
        let dir = try TemporaryDirectory(prefix: "alert-ack")
        defer { dir.remove() }
        let databasePath = dir.file("edge-agent.db")
        let database = try BufferDatabase(path: databasePath)
        let logPath = dir.file("alerts.jsonl")
        let dispatcher = try AlertDispatcher(
            alertLog: try AlertLog(path: logPath), database: try BufferDatabase(path: databasePath), actions: [], counters: SharedCounters(),
            logger: Logger(label: "test"))
        defer { dispatcher.stop() }
        func at(_ second: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + second * 1000) }
        var alert = Alert(id: "pump-1-1800000000000", machine: "pump-1", kind: .anomaly, severity: .warning, started: at(0),
                          peakScore: 1.5, threshold: 1, message: "pump-1: anomaly")
        dispatcher.dispatch([AlertEvent(change: .raised, time: at(0), alert: alert)])
        dispatcher.drain()
        let row = try #require(try database.alerts().first)
        try database.acknowledge(alert: row.id)
        try database.setLabel(alert: row.id, label: true, note: "bearing")

        alert.severity = .critical
        alert.peakScore = 2.5
        dispatcher.dispatch([AlertEvent(change: .updated, time: at(10), alert: alert)])
        alert.ended = at(40)
        dispatcher.dispatch([AlertEvent(change: .cleared, time: at(40), alert: alert)])
        dispatcher.drain()

        let lines = try Self.events(logPath)
        #expect(lines.map { $0["event"] as? String } == ["raised", "updated", "cleared"])
        #expect(lines.map { $0["acknowledged"] as? Bool } == [nil, true, true])
        // It cleared by itself: no reason.
        #expect(lines.last?["reason"] == nil)
        let stored = try #require(try database.alert(id: row.id))
        #expect(stored.state == .cleared && stored.ended == at(40))
        #expect(stored.label == true && stored.note == "bearing")
        #expect(stored.details.contains("\"acknowledged\":true"))
    }

    /// Who acknowledged an alert and when reach the alert log and the `[[action]]` command: a
    /// real program (a shell script writing its environment to files) gets, for every event,
    /// exactly the line the alert log got, acknowledgement included.
    @Test func anActionGetsTheAcknowledgementTheLogLineCarries() throws {
        let dir = try TemporaryDirectory(prefix: "alert-ack-action")
        defer { dir.remove() }
        let databasePath = dir.file("edge-agent.db")
        let database = try BufferDatabase(path: databasePath)
        let logPath = dir.file("alerts.jsonl")
        let jsonOut = dir.file("action-json.txt"), ackOut = dir.file("action-ack.txt")
        // The test's own script (the agent runs it directly, without a shell) appends what it got.
        let script = #"printf '%s\n' "$EDGE_AGENT_JSON" >> "$0"; printf '%s|%s|%s|%s\n' "$EDGE_AGENT_EVENT" "$EDGE_AGENT_ACKNOWLEDGED" "${EDGE_AGENT_ACKNOWLEDGED_BY-unset}" "${EDGE_AGENT_ACKNOWLEDGED_AT-unset}" >> "$1""#
        let action = ConfiguredAction(
            work: .command(CommandAction(arguments: ["/bin/sh", "-c", script, jsonOut, ackOut], timeout: .seconds(10))),
            events: [.raised, .updated, .cleared], machines: [], minimumSeverity: .warning)
        let dispatcher = try AlertDispatcher(
            alertLog: try AlertLog(path: logPath), database: try BufferDatabase(path: databasePath), actions: [action], counters: SharedCounters(),
            logger: Logger(label: "test"))
        defer { dispatcher.stop() }
        func at(_ second: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + second * 1000) }
        var alert = Alert(id: "pump-1-1800000000000", machine: "pump-1", kind: .anomaly, severity: .warning, started: at(0),
                          peakScore: 1.5, threshold: 1, message: "pump-1: anomaly")
        dispatcher.dispatch([AlertEvent(change: .raised, time: at(0), alert: alert)])
        dispatcher.drain()
        let row = try #require(try database.alerts().first)
        try database.acknowledge(alert: row.id, by: "maria", at: at(3))
        // A second operator's acknowledgement does not replace the first.
        try database.acknowledge(alert: row.id, by: "joe", at: at(7))

        alert.severity = .critical
        alert.peakScore = 2.5
        dispatcher.dispatch([AlertEvent(change: .updated, time: at(10), alert: alert)])
        alert.ended = at(40)
        dispatcher.dispatch([AlertEvent(change: .cleared, time: at(40), alert: alert)])
        dispatcher.drain()

        let lines = try Self.events(logPath)
        #expect(lines.map { $0["event"] as? String } == ["raised", "updated", "cleared"])
        #expect(lines.map { $0["acknowledged"] as? Bool } == [nil, true, true])
        #expect(lines.map { $0["acknowledged_by"] as? String } == [nil, "maria", "maria"])
        #expect(lines.map { $0["acknowledged_at"] as? String } == [nil, at(3).iso8601, at(3).iso8601])
        // The action got the same lines, byte for byte, and the same fields as variables.
        let logText = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(try String(contentsOfFile: jsonOut, encoding: .utf8) == logText)
        #expect(try String(contentsOfFile: ackOut, encoding: .utf8).split(separator: "\n") == [
            "raised|false|unset|unset", "updated|true|maria|\(at(3).iso8601)", "cleared|true|maria|\(at(3).iso8601)",
        ])
        let stored = try #require(try database.alert(id: row.id))
        #expect(stored.state == .cleared && stored.acknowledgedBy == "maria" && stored.acknowledgedAt == at(3))
    }

    /// agent.conf for one pump with one pressure sensor, its buffer and alert log in `dir`
    /// (the data directory created), loaded: the start-up tests' agent.
    static func onePumpAgent(in dir: TemporaryDirectory) throws -> AgentConfiguration {
        let configPath = dir.file("agent.conf")
        try """
            [agent]
            data_dir = "\(dir.path)/data"
            alert_log = "\(dir.path)/alerts.jsonl"

            [[bus]]
            name = "line"
            type = "tcp"
            host = "127.0.0.1"
            port = 502

            [[machine]]
            id = "pump-1"

              [[machine.sensor]]
              name = "pressure"
              bus = "line"
              unit_id = 1
              address = 0

            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: configPath)
        try FileManager.default.createDirectory(atPath: configuration.agent.dataDirectory, withIntermediateDirectories: true)
        return configuration
    }

    // MARK: 3. Ending alerts left open survives an interrupted start-up

    /// A start-up killed after writing the `cleared` event of an alert left open and before
    /// storing its row: the next start stores the row from the event already in the log and
    /// writes no second one; the alerts not reached are ended as usual.
    @Test func anInterruptedStartUpWritesNoSecondClearedEvent() throws {
        let dir = try TemporaryDirectory(prefix: "alert-left-open")
        defer { dir.remove() }
        let configuration = try Self.onePumpAgent(in: dir)
        let databasePath = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
        let logPath = configuration.agent.alertLog

        // The killed run left three alerts open (their `raised` events in the log and the buffer).
        let base: Int64 = 1_800_000_000_000
        var ids: [String] = []
        do {
            let database = try BufferDatabase(path: databasePath)
            _ = try database.registerSensors(configuration)
            let log = try AlertLog(path: logPath)
            for k in 0..<3 {
                let started = Timestamp(millisecondsSinceEpoch: base + Int64(k) * 10_000)
                let alert = Alert(id: "pump-1-\(started.millisecondsSinceEpoch)", machine: "pump-1", kind: .anomaly,
                                  severity: .warning, started: started, peakScore: 2, threshold: 1, message: "alert \(k)")
                let raised = AlertEvent(change: .raised, time: started, alert: alert)
                try log.append(raised)
                _ = try database.insertAlert(AlertRecord(
                    machine: "pump-1", kind: "anomaly", severity: "warning", started: started, peakScore: 2, threshold: 1,
                    details: raised.jsonLine))
                ids.append(alert.id)
            }
        }
        struct Killed: Error {}
        let firstStart = Timestamp(millisecondsSinceEpoch: base + 3_600_000)

        // Start-up 1: killed right after the second alert's event reached the log.
        do {
            let database = try BufferDatabase(path: databasePath)
            let mapping = try database.registerSensors(configuration)
            let log = try AlertLog(path: logPath)
            var logged = 0
            #expect(throws: Killed.self) {
                _ = try AlertsLeftOpen.end(
                    database: database, mapping: mapping, configuration: configuration, alertLog: log, now: firstStart,
                    reason: AlertsLeftOpen.restartReason) { _ in
                        logged += 1
                        if logged == 2 { throw Killed() }
                    }
            }
            #expect(try database.alerts(AlertFilter(state: .open)).count == 2, "the second and third rows stay open")
        }

        // Start-up 2, a minute later, with the files as the kill left them.
        let database = try BufferDatabase(path: databasePath)
        let mapping = try database.registerSensors(configuration)
        let log = try AlertLog(path: logPath)
        let outcome = try AlertsLeftOpen.end(
            database: database, mapping: mapping, configuration: configuration, alertLog: log,
            now: Timestamp(millisecondsSinceEpoch: firstStart.millisecondsSinceEpoch + 60_000), reason: AlertsLeftOpen.restartReason)
        #expect(outcome.events.map(\.alert.id) == [ids[2]])
        #expect(outcome.alreadyInLog == 1)

        let lines = try Self.events(logPath)
        for id in ids {
            let cleared = lines.filter { $0["id"] as? String == id && $0["event"] as? String == "cleared" }
            #expect(cleared.count == 1, "\(id): \(cleared.count) cleared events")
        }
        let rows = try database.alerts()
        #expect(rows.count == 3 && rows.allSatisfy { $0.state == .cleared })
        // The interrupted alert's row holds the event the log has, with its end time.
        let interrupted = try #require(rows.first { $0.started.millisecondsSinceEpoch == base + 10_000 })
        let loggedLine = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
            .first { $0.contains("\"id\":\"\(ids[1])\"") && $0.contains("\"event\":\"cleared\"") }
        #expect(interrupted.details == loggedLine.map(String.init))
        #expect(interrupted.ended == firstStart)
    }

    /// Alerts the buffer never stored (raised while it was not writable, or a kill between the
    /// `raised` line and the row) and the agent then killed: the next start ends them in the
    /// alert log from their last line there, once; alerts the log already ended stay as they are.
    @Test func alertsOnlyTheLogKnowsAreEndedInTheLogOnce() throws {
        let dir = try TemporaryDirectory(prefix: "alert-log-only")
        defer { dir.remove() }
        let configuration = try Self.onePumpAgent(in: dir)
        let databasePath = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
        let logPath = configuration.agent.alertLog
        func at(_ second: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + second * 1000) }

        // The killed run: "ended" raised and cleared in the log; "unstored" raised and updated in
        // the log only; "stored" raised in the log and the buffer.
        do {
            let log = try AlertLog(path: logPath)
            let database = try BufferDatabase(path: databasePath)
            _ = try database.registerSensors(configuration)
            func alert(_ name: String, _ second: Int64, _ kind: AlertKind) -> Alert {
                Alert(id: "pump-1-\(name)-\(at(second).millisecondsSinceEpoch)", machine: "pump-1", kind: kind, severity: .critical,
                      started: at(second), peakScore: 3, threshold: 1.5, message: "\(name) alert")
            }
            var ended = alert("ended", 0, .anomaly)
            try log.append(AlertEvent(change: .raised, time: at(0), alert: ended))
            ended.ended = at(5)
            try log.append(AlertEvent(change: .cleared, time: at(5), alert: ended))
            let unstored = alert("unstored", 10, .unitOffline)
            try log.append(AlertEvent(change: .raised, time: at(10), alert: unstored))
            try log.append(AlertEvent(change: .updated, time: at(12), alert: unstored))
            let stored = alert("stored", 20, .anomaly)
            let raised = AlertEvent(change: .raised, time: at(20), alert: stored)
            try log.append(raised)
            _ = try database.insertAlert(AlertRecord(
                machine: "pump-1", kind: "anomaly", severity: "critical", started: at(20), peakScore: 3, threshold: 1.5,
                details: raised.jsonLine))
        }

        for start in 0..<2 {
            let database = try BufferDatabase(path: databasePath)
            let mapping = try database.registerSensors(configuration)
            let outcome = try AlertsLeftOpen.end(
                database: database, mapping: mapping, configuration: configuration, alertLog: try AlertLog(path: logPath),
                now: at(3600 + Int64(start) * 60), reason: AlertsLeftOpen.restartReason)
            #expect(outcome.endedFromLogOnly == (start == 0 ? 1 : 0), "start \(start)")
            #expect(outcome.events.count == (start == 0 ? 2 : 0), "start \(start)")
        }
        let lines = try Self.events(logPath)
        func cleared(_ name: String) -> [[String: Any]] {
            lines.filter { ($0["id"] as? String)?.hasPrefix("pump-1-\(name)-") == true && $0["event"] as? String == "cleared" }
        }
        #expect(cleared("ended").count == 1 && cleared("ended").first?["reason"] == nil)
        #expect(cleared("stored").count == 1)
        let unstored = cleared("unstored")
        #expect(unstored.count == 1)
        #expect(unstored.first?["reason"] as? String == AlertsLeftOpen.restartReason)
        #expect(unstored.first?["kind"] as? String == "unit_offline" && unstored.first?["severity"] as? String == "critical")
        #expect(unstored.first?["started"] as? String == at(10).iso8601)
        #expect(unstored.first?["ended"] as? String == at(3600).iso8601)  // no stored reading: the start
        #expect(unstored.first?["message"] as? String == "unstored alert; ended: \(AlertsLeftOpen.restartReason)")
        #expect(lines.count == 7)
    }

    // MARK: 4. A new model ends the alert the old one raised and restarts the rule

    /// A calibration picked up while an anomaly alert is open: the alert ends with a `cleared`
    /// event whose reason names the new model (it is not judged against a threshold it was not
    /// raised under), and the fault, still there, is raised anew by the new model as a new alert.
    @Test func aNewModelEndsTheOpenAlertWithAReasonAndJudgesAnew() throws {
        let (machine, model) = try RunSignalTests.machineAndModel(settle: .zero)
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        var scored = 0
        #expect(RunSignalTests.feed(&engine, rows: RunSignalTests.normalRows(100), start: start, scored: &scored).isEmpty)
        let fault = [(Double, Double)](repeating: (12, 1), count: 30)
        let raised = RunSignalTests.feed(&engine, rows: fault, start: start + 100_000, scored: &scored)
        #expect(raised.map(\.change) == [.raised])
        let old = try #require(engine.openAlerts.first)
        #expect(old.id == raised.first?.alert.id)

        // A recalibration on the same normal: the threshold it brings is the same, the judge is new.
        let (_, recalibrated) = try RunSignalTests.machineAndModel(settle: .zero)
        let replaced = Timestamp(millisecondsSinceEpoch: start + 130_500)
        let ending = engine.replaceModel(machine: 0, with: recalibrated, at: replaced)
        #expect(ending.count == 1)
        let ended = try #require(ending.first)
        #expect(ended.change == .cleared && ended.alert.id == old.id)
        #expect(ended.alert.ended == replaced)
        #expect(ended.reason?.hasPrefix("model replaced (threshold ") == true)
        #expect(ended.alert.message.hasPrefix(old.message) && ended.alert.message.contains("; ended: model replaced"))
        #expect(engine.openAlerts.isEmpty)
        #expect(ended.jsonLine.contains("\"reason\":\"model replaced"))

        // The fault holds: once the new model's windows fill, a new alert (a new id).
        let again = RunSignalTests.feed(&engine, rows: fault + fault, start: start + 131_000, scored: &scored)
        let next = try #require(again.first)
        #expect(next.change == .raised && next.alert.id != old.id)
        #expect(next.alert.started.millisecondsSinceEpoch >= start + 131_000 + Int64(recalibrated.windowRows - 1) * 1000)
    }

    /// The same in the running agent: `edge-agent run` against a real server whose machine shows
    /// a fault, its anomaly alert open; the model files are written again (as `calibrate` does):
    /// the agent ends the alert in the alert log and the buffer with the replacement's reason,
    /// then raises the fault anew under the new model, as a new alert.
    @Test(.timeLimit(.minutes(2)))
    func theRunningAgentEndsTheOldModelsAlertWhenItPicksUpANewModel() async throws {
        let dir = try TemporaryDirectory(prefix: "alert-model")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        _ = try RuntimeNetworkScoreTests.storeModels(in: dir.file("data"))
        // flow 12 m³/h where the model learnt 20…21: a fault from the first window.
        try server.setRegisters([120, 50, 21], kind: .holding, unit: 1, address: 0)
        let config = dir.file("agent.conf")
        var text = agentTable(dir.path) + loopbackBusTable("line", port: server.port) + """
            [[machine]]
            id = "m"
            poll_interval = "100ms"

            """
        for (address, name) in ["flow", "pressure", "current"].enumerated() {
            text += """

                  [[machine.sensor]]
                  name = "\(name)"
                  bus = "line"
                  unit_id = 1
                  address = \(address)
                  scale = 0.1

                """
        }
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try AgentProcessTests.startAgent(config: config, directory: dir.path)
        defer { agent.killAndWait() }
        let databasePath = dir.file("data/edge-agent.db")
        #expect(await Self.eventually(within: 30) { FileManager.default.fileExists(atPath: databasePath) })
        let database = try BufferDatabase(path: databasePath)
        func anomalies() -> [AlertRecord] { ((try? database.alerts()) ?? []).filter { $0.kind == "anomaly" } }
        #expect(await Self.eventually(within: 60) { anomalies().contains { $0.state == .open } }, "no anomaly alert for the fault")
        let first = try #require(anomalies().first)

        // A new calibration lands while the alert is open.
        _ = try RuntimeNetworkScoreTests.storeModels(in: dir.file("data"))
        #expect(await Self.eventually(within: 30) { (try? database.alert(id: first.id))??.state == .cleared },
                "the old model's alert was not ended")
        let ended = try #require(try database.alert(id: first.id))
        #expect(ended.details.contains("\"reason\":\"model replaced (threshold "), "details: \(ended.details)")
        let firstID = try #require(StoredAlertDetails(of: ended)?.id)
        // The fault holds: the new model raises it anew, as a new alert.
        #expect(await Self.eventually(within: 60) { anomalies().contains { $0.id > first.id && $0.state == .open } },
                "the new model raised no alert for the fault that holds")

        agent.terminate()
        #expect(await agent.waitForExit(seconds: 25))
        let lines = try Self.events(dir.file("alerts.jsonl")).filter { $0["kind"] as? String == "anomaly" }
        let firstEvents = lines.filter { $0["id"] as? String == firstID }
        #expect(firstEvents.first?["event"] as? String == "raised")
        #expect(firstEvents.filter { $0["event"] as? String == "cleared" }.count == 1)
        #expect((firstEvents.last?["reason"] as? String)?.hasPrefix("model replaced (threshold ") == true)
        #expect(Set(lines.compactMap { $0["id"] as? String }).count == 2)
        let journal = try String(contentsOfFile: dir.file("agent.log"), encoding: .utf8)
        #expect(journal.contains("m: new model loaded"))
    }

    /// A model removed (its file gone or unusable as none): the alert ends saying the machine is
    /// no longer scored.
    @Test func aRemovedModelEndsTheOpenAlert() throws {
        let (machine, model) = try RunSignalTests.machineAndModel(settle: .zero)
        var engine = ScoringEngine(machines: [machine], models: [model])
        var scored = 0
        _ = RunSignalTests.feed(&engine, rows: RunSignalTests.normalRows(100), start: 0, scored: &scored)
        let raised = RunSignalTests.feed(&engine, rows: [(Double, Double)](repeating: (12, 1), count: 30), start: 100_000, scored: &scored)
        #expect(raised.map(\.change) == [.raised])
        let ended = engine.replaceModel(machine: 0, with: nil, at: Timestamp(millisecondsSinceEpoch: 200_000))
        #expect(ended.count == 1 && ended.first?.reason == "model removed: the machine is no longer scored")
        #expect(engine.openAlerts.isEmpty)
    }

    /// The rule's memory restarts with a new model: scores over threshold seen under the old
    /// one do not count towards raising under the new one, and a cooldown left by the old one's
    /// alert does not hold back the new one's first alert.
    @Test func theRuleRestartsWhenItsAlertEnds() {
        func t(_ second: Int) -> Timestamp { Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + Int64(second) * 1000) }
        // Two of the three windows over threshold needed, then a new model.
        var engine = AnomalyAlertEngine(machine: "m")
        #expect(engine.observe(score: 2, threshold: 1, time: t(0), contributions: []) == nil)
        #expect(engine.observe(score: 2, threshold: 1, time: t(1), contributions: []) == nil)
        #expect(engine.end(at: t(2), reason: "model replaced") == nil)
        #expect(engine.observe(score: 2, threshold: 1, time: t(3), contributions: []) == nil, "old scores counted under the new model")
        #expect(engine.observe(score: 2, threshold: 1, time: t(4), contributions: []) == nil)
        #expect(engine.observe(score: 2, threshold: 1, time: t(5), contributions: [])?.change == .raised)

        // An alert cleared by itself (60 s cooldown), then a new model: the cooldown is gone.
        var cooled = AnomalyAlertEngine(machine: "m")
        var second = 0
        for _ in 0..<3 { _ = cooled.observe(score: 2, threshold: 1, time: t(second), contributions: []); second += 1 }
        #expect(cooled.open != nil)
        var cleared = false
        for _ in 0..<10 { cleared = cooled.observe(score: 0.1, threshold: 1, time: t(second), contributions: [])?.change == .cleared || cleared; second += 1 }
        #expect(cleared)
        #expect(cooled.end(at: t(second), reason: "model replaced") == nil)
        var events: [AlertEvent.Change] = []
        for _ in 0..<3 {
            second += 1
            if let event = cooled.observe(score: 2, threshold: 1, time: t(second), contributions: []) { events.append(event.change) }
        }
        #expect(events == [.raised], "the old model's cooldown held back the new model's alert")
    }
}
