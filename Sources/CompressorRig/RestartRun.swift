import Configuration
import EdgeCore
import Runtime
import Simulator

/// A stop and a start of a `CalibratedCompressor`: how long it runs after calibration, how long
/// it stands, what fault (if any) it brings back, and how long it runs after the start.
public struct RestartPlan: Sendable {
    /// Seconds of running after calibration before the stop command (6 minutes as `CoastDownTests`).
    public var runSeconds = 360
    /// Seconds between the stop command and the start command.
    public var stopSeconds: Int
    /// Minutes of running after the start command (the first 5 settling).
    public var afterMinutes = 6
    /// A fault added at the stop command (severity 0.5, step), to see that it still alerts.
    public var fault: FaultKind?

    /// A plan stopping the compressor for `stopSeconds`; the rest as given or the defaults.
    public init(runSeconds: Int = 360, stopSeconds: Int, afterMinutes: Int = 6, fault: FaultKind? = nil) {
        self.runSeconds = runSeconds
        self.stopSeconds = stopSeconds
        self.afterMinutes = afterMinutes
        self.fault = fault
    }
}

/// What the agent's scoring path (`ScoringEngine`) did after the start command of a restart run.
public struct RestartOutcome: Sendable {
    /// Anomaly alerts raised after the start.
    public var raised = 0
    /// Seconds from the start command to the first of them (nil: none).
    public var firstAlertSeconds: Double?
    /// The first alert's largest contributor (nil: no alert).
    public var firstAlertSensor: String?
    /// Highest score ÷ threshold of a window scored after the start.
    public var peakRatio = 0.0
}

/// One polled row of a restart run, handed to the run's observer after the engine took it.
public struct RestartRow {
    /// When the row was read.
    public let time: Timestamp
    /// The simulator's readings, one per channel.
    public let values: [Double]
    /// The row's phase by the run signal's own rule (`RunState`, the machine's).
    public let phase: RunState.Phase
    /// Whether a run starts afresh at this row (`RunState.startsAfresh`): where a
    /// `DetectorStream` fed the same rows restarts.
    public let startsAfresh: Bool
    /// Whether the start command has been given.
    public let afterStart: Bool
    /// When the start command was given, in milliseconds since the epoch (0 before it).
    public let startMilliseconds: Int64
}

extension CalibratedCompressor {
    /// Runs a copy of `sim` through a fresh `ScoringEngine` on this detector: `plan.runSeconds`
    /// of running, a stop of `plan.stopSeconds` (adding `plan.fault` at the stop command), a
    /// start and `plan.afterMinutes` of running.
    /// - Parameter eachRow: sees every polled row after the engine took it, for figures the
    ///   engine does not give (a `DetectorStream` fed the same rows, a trace).
    /// - Returns: the engine's alerts and peak after the start.
    /// - Throws: `CompressorRigError` if the machine has no run signal; the simulator's error if
    ///   it cannot add the fault; whatever `eachRow` throws.
    public func restart(_ plan: RestartPlan, eachRow: (RestartRow) throws -> Void = { _ in }) throws -> RestartOutcome {
        var sim = sim
        var engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)])
        guard var run = machine.runState() else {
            throw CompressorRigError(description: "\(machine.id) has no run signal")
        }
        var outcome = RestartOutcome()
        var afterStart = false
        var startTime: Int64 = 0
        var row: [Double] = []
        let perSecond = Int(1000 / stepMilliseconds)
        func poll(_ count: Int) throws {
            for _ in 0..<count {
                let time = sim.time
                _ = sim.step(into: &row)
                let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
                let events = engine.process(readings) { scored in
                    if afterStart { outcome.peakRatio = max(outcome.peakRatio, scored.score / scored.threshold) }
                }
                for event in events where afterStart && event.alert.kind == .anomaly && event.change == .raised {
                    outcome.raised += 1
                    if outcome.firstAlertSeconds == nil {
                        outcome.firstAlertSeconds = Double(event.time.millisecondsSinceEpoch - startTime) / 1000
                        outcome.firstAlertSensor = event.alert.topSensors.first?.sensor
                    }
                }
                let phase = run.observe(row[current], at: time.millisecondsSinceEpoch)
                try eachRow(RestartRow(time: time, values: row, phase: phase, startsAfresh: run.startsAfresh,
                                       afterStart: afterStart, startMilliseconds: startTime))
            }
        }
        try poll(plan.runSeconds * perSecond)
        sim.setOperatingPoint(running: false, load: 0.6)
        if let fault = plan.fault { try sim.add(Fault(fault, startSeconds: sim.elapsedSeconds, severity: 0.5, profile: .step)) }
        try poll(plan.stopSeconds * perSecond)
        sim.setOperatingPoint(running: true, load: 0.6)
        afterStart = true
        startTime = sim.time.millisecondsSinceEpoch
        try poll(plan.afterMinutes * 60 * perSecond)
        return outcome
    }
}
