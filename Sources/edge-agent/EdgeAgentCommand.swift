import ArgumentParser
import EdgeCore

/// The `edge-agent` command: one subcommand per job a plant engineer does.
@main
struct EdgeAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge-agent",
        abstract: "Edge anomaly detection for pumps, motors and compressors over Modbus.",
        discussion: """
            Describe buses, machines and sensors in agent.conf, check it with `check-config`, \
            calibrate each machine, then run the agent and read its alert log and summaries.
            """,
        version: EdgeAgentVersion.string,
        subcommands: [
            // Keep one line per subcommand; each lives in its own file.
            CheckConfigCommand.self,
            VersionCommand.self,
            ReadCommand.self,
            ReplayCommand.self,
            EvaluateCommand.self,
            LearnLoadPriorCommand.self,
            SimulateCommand.self,
            ExportCommand.self,
            SummarizeCommand.self,
            CalibrateCommand.self,
            MetaTrainCommand.self,
            RunCommand.self,
            StatusCommand.self,
            AlertsCommand.self,
            LabelCommand.self,
            AcknowledgeCommand.self,
        ]
    )
}
