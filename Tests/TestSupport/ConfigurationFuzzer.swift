import Configuration
import EdgeCore
import Modbus

/// A deterministic mutation fuzzer for agent.conf: each mutant is derived from a seed and its
/// index alone, so any finding is reproduced with `mutant(index)`.
///
/// Every mutant goes through `ConfigurationLoader.parse(bytes:path:)` (what `check-config`
/// runs after reading the file) and, when accepted, through the Modbus request planner (what
/// `check-config` prints under each bus). A mutant made only of harmless edits (comments, blank
/// lines, spacing) must be accepted; every rejection must name a line or a key path.
public struct ConfigurationFuzzer: Sendable {
    /// One mutated file and the edits that made it.
    public struct Mutant: Sendable {
        /// The file's bytes, possibly not UTF-8.
        public var bytes: [UInt8]
        /// The edits applied, in order, for messages.
        public var edits: [String]
        /// True when every edit keeps the file valid (the loader must accept it).
        public var mustBeAccepted: Bool

        /// A mutant with these bytes, made by `edits`.
        public init(bytes: [UInt8], edits: [String], mustBeAccepted: Bool) {
            self.bytes = bytes
            self.edits = edits
            self.mustBeAccepted = mustBeAccepted
        }
    }

    /// What a run found.
    public struct Report: Sendable, CustomStringConvertible {
        /// Mutants tried.
        public var mutants = 0
        /// Mutants the loader accepted.
        public var accepted = 0
        /// Mutants rejected with every problem located by a line or a key path.
        public var rejectedWithLocation = 0
        /// Mutants made only of harmless edits (a subset of `mutants`).
        public var harmless = 0
        /// Broken promises: a problem without a location or with a line outside the file, a
        /// harmless mutant rejected, an error without problems. Each names its mutant index.
        public var violations: [String] = []

        /// An empty report.
        public init() {}

        /// Adds another run's counts to this one.
        public mutating func add(_ other: Report) {
            mutants += other.mutants
            accepted += other.accepted
            rejectedWithLocation += other.rejectedWithLocation
            harmless += other.harmless
            violations += other.violations
        }

        /// `mutants=… accepted=… rejected-with-location=… violations=…`.
        public var description: String {
            "mutants=\(mutants) accepted=\(accepted) rejected-with-location=\(rejectedWithLocation) harmless=\(harmless) violations=\(violations.count)"
        }
    }

    /// The original file's lines.
    public let lines: [String]
    /// The seed every mutant is derived from.
    public let seed: UInt64

    /// A fuzzer over `original` (the text of a valid agent.conf).
    public init(original: String, seed: UInt64) {
        self.lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        self.seed = seed
    }

    /// Values of the wrong type, or of the right type but absurd.
    static let wrongValues = [
        "\"text\"", "true", "3.5", "[1, 2]", "{ a = 1 }", "-1", "1979-05-27T07:32:00Z", "07:32:00", "\"\"", "[]",
        "65536", "0", "\"99999999999999d\"", "\"1e9GB\"", "\"flaot32\"", "\"CDBA\"", "\"/\"", "\"\\u0000\"",
        "\"\\uD800\"", "'''multi\nline'''", "\"\\t\"", "\"../../../etc\"", "\" \"",
    ]

    /// Huge, tiny and signed-zero numbers, bare and inside durations and sizes.
    static let hugeValues = [
        "1e308", "-1e308", "1.7976931348623157e308", "1e309", "4.9e-324", "-0", "-0.0", "+0", "0.0",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "99999999999999999999", "0x7FFFFFFFFFFFFFFF", "0xFFFFFFFFFFFFFFFF",
        "0o777777777777777777777", "0b" + String(repeating: "1", count: 64), "1_000_000_000_000_000_000",
        "inf", "-inf", "+inf", "nan", "-nan", "2147483648", "4294967296", "-2147483649",
        "\"9223372036854775807ms\"", "\"9223372036854775808ms\"", "\"9223372036854775807d\"",
        "\"18446744073709551615s\"", "\"-1s\"", "\"0ms\"", "\"-0s\"", "\"1e308s\"", "\"nan s\"", "\"inf\"",
        "\"9223372036854775807\"", "\"9223372036854775807GB\"", "\"17179869184GB\"", "\"-1GB\"",
        "\"99999999999999999999999KB\"", "\"0KB\"", "\"1.5GB\"",
    ]

    /// Table headers, right and wrong.
    static let headers = [
        "[agent]", "[[bus]]", "[[machine]]", "[[machine.sensor]]", "[bus]", "[machine.sensor]", "[[agent]]",
        "x.y.z = 1", "[[machine.sensor.extra]]", "[[action]]", "[]", "[[]]", "[a.]", "[\"quoted key\"]",
    ]

    /// Byte sequences that are not UTF-8: a lone continuation byte, a truncated sequence, an
    /// overlong encoding, an encoded surrogate, a code point above U+10FFFF, bytes never used.
    static let invalidUTF8: [[UInt8]] = [
        [0x80], [0xC3], [0xE2, 0x82], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xFE, 0xFF],
    ]

    /// The mutant at `index`: 1 to 3 edits drawn from a generator seeded by `seed` and `index`.
    public func mutant(_ index: Int) -> Mutant {
        var random = SplitMix64(seed: seed &+ UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03)
        var lines = self.lines
        var edits: [String] = []
        // One mutant in ten is harmless only: the loader must accept it.
        let harmlessOnly = random.index(below: 10) == 0
        for _ in 0...random.index(below: 3) {
            edits.append(harmlessOnly ? Self.harmlessEdit(&lines, &random) : Self.lineEdit(&lines, &random))
        }
        var bytes = Array(lines.joined(separator: "\n").utf8)
        if !harmlessOnly, random.index(below: 4) == 0 {
            edits.append(Self.byteEdit(&bytes, &random))
        }
        return Mutant(bytes: bytes, edits: edits, mustBeAccepted: harmlessOnly)
    }

    /// An edit that keeps a valid file valid.
    static func harmlessEdit(_ lines: inout [String], _ random: inout SplitMix64) -> String {
        let i = random.index(below: lines.count + 1)
        switch random.index(below: 4) {
        case 0:
            lines.insert("", at: i)
            return "blank line before line \(i + 1)"
        case 1:
            lines.insert("# " + String(repeating: "comment ", count: random.index(below: 20_000)), at: i)
            return "comment line before line \(i + 1)"
        case 2:
            guard i < lines.count, let equals = lines[i].firstIndex(of: "="), !lines[i].hasPrefix("#") else { return "nothing" }
            let key = lines[i][..<equals].trimmingSpaces, value = lines[i][lines[i].index(after: equals)...].trimmingSpaces
            lines[i] = "\t" + key + "   =\t" + value + "   "
            return "spacing on line \(i + 1)"
        default:
            guard i < lines.count, lines[i].contains("="), !lines[i].hasPrefix("#"), !lines[i].contains("#"),
                  !lines[i].hasSuffix("[") else { return "nothing" }
            lines[i] += "   # trailing comment ü ✓"
            return "trailing comment on line \(i + 1)"
        }
    }

    /// An edit on whole lines that may break the file.
    static func lineEdit(_ lines: inout [String], _ random: inout SplitMix64) -> String {
        guard !lines.isEmpty else { return "nothing" }
        let i = random.index(below: lines.count)
        let keyLines = lines.indices.filter { lines[$0].contains("=") && !lines[$0].hasPrefix("#") }
        func setValue(_ line: Int, _ value: String) {
            if let equals = lines[line].firstIndex(of: "=") { lines[line] = String(lines[line][...equals]) + " " + value }
        }
        switch random.index(below: 12) {
        case 0:
            lines.remove(at: i)
            return "deleted line \(i + 1)"
        case 1:
            lines.insert(lines[i], at: i)
            return "duplicated line \(i + 1)"
        case 2:
            guard let a = keyLines.randomElement(&random), let b = keyLines.randomElement(&random) else { return "nothing" }
            let valueA = String(lines[a][lines[a].index(after: lines[a].firstIndex(of: "=")!)...])
            let valueB = String(lines[b][lines[b].index(after: lines[b].firstIndex(of: "=")!)...])
            setValue(a, valueB.trimmingSpaces)
            setValue(b, valueA.trimmingSpaces)
            return "swapped values of lines \(a + 1) and \(b + 1)"
        case 3, 4:
            guard let line = keyLines.randomElement(&random), let value = wrongValues.randomElement(&random) else { return "nothing" }
            setValue(line, value)
            return "wrong value \(value) on line \(line + 1)"
        case 5, 6:
            guard let line = keyLines.randomElement(&random), let value = hugeValues.randomElement(&random) else { return "nothing" }
            setValue(line, value)
            return "number \(value) on line \(line + 1)"
        case 7:
            guard let line = keyLines.randomElement(&random) else { return "nothing" }
            setValue(line, "\"\"")
            return "empty string on line \(line + 1)"
        case 8:  // a very long value, key or line
            let length = 1_000 << random.index(below: 8)  // 1 000 … 128 000 characters
            switch random.index(below: 3) {
            case 0:
                guard let line = keyLines.randomElement(&random) else { return "nothing" }
                setValue(line, "\"" + String(repeating: "x", count: length) + "\"")
            case 1: lines.insert(String(repeating: "k", count: length) + " = 1", at: i)
            default: lines.insert(String(repeating: "1", count: length), at: i)
            }
            return "line of \(length) characters near line \(i + 1)"
        case 9:  // a printable garbage character somewhere in the line
            var characters = Array(lines[i])
            guard !characters.isEmpty else { return "nothing" }
            characters[random.index(below: characters.count)] = Character(Unicode.Scalar(UInt8(33 + random.index(below: 94))))
            lines[i] = String(characters)
            return "garbage character on line \(i + 1)"
        case 10:
            lines[i] = String(lines[i].prefix(random.index(below: lines[i].count + 1)))
            return "truncated line \(i + 1)"
        default:
            guard let header = headers.randomElement(&random) else { return "nothing" }
            lines.insert(header, at: i)
            return "header \(header) before line \(i + 1)"
        }
    }

    /// An edit on the raw bytes: invalid UTF-8, NUL, a flipped bit, random bytes, truncation.
    static func byteEdit(_ bytes: inout [UInt8], _ random: inout SplitMix64) -> String {
        guard !bytes.isEmpty else { return "nothing" }
        let at = random.index(below: bytes.count + 1)
        switch random.index(below: 5) {
        case 0:
            let sequence = invalidUTF8[random.index(below: invalidUTF8.count)]
            bytes.insert(contentsOf: sequence, at: at)
            return "invalid UTF-8 \(sequence) at byte \(at)"
        case 1:
            bytes.removeSubrange(at...)
            return "truncated at byte \(at)"
        case 2:
            let count = 1 + random.index(below: 8)
            for _ in 0..<count {
                let i = random.index(below: bytes.count)
                bytes[i] ^= UInt8(1 << random.index(below: 8))
            }
            return "\(count) bit flips"
        case 3:
            let count = 1 + random.index(below: 8)
            for _ in 0..<count { bytes.insert(UInt8(random.index(below: 256)), at: random.index(below: bytes.count + 1)) }
            return "\(count) random bytes inserted"
        default:
            bytes.insert(0, at: at)
            return "NUL at byte \(at)"
        }
    }

    /// Runs mutants `range` through the loader (and the planner when accepted) and checks the
    /// promises; `onViolation` sees each broken one as it is found.
    public func run(_ range: Range<Int>, onViolation: (String) -> Void = { _ in }) -> Report {
        var report = Report()
        for index in range {
            let mutant = mutant(index)
            report.mutants += 1
            if mutant.mustBeAccepted { report.harmless += 1 }
            let problems = Self.check(mutant, index: index)
            if problems.accepted { report.accepted += 1 } else if problems.violations.isEmpty { report.rejectedWithLocation += 1 }
            for violation in problems.violations {
                report.violations.append(violation)
                onViolation(violation)
            }
        }
        return report
    }

    /// Loads one mutant; returns whether it was accepted and the promises it broke (each
    /// message names the mutant's `index`).
    public static func check(_ mutant: Mutant, index: Int) -> (accepted: Bool, violations: [String]) {
        let name = "mutant \(index) (\(mutant.edits.joined(separator: "; ")))"
        do {
            let configuration = try ConfigurationLoader.parse(bytes: mutant.bytes, path: "/fuzz/agent.conf")
            // What check-config prints under each bus: the request plan must build or refuse.
            for bus in configuration.buses {
                if let plan = try? RequestPlan(bus: bus, machines: configuration.machines) { _ = plan.lines() }
            }
            return (true, [])
        } catch {
            var violations: [String] = []
            if mutant.mustBeAccepted { violations.append("\(name): harmless edits rejected: \(error.description.prefix(300))") }
            if error.problems.isEmpty { violations.append("\(name): an error without problems") }
            let lineCount = mutant.bytes.count { $0 == UInt8(ascii: "\n") } + 1
            for problem in error.problems {
                if problem.keyPath.isEmpty && problem.line == nil {
                    violations.append("\(name): neither line nor key path: \(problem.message.prefix(300))")
                }
                if let line = problem.line, !(1...lineCount).contains(line) {
                    violations.append("\(name): line \(line) outside the file's \(lineCount) lines: \(problem.message.prefix(300))")
                }
                if problem.message.isEmpty { violations.append("\(name): empty message") }
            }
            return (false, violations)
        }
    }
}

extension Array {
    fileprivate func randomElement(_ random: inout SplitMix64) -> Element? {
        isEmpty ? nil : self[random.index(below: count)]
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
