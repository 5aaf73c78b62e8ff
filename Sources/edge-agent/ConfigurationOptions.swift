import ArgumentParser
import Configuration
import EdgeCore

/// `--config`, shared by every subcommand that reads agent.conf (`@OptionGroup var options: ConfigurationOptions`).
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Path to agent.conf.")
    var config: String = "/etc/edge-agent/agent.conf"

    /// Loads and validates the file; on problems prints them to stderr, one per line as
    /// `file:line: key.path: message`, and exits with status 1.
    func load() throws -> AgentConfiguration {
        do {
            return try ConfigurationLoader.load(path: config)
        } catch {
            printToStandardError(error.description)
            printToStandardError("\(config): \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s"); fix them and run `edge-agent check-config --config \(config)` again")
            throw ExitCode.failure
        }
    }
}
