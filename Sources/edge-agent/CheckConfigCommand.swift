import ArgumentParser
import Configuration

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check agent.conf and print the buses, machines and sensors it describes."
    )

    @Option(help: "Path to agent.conf.")
    var config: String = "/etc/edge-agent/agent.conf"

    func run() throws {
        // Filled in by the configuration loader (issue 2).
        throw ValidationError("check-config: loader not wired yet")
    }
}
