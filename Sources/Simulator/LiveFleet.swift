import EdgeCore

/// A fleet running against the clock: simulated time advances `speed` times faster than
/// real time, and the control protocol's commands act on it. Used by one thread at a time.
public struct LiveFleet: Sendable {
    /// The machines.
    public private(set) var fleet: Fleet
    /// Simulated seconds per real second.
    public let speed: Double
    /// The latest sample of each machine (values in its `channels` order).
    public private(set) var latest: [[Double]]
    /// The label of each machine's latest sample.
    public private(set) var labels: [SampleLabel]
    private var startNanoseconds: UInt64?
    /// Per machine: which of its faults were inside their window at the last step.
    private var activeWindows: [UInt64]
    /// Faults that began or ended since `drainEvents()` was last called.
    private var pendingEvents: [FaultEvent] = []

    /// Wraps `fleet`; call `advance(toMonotonicNanoseconds:)` to run it.
    public init(fleet: Fleet, speed: Double) {
        self.fleet = fleet
        self.speed = max(speed, 1e-6)
        latest = fleet.machines.map { Array(repeating: 0, count: $0.channels.count) }
        labels = Array(repeating: .normal, count: fleet.machines.count)
        activeWindows = Array(repeating: 0, count: fleet.machines.count)
    }

    /// Returns and forgets the faults that began or ended (their windows, not spike bursts)
    /// since the last call: the ground truth for matching alerts.
    public mutating func drainEvents() -> [FaultEvent] {
        defer { pendingEvents.removeAll(keepingCapacity: true) }
        return pendingEvents
    }

    /// Simulated time of the next sample.
    public var simulatedTime: Timestamp { fleet.machines.first?.time ?? Timestamp(millisecondsSinceEpoch: 0) }

    /// Steps every machine until its simulated time has caught up with the clock.
    /// - Returns: how many steps each machine took (0 when none was due).
    public mutating func advance(toMonotonicNanoseconds now: UInt64) -> Int {
        guard let start = startNanoseconds else {
            startNanoseconds = now
            stepAll()
            return 1
        }
        guard let first = fleet.machines.first else { return 0 }
        let simulatedSeconds = Double(now &- start) / 1e9 * speed
        let due = Int64(simulatedSeconds * 1000) / first.options.stepMilliseconds + 1
        var steps = 0
        while fleet.machines[0].stepIndex < due {
            stepAll()
            steps += 1
        }
        return steps
    }

    /// Real nanoseconds from `now` until the next step is due (0 if it is due already).
    public func nanosecondsUntilNextStep(from now: UInt64) -> UInt64 {
        guard let start = startNanoseconds, let first = fleet.machines.first else { return 0 }
        let nextSimulatedMs = Double(first.stepIndex * first.options.stepMilliseconds)
        let dueAt = start + UInt64(nextSimulatedMs / 1000 / speed * 1e9)
        return dueAt > now ? dueAt - now : 0
    }

    private mutating func stepAll() {
        for i in fleet.machines.indices {
            let t = fleet.machines[i].elapsedSeconds
            let time = fleet.machines[i].time
            labels[i] = fleet.machines[i].step(into: &latest[i])
            var windows: UInt64 = 0
            for (n, fault) in fleet.machines[i].faults.enumerated() where fault.startSeconds <= t && t < fault.endSeconds {
                windows |= 1 << UInt64(n)
            }
            let changed = windows ^ activeWindows[i]
            if changed != 0 {
                for n in fleet.machines[i].faults.indices where changed & (1 << UInt64(n)) != 0 {
                    let machine = fleet.machines[i]
                    pendingEvents.append(FaultEvent(
                        machineID: machine.id, unitID: i + 1, fault: machine.faults[n],
                        channels: FleetExport.channelsShowing(machine.faults[n], machine: machine),
                        began: windows & (1 << UInt64(n)) != 0, simulatedTime: time
                    ))
                }
                activeWindows[i] = windows
            }
        }
    }

    /// The latest value of channel `name` of machine `machine`, if it has that channel.
    public func value(machine: Int, channel name: String) -> Double? {
        guard let c = fleet.machines[machine].channelIndex(named: name) else { return nil }
        return latest[machine][c]
    }

    /// Runs one line of the control protocol and returns the one-line answer
    /// (`ok …` or `error: …`). See `ControlProtocol.help`.
    public mutating func execute(_ line: String) -> ControlAnswer {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        guard let command = words.first else { return .reply("error: empty command (try help)") }
        func machineIndex(_ word: Substring?) -> Int? {
            guard let word else { return nil }
            return fleet.index(of: String(word))
        }
        let known = fleet.machines.map(\.id).joined(separator: ", ")
        switch command {
        case "help":
            return .reply("ok " + ControlProtocol.help)
        case "inject":
            let spec: FaultSpecification
            do {
                spec = try FaultSpecification.parse(line.drop(while: { $0 == " " }).dropFirst("inject".count).drop(while: { $0 == " " }))
            } catch {
                return .reply("error: \(error.message)")
            }
            guard let i = fleet.index(of: spec.machineID) else {
                return .reply("error: unknown machine \"\(spec.machineID)\" (machines: \(known))")
            }
            var fault = spec.fault
            let now = fleet.machines[i].elapsedSeconds
            fault.startSeconds = now + spec.fault.startSeconds
            if fault.profile == .ramp && fault.rampSeconds == nil && fault.durationSeconds == nil { fault.rampSeconds = 600 }
            do {
                try fleet.machines[i].add(fault)
            } catch {
                return .reply("error: \(error.message)")
            }
            let added = fleet.machines[i].faults[fleet.machines[i].faults.count - 1]
            let start = Timestamp(
                millisecondsSinceEpoch: fleet.machines[i].options.startTime.millisecondsSinceEpoch + Int64(added.startSeconds * 1000)
            )
            var answer = "ok \(spec.machineID) \(added.kind.rawValue) severity=\(json(added.severity)) profile=\(added.profile.rawValue)"
            if let channel = added.channel { answer += " sensor=\(channel)" }
            answer += " from \(start.iso8601)"
            if let d = added.durationSeconds { answer += " for \(json(d))s" }
            return .reply(answer)
        case "clear":
            if words.count == 2 && words[1] == "all" {
                for i in fleet.machines.indices { fleet.machines[i].clearFaults() }
                return .reply("ok cleared all")
            }
            guard let i = machineIndex(words.dropFirst().first) else { return .reply("error: clear MACHINE|all (machines: \(known))") }
            fleet.machines[i].clearFaults()
            return .reply("ok cleared \(fleet.machines[i].id)")
        case "stop", "start":
            guard let i = machineIndex(words.dropFirst().first) else { return .reply("error: \(command) MACHINE (machines: \(known))") }
            let point = fleet.machines[i].operatingPoint
            fleet.machines[i].setOperatingPoint(running: command == "start", load: point.load)
            return .reply("ok \(fleet.machines[i].id) \(command == "start" ? "started" : "stopped")")
        case "load":
            guard words.count == 3, let i = machineIndex(words[1]), let load = Double(words[2]), load >= 0, load <= 1 else {
                return .reply("error: load MACHINE FRACTION (0…1; machines: \(known))")
            }
            fleet.machines[i].setOperatingPoint(running: true, load: load)
            return .reply("ok \(fleet.machines[i].id) load \(json(load))")
        case "status":
            return .reply("ok " + statusJSON())
        case "values":
            guard let i = machineIndex(words.dropFirst().first) else { return .reply("error: values MACHINE (machines: \(known))") }
            let machine = fleet.machines[i]
            let fields = machine.channels.indices.map { "\(json(machine.channels[$0].name)): \(json(latest[i][$0]))" }
            return .reply("ok {\"time\": \"\(simulatedTime.iso8601)\", \"anomaly\": \(labels[i].anomaly), " + fields.joined(separator: ", ") + "}")
        case "quit", "shutdown":
            return .quit("ok stopping")
        default:
            return .reply("error: unknown command \"\(command)\" (try help)")
        }
    }

    /// One JSON object: simulated time and, per machine, unit id, operating point, label and faults.
    public func statusJSON() -> String {
        var parts: [String] = []
        for (i, m) in fleet.machines.enumerated() {
            let now = m.elapsedSeconds
            let active = m.faults.filter { $0.startSeconds <= now && now < $0.endSeconds }.map { json($0.kind.rawValue) }
            let point = m.operatingPoint
            parts.append(
                "{\"id\": \(json(m.id)), \"kind\": \(json(m.kind.rawValue)), \"unit\": \(i + 1), \"running\": \(point.running), "
                    + "\"load\": \(json(point.load)), \"anomaly\": \(labels[i].anomaly), \"faults\": [\(active.joined(separator: ", "))]}"
            )
        }
        return "{\"time\": \"\(simulatedTime.iso8601)\", \"speed\": \(json(speed)), \"machines\": [\(parts.joined(separator: ", "))]}"
    }
}

/// What the fleet answers to one control line.
public enum ControlAnswer: Sendable, Equatable {
    /// Send this line back.
    case reply(String)
    /// Send this line back, then stop the simulator.
    case quit(String)

    /// The line to send back.
    public var line: String {
        switch self {
        case .reply(let l), .quit(let l): return l
        }
    }
}

/// The simulator's control protocol: one command per line on a loopback TCP port, one answer line each.
public enum ControlProtocol {
    /// The commands, for `help` and the README.
    public static let help = "commands: inject MACHINE FAULT [at=DELAY] [for=DURATION] [severity=0..1] [profile=step|ramp|spike] [ramp=DURATION] [sensor=NAME]"
        + " | clear MACHINE|all | stop MACHINE | start MACHINE | load MACHINE 0..1 | status | values MACHINE | quit"
}

/// A fault beginning or ending in a running fleet.
public struct FaultEvent: Sendable, Hashable {
    /// The machine's id.
    public var machineID: String
    /// Its Modbus unit id.
    public var unitID: Int
    /// The fault.
    public var fault: Fault
    /// The channels in which it shows.
    public var channels: [String]
    /// True when the fault began, false when it ended.
    public var began: Bool
    /// Simulated time of the first (or first fault-free) sample.
    public var simulatedTime: Timestamp

    /// One JSON object (no newline), with the wall-clock time the event was seen.
    public func json(wallTime: Timestamp) -> String {
        var out = "{\"time\": \"\(wallTime.iso8601)\", \"simulated_time\": \"\(simulatedTime.iso8601)\", "
        out += "\"machine\": \(Simulator.json(machineID)), \"unit\": \(unitID), \"event\": \(began ? "\"begin\"" : "\"end\""), "
        out += "\"fault\": \(Simulator.json(fault.kind.rawValue)), \"severity\": \(Simulator.json(fault.severity)), "
        out += "\"profile\": \(Simulator.json(fault.profile.rawValue)), "
        out += "\"channels\": [\(channels.map { Simulator.json($0) }.joined(separator: ", "))]}"
        return out
    }
}
