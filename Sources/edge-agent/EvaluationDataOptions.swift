import ArgumentParser
import EdgeCore

/// What `evaluate` reads and how it counts: the data set, the calibration rows, the run signal of
/// data sets without an agent.conf, and the output form.
struct EvaluationDataOptions: ParsableArguments {
    @Option(help: "Folder holding the labelled CSV files (searched recursively).")
    var dataset: String

    @Option(help: "Leading rows of each file used for calibration (not scored).")
    var calibrationRows: Int = 400

    @Option(help: "A column that is 0 while the machine is stopped (the simulator's exports: running). As in the agent, rows while it is off and --settle-rows rows after each start are neither calibrated on nor counted; an empty cell keeps the last state for \(RunState.heldPolls) rows, then the rows are left out until it reads again (counted as a start).")
    var runSignal: String?

    @Option(help: "With --run-signal: the reading from which the machine runs, for a measured signal such as a motor current in A (agent.conf run_threshold; that column is then scored as a sensor too). Default: a running contact, on at \(RunState.contactLevel) or more.")
    var runThreshold: Double?

    @Option(help: "With --run-signal: rows after each start left out while the machine settles (agent.conf settle_after_start ÷ poll interval).")
    var settleRows: Int = 0

    @Option(help: "With --run-signal: rows before each stop left out because the machine was already stopping, e.g. a motor current still decaying (agent.conf stop_grace ÷ poll interval; the agent's default with run_threshold is 2 s).")
    var stopGraceRows: Int = 0

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Leave-one-file-out: for each file, pick the detector settings (from a small grid) that score best on the OTHER files (F1 − FAR%/100), apply them to this file, and print the totals: an estimate free of tuning on the file itself.")
    var leaveOneOut = false
}
