#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
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

/// The alert number (`12` or `#12`) or alert-log id (`pump-1-1764378600000`) an operator gave,
/// as the buffer's alert number; exits with a message when the buffer has no such alert.
func alertNumber(_ given: String, in database: BufferDatabase) throws -> Int64 {
    let trimmed = given.hasPrefix("#") ? String(given.dropFirst()) : given
    if let number = Int64(trimmed) { return number }
    if let match = try database.alerts(AlertFilter()).first(where: { alertLogID(of: $0) == given }) {
        return match.id
    }
    printToStandardError("no alert \(given) in the buffer (see `edge-agent alerts`)")
    throw ExitCode.failure
}

/// The name recorded for an operator who acknowledges an alert without `--by`: the login name
/// of the session (`getlogin`, which stays the person's own under `sudo -u edge-agent`), else
/// `LOGNAME` or `USER` from the environment, else the user database's name for the real user
/// id, else `uid N`.
func operatorLoginName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    if getlogin_r(&buffer, buffer.count) == 0 {
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if !name.isEmpty { return name }
    }
    for variable in ["LOGNAME", "USER"] {
        if let value = getenv(variable).map({ String(cString: $0) }), !value.isEmpty { return value }
    }
    let uid = getuid()
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>? = nil
    var text = [CChar](repeating: 0, count: 4096)
    if getpwuid_r(uid, &entry, &text, text.count, &result) == 0, result != nil, let name = entry.pw_name {
        let value = String(cString: name)
        if !value.isEmpty { return value }
    }
    return "uid \(uid)"
}

/// How `alerts` describes an acknowledgement: `acknowledged by NAME at TIME`, or the words for
/// one made before the buffer recorded who and when; nil when the alert is not acknowledged.
func acknowledgementText(of record: AlertRecord) -> String? {
    guard record.isAcknowledged else { return nil }
    guard record.acknowledgedAt != nil || record.acknowledgedBy != nil else {
        return "acknowledged (who and when not recorded: before this edge-agent version)"
    }
    var text = "acknowledged"
    if let person = record.acknowledgedBy { text += " by \(person)" }
    if let time = record.acknowledgedAt { text += " at \(time.iso8601)" }
    return text
}
