import ArgumentParser
import Configuration
import EdgeCore
import Runtime
import Store
import Summaries

struct SummarizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarize",
        abstract: "Write a machine's summary files (JSON, CSV, HTML report) for any past period in the buffer.",
        discussion: """
            Produces the same three files the agent writes every summary_interval, named \
            <machine>_<period start, UTC>_<length>.json|csv|html (e.g. \
            pump-1_2026-11-29T01-00-00Z_1h.html), in --output (default: summary_dir from \
            agent.conf). Existing files of the same machine and period are replaced atomically. \
            --from and --until take an ISO-8601 time (2026-11-29T08:00:00Z, or a date) or a time \
            ago: 90s, 10m, 24h, 7d, 2w. The buffer does not keep anomaly scores, so on-demand \
            summaries show readings, alerts and the model but no score chart. Normal ranges come \
            from the machine's model in <data_dir>/models, the one the agent judges it with.
            """
    )

    @OptionGroup var options: ConfigurationOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: "The machine id from agent.conf (e.g. pump-1).")
    var machine: String?

    @Option(help: "Start of the period, inclusive: ISO-8601 or a time ago (1h, 24h, 7d).")
    var from: String = "1h"

    @Option(help: "End of the period, exclusive: ISO-8601 or a time ago (default: now).")
    var until: String?

    @Option(help: "Directory to write the files to (default: summary_dir in agent.conf). Created if missing.")
    var output: String?

    @Flag(help: "Print the paths written as a JSON object (keys json, csv, html) instead of a sentence.")
    var json = false

    @Flag(help: .hidden)
    var sample = false

    func validate() throws {
        if !sample, machine == nil { throw ValidationError("--machine is required: which machine from agent.conf to summarize") }
    }

    func run() throws {
        if sample {
            // A made-up pump hour, for trying the report (make report-screenshot): no agent.conf needed.
            logging.bootstrap()
            try write(SampleSummary.input(), to: output ?? ".")
            return
        }
        let configuration = try options.load()
        logging.bootstrap(configuredLevel: configuration.agent.logLevel)
        guard let machine else { throw ExitCode.validationFailure }
        let now = Timestamp.now()
        guard let start = CSVExport.parseTime(from, now: now) else {
            throw ValidationError("--from \(from): expected an ISO-8601 time (2026-11-29T08:00:00Z) or a time ago (10m, 24h, 7d)")
        }
        let untilText = until ?? "0s"
        guard let end = CSVExport.parseTime(untilText, now: now) else {
            throw ValidationError("--until \(untilText): expected an ISO-8601 time (2026-11-29T08:00:00Z) or a time ago (10m, 24h, 7d)")
        }
        guard start < end else { throw ValidationError("--from (\(start)) must be before --until (\(end))") }
        guard let machineConfiguration = configuration.machine(id: machine) else {
            let known = configuration.machines.map(\.id).joined(separator: ", ")
            throw ValidationError("no machine \"\(machine)\" in \(configuration.sourcePath); machines: \(known)")
        }
        let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
        var input: SummaryInput
        do {
            let database = try BufferDatabase(path: path, access: .readOnly)
            input = try BufferSummarySource.input(
                machine: machine, configuration: configuration, from: start, until: end, database: database, generated: now)
        } catch let error as SQLiteError where error.reason == .cannotOpen {
            printToStandardError("summarize: no buffer at \(path): has the agent run with data_dir = \"\(configuration.agent.dataDirectory)\"? (\(error.message))")
            throw ExitCode.failure
        } catch {
            printToStandardError("summarize: \(error)")
            throw ExitCode.failure
        }
        // The normal ranges from the model the agent judges the machine with, as its own
        // summaries quote them.
        do {
            if let model = try MachineModel.load(machine: machine, dataDirectory: configuration.agent.dataDirectory,
                                                 alertScore: machineConfiguration.alertScore) {
                input.describe(with: model)
                if let calibrated = Timestamp(iso8601: Substring(model.calibratedAt)), calibrated >= end {
                    printToStandardError("summarize: note: normal ranges from \(model.path), calibrated \(model.calibratedAt), after this period: the model that judged it then may have had others")
                }
            }
        } catch {
            printToStandardError("summarize: \(error); the summary has no normal ranges")
        }
        try write(input, to: output ?? configuration.agent.summaryDirectory)
    }

    private func write(_ input: SummaryInput, to directory: String) throws {
        let files: SummaryFiles
        do {
            files = try SummaryWriter.write(input, to: directory)
        } catch {
            printToStandardError("summarize: \(error)")
            throw ExitCode.failure
        }
        if json {
            var writer = EdgeCore.JSONWriter()
            writer.field("json", files.json)
            writer.field("csv", files.csv)
            writer.field("html", files.html)
            print(writer.finish())
        } else {
            let readings = input.sensors.reduce(0) { $0 + $1.readingCount }
            print("summarize: \(input.machine) \(input.start) – \(input.end): \(input.sensors.count) sensors, \(readings) readings, \(input.alerts.count) alerts → \(files.html) (+ .json, .csv)")
        }
    }
}
