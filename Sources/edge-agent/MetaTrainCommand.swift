import ArgumentParser
import Detection
import EdgeCore
import Simulator

struct MetaTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meta-train",
        abstract: "Learn the shared starting point that every machine's calibration adapts from.",
        discussion: """
            Reptile meta-training: each task is one machine (simulated, or a CSV file); the inner \
            loop adapts a copy of the shared weights to a few minutes of that machine's normal \
            operation plus synthetic and labelled faults, exactly as `calibrate` does; the outer \
            loop moves the shared weights toward the adapted ones. Deterministic for a seed. \
            Prints the meta-loss (query loss after adaptation) as it goes.
            """
    )

    @Option(help: "Simulated machines (pumps, motors, compressors with random sensors and faults).")
    var simulated: Int = 24

    @Option(help: "Hours of operation generated per simulated machine.")
    var hours: Double = 1.5

    @Flag(help: "Hold simulated machines at one operating point (no automatic load changes or stops), as a calibration at one operating point sees them.")
    var steady = false

    @Option(help: "Folder of CSV files of real machines (repeatable); labelled files contribute their faults.")
    var csv: [String] = []

    @Option(help: "Outer iterations (one machine each).")
    var iterations: Int = MetaTrainingSettings().iterations

    @Option(help: "Outer loop: reptile (the shipped recipe), fomaml (first-order MAML), threshold-fomaml (first-order MAML with a query loss relative to the calibration threshold), ranking-fomaml (first-order MAML with a pairwise ranking query loss, fault above normal).")
    var algorithm: String = "reptile"

    @Option(help: "Outer learning rate (first-order MAML) or initial step size (Reptile).")
    var outerRate: Float?

    @Option(help: "Inner-loop Adam steps per task (as calibration runs them).")
    var innerSteps: Int = MetaTrainingSettings().inner.steps

    @Option(help: "Seed: the same seed and inputs give bit-identical weights.")
    var seed: UInt64 = 1

    @Option(help: "Where to write the initialization (text format; .swift writes Swift source for the shipped copy).")
    var output: String

    /// Meta-training tasks from `count` simulated machines (pumps, motors, compressors with 3+
    /// random sensors and 2 random faults each).
    /// - Parameter steady: machines held at one operating point (no automatic setpoint changes
    ///   or stops), as a calibration at one operating point sees them.
    static func simulatedTasks(count: Int, hours: Double, seed: UInt64, steady: Bool = false) -> [MetaTask] {
        guard count > 0 else { return [] }
        var options = MachineOptions()
        options.channels = .random(minimum: 3)
        options.automaticOperation = !steady
        var fleet = Fleet(seed: seed, count: count, options: options)
        fleet.addRandomFaults(count: 2, hours: hours)
        return fleet.generate(hours: hours).map { series in
            MetaTask(name: series.machineID, values: series.values, sensorCount: series.channels.count, anomalous: series.anomaly)
        }
    }

    func run() throws {
        var tasks: [MetaTask] = []
        tasks += Self.simulatedTasks(count: simulated, hours: hours, seed: seed, steady: steady)
        for folder in csv {
            for file in try DatasetEvaluation.csvFiles(under: folder) {
                let table = try CSVReader().read(path: folder + "/" + file)
                let labels = table.anomalyLabels?.map { $0 != 0 } ?? Array(repeating: false, count: table.rowCount)
                tasks.append(MetaTask(name: file, values: table.values, sensorCount: table.sensorCount, anomalous: labels))
            }
        }
        guard !tasks.isEmpty else { throw ValidationError("no tasks: give --simulated N and/or --csv DIR") }
        print("meta-train: \(tasks.count) tasks, \(iterations) iterations, seed \(seed)")
        guard let rule = MetaAlgorithm(rawValue: algorithm) else {
            throw ValidationError("--algorithm must be fomaml, threshold-fomaml, ranking-fomaml or reptile")
        }
        var settings = MetaTrainingSettings(iterations: iterations, seed: seed, algorithm: rule)
        settings.inner.steps = innerSteps
        if let outerRate {
            if rule == .reptile { settings.outerStepSize = outerRate } else { settings.outerLearningRate = outerRate }
        }
        let started = SystemClock.monotonicNanoseconds()
        let network = MetaTraining.train(initial: Network(seed: seed), tasks: tasks, settings: settings) { p in
            let seconds = Double(SystemClock.monotonicNanoseconds() - started) / 1e9
            print("  task \(p.iteration)/\(p.iterations)  meta-loss \(EvaluationText.fixed(Double(p.metaLoss), 4)) (fixed episodes)  training episodes \(EvaluationText.fixed(Double(p.trainingMetaLoss), 2))  [\(p.task), \(EvaluationText.fixed(seconds, 1)) s]")
        }
        let recipe = "edge-agent meta-train --simulated \(simulated) --hours \(hours) --iterations \(iterations) --algorithm \(algorithm) --inner-steps \(innerSteps)\(steady ? " --steady" : "")\(outerRate.map { " --outer-rate \($0)" } ?? "") --seed \(seed)"
            + csv.map { " --csv \($0)" }.joined()
        let text = output.hasSuffix(".swift") ? MetaInitialization.swiftSource(of: network, recipe: recipe)
                                              : MetaInitialization.text(of: network)
        try TextFile.write(text, to: output)
        print("wrote \(output)")
    }
}
