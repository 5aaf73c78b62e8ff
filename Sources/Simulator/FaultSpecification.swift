/// A fault for a named machine, as written on the command line, in sim.toml and on the
/// control port: `MACHINE FAULT [at=2h] [for=30m] [severity=0.8] [profile=step|ramp|spike]
/// [ramp=10m] [sensor=NAME]`.
///
/// `at` is the start after the beginning of the run (export, schedule) or after now (control
/// port); `for` the duration (absent: until the end, or until cleared).
public struct FaultSpecification: Sendable, Hashable {
    /// The machine's id, e.g. `pump-1`.
    public var machineID: String
    /// The fault; `startSeconds` holds `at` (0 when absent).
    public var fault: Fault

    /// Creates a specification.
    public init(machineID: String, fault: Fault) {
        self.machineID = machineID
        self.fault = fault
    }

    /// Parses one specification.
    /// - Throws: `FaultError` naming the word that is wrong and what was expected.
    public static func parse(_ text: Substring) throws(FaultError) -> FaultSpecification {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count >= 2 else {
            throw FaultError("fault \"\(text)\": expected MACHINE FAULT [at=…] [for=…] [severity=…] [profile=…] [ramp=…] [sensor=…]")
        }
        guard let kind = FaultKind(rawValue: String(words[1])) else {
            throw FaultError(
                "unknown fault \"\(words[1])\" (expected one of: " + FaultKind.allCases.map(\.rawValue).joined(separator: ", ") + ")"
            )
        }
        var fault = Fault(kind, startSeconds: 0)
        for word in words.dropFirst(2) {
            guard let eq = word.firstIndex(of: "=") else {
                throw FaultError("fault option \"\(word)\": expected key=value")
            }
            let key = word[..<eq]
            let value = word[word.index(after: eq)...]
            switch key {
            case "at":
                fault.startSeconds = try seconds(value, key: "at")
            case "for":
                fault.durationSeconds = try seconds(value, key: "for")
            case "ramp":
                fault.rampSeconds = try seconds(value, key: "ramp")
            case "severity":
                guard let s = Double(value), s >= 0, s <= 1 else {
                    throw FaultError("severity=\(value): expected a number from 0 to 1")
                }
                fault.severity = s
            case "profile":
                guard let p = FaultProfile(rawValue: String(value)) else {
                    throw FaultError("profile=\(value): expected step, ramp or spike")
                }
                fault.profile = p
            case "sensor":
                fault.channel = String(value)
            default:
                throw FaultError("unknown fault option \"\(key)\" (expected at, for, severity, profile, ramp or sensor)")
            }
        }
        return FaultSpecification(machineID: String(words[0]), fault: fault)
    }

    /// Parses specifications separated by `;` or newlines (empty ones are skipped).
    /// - Throws: `FaultError` for the first one that is wrong.
    public static func parseList(_ text: String) throws(FaultError) -> [FaultSpecification] {
        var result: [FaultSpecification] = []
        for part in text.split(whereSeparator: { $0 == ";" || $0 == "\n" }) {
            let trimmed = part.drop(while: { $0 == " " })
            if trimmed.isEmpty { continue }
            result.append(try parse(trimmed))
        }
        return result
    }

    private static func seconds(_ text: Substring, key: String) throws(FaultError) -> Double {
        guard let s = parseDurationSeconds(text) else {
            throw FaultError("\(key)=\(text): expected a duration such as 90s, 5m, 2h, 1d or 500ms")
        }
        return s
    }
}

/// Parses `500ms`, `1.5s`, `5m`, `2h`, `7d` or a bare number of seconds into seconds.
public func parseDurationSeconds(_ text: Substring) -> Double? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        guard let n = Double(text.dropLast(suffix.count)), n >= 0, n.isFinite else { return nil }
        return n * factor
    }
    guard let n = Double(text), n >= 0, n.isFinite else { return nil }
    return n
}
