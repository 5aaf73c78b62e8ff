import ArgumentParser
import Configuration
import EdgeCore
import Store

/// Opens the buffer of a configuration for the operator commands (`status`, `alerts`, `label`).
func openBuffer(_ configuration: AgentConfiguration, access: BufferDatabase.Access) throws -> BufferDatabase {
    let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
    do {
        return try BufferDatabase(path: path, access: access)
    } catch {
        printToStandardError("cannot open the buffer \(path): \(error)")
        printToStandardError("has the agent run with this configuration (data_dir = \(configuration.agent.dataDirectory))?")
        throw ExitCode.failure
    }
}

/// Escapes a string as a JSON string literal.
func jsonString(_ text: String) -> String {
    var out = ""
    JSONWriter.appendString(text, to: &out)
    return out
}

/// The alert log id (`pump-1-1764378600000`) stored in an alert record's details.
func alertLogID(of record: AlertRecord) -> String? {
    guard let range = record.details.firstRange(of: "\"id\":\"") else { return nil }
    let rest = record.details[range.upperBound...]
    guard let end = rest.firstIndex(of: "\"") else { return nil }
    return String(rest[..<end])
}
