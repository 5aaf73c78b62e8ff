import ArgumentParser
import EdgeCore

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the agent's version."
    )

    func run() {
        print("edge-agent \(EdgeAgentVersion.string)")
    }
}
