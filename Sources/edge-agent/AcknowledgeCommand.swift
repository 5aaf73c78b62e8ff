import ArgumentParser
import Configuration
import EdgeCore
import Store

struct AcknowledgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack",
        abstract: "Acknowledge an alert: record that someone has seen it and is on it.",
        discussion: """
            ALERT is the number shown by `edge-agent alerts` (e.g. 12 or #12) or the id in the alert log \
            (e.g. pump-1-1764378600000). Who acknowledged it (--by, else your login name) and when are \
            stored with the alert; `edge-agent alerts` shows them, and the alert's later `updated` and \
            `cleared` lines in the alert log (and what [[action]] commands get) carry them. The first \
            acknowledgement is kept: acknowledging again changes nothing and says who was first. \
            To also say whether it was a real problem, use `edge-agent label`.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Argument(help: "The alert's number or alert-log id.")
    var alert: String

    @Option(help: "Who acknowledges it (default: your login name).")
    var by: String?

    func validate() throws {
        if let by, by.allSatisfy(\.isWhitespace) { throw ValidationError("--by needs a name") }
    }

    func run() throws {
        let configuration = try options.load()
        let database = try openBuffer(configuration, access: .readWrite)
        let number = try alertNumber(alert, in: database)
        let person = by ?? operatorLoginName()
        let stored: AlertRecord
        let already: Bool
        do {
            already = try database.alert(id: number)?.isAcknowledged ?? false
            stored = try database.acknowledge(alert: number, by: person)
        } catch {
            printToStandardError("cannot acknowledge alert \(alert): \(error)")
            throw ExitCode.failure
        }
        let text = acknowledgementText(of: stored) ?? "acknowledged"
        print("alert #\(number) (\(stored.machine) \(stored.kind), \(stored.state.rawValue)): \(already ? "already \(text); kept" : text)")
    }
}
