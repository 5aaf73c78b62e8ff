import ArgumentParser
import Detection
import EdgeCore
import Simulator

struct LearnLoadPriorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn-load-prior",
        abstract: "Learn how each kind of machine's sensors follow its speed, from simulated machines.",
        discussion: """
            Generates --machines simulated machines (pumps, fan motors, compressors in turn; no \
            faults) and learns, per kind and sensor, the power of speed the sensor follows \
            (flow ∝ speed, vibration ∝ speed², ...) and how far one machine may differ from the \
            kind. `calibrate` uses the shipped prior so that a speed the calibration never saw \
            does not alert. Deterministic for a seed; writes the text format, or Swift source \
            for the copy compiled into the agent when --output ends in .swift.
            """
    )

    @Option(help: "Simulated machines (cycling pump, motor, compressor).")
    var machines: Int = 24

    @Option(help: "Hours of normal operation generated per machine.")
    var hours: Double = 8

    @Option(help: "Seed of the simulated fleet (never the seed of a fleet you evaluate on).")
    var seed: UInt64 = 11

    @Option(help: "Fraction of what the machines did that a sensor's band must cover.")
    var coverage: Float = LoadPriorLearningSettings().coverage

    @Option(help: "Sensors needing a wider elasticity band than this are left out (speed explains too little of them).")
    var maximumBand: Float = LoadPriorLearningSettings().maximumBand

    @Option(help: "Rows after each start left out of learning (a machine cooled by a stop takes this long to warm up again).")
    var settleRows: Int = LoadPriorLearningSettings().settleRows

    @Option(help: "Log change beyond its band the detector is assumed to tolerate for a sensor that follows speed (default: the same as for deciding whether it follows speed; 0.01 was tried, see docs/load-prior.md).")
    var followingTolerance: Float = LoadPriorLearningSettings().followingTolerance

    @Flag(help: "Learn no kind driven by a duty cycle (a compressor's loaded state): only speed-driven kinds.")
    var speedOnly = false

    @Option(help: "Where to write the prior (.swift writes Swift source).")
    var output: String

    func validate() throws {
        guard machines > 0, hours > 0 else { throw ValidationError("--machines and --hours must be positive") }
        guard coverage > 0, coverage <= 1 else { throw ValidationError("--coverage must be above 0 and at most 1") }
    }

    func run() throws {
        var options = MachineOptions()
        options.channels = .all
        var fleet = Fleet(seed: seed, count: machines, options: options)
        let recordings = fleet.generate(hours: hours).map { series in
            LoadPriorMachine(kind: series.kind.rawValue, sensorNames: series.channels.map(\.name), values: series.values)
        }
        var settings = LoadPriorLearningSettings()
        settings.coverage = coverage
        settings.maximumBand = maximumBand
        if speedOnly { settings.dutyDriver = "" }
        settings.settleRows = max(0, settleRows)
        settings.followingTolerance = max(0, followingTolerance)
        let prior = LoadPriorLearning.learn(recordings, settings: settings)
        let recipe = "edge-agent learn-load-prior --machines \(machines) --hours \(hours) --seed \(seed) --coverage \(coverage) --maximum-band \(maximumBand) --settle-rows \(settleRows)\(followingTolerance != LoadPriorLearningSettings().followingTolerance ? " --following-tolerance \(followingTolerance)" : "")\(speedOnly ? " --speed-only" : "")"
        for kind in prior.kinds {
            print("\(kind.name) (driver \(kind.driver)):")
            for role in kind.roles {
                print("  \(role.sensor): elasticity \(role.elasticity) ± \(role.band)\(role.lagged ? ", lagged" : ""), tolerance \(role.tolerance)")
            }
            for a in kind.approaches ?? [] {
                print("  \(a.sensor): approach \(a.up.lowerBound)…\(a.up.upperBound) s toward \(kind.driver) = 1, \(a.down.lowerBound)…\(a.down.upperBound) s back")
            }
        }
        try TextFile.write(output.hasSuffix(".swift") ? prior.swiftSource(recipe: recipe) : prior.text(recipe: recipe), to: output)
        print("wrote \(output)")
    }
}
