import Configuration
import Foundation
import Testing
import TestSupport

@Suite("Mutation fuzzing of agent.conf")
struct FuzzTests {
    static func fuzzer(seed: UInt64) throws -> ConfigurationFuzzer {
        let original = try String(contentsOfFile: repositoryRoot() + "/agent.conf", encoding: .utf8)
        return ConfigurationFuzzer(original: original, seed: seed)
    }

    @Test("300 mutants of agent.conf: no crash, every rejection located by line or key path, harmless edits accepted")
    func mutations() throws {
        let report = try Self.fuzzer(seed: 20_261_129).run(0..<300)
        #expect(report.violations.isEmpty, "\(report.violations.prefix(5).joined(separator: "\n"))")
        #expect(report.mutants == 300)
        // Harmful edits must mostly reach the checks, and harmless ones must be in the mix.
        #expect(report.rejectedWithLocation > 150, "\(report)")
        #expect(report.harmless > 10, "\(report)")
        #expect(report.accepted >= report.harmless, "\(report)")
    }

    @Test("The same seed gives the same mutants; another seed gives others")
    func deterministic() throws {
        let a = try Self.fuzzer(seed: 7), b = try Self.fuzzer(seed: 7), c = try Self.fuzzer(seed: 8)
        #expect((0..<20).allSatisfy { a.mutant($0).bytes == b.mutant($0).bytes })
        #expect((0..<20).contains { a.mutant($0).bytes != c.mutant($0).bytes })
    }

    @Test("The fuzzer's promises can fail: a located check catches an unlocated problem")
    func checksCanFail() throws {
        // A harmless-only mutant that is in fact broken must be reported as a violation.
        var broken = ConfigurationFuzzer.Mutant(bytes: Array("[agent]\nnot toml at all\n".utf8), edits: ["test"], mustBeAccepted: true)
        var violations = ConfigurationFuzzer.check(broken, index: 0).violations
        #expect(violations.contains { $0.contains("harmless edits rejected") })
        broken.mustBeAccepted = false
        violations = ConfigurationFuzzer.check(broken, index: 0).violations
        #expect(violations.isEmpty, "\(violations)")
    }

    /// Values at the edge of what numbers and units can hold, each through the loader.
    @Test("Huge numbers, signed zero and overflowing units are refused with their key path", arguments: [
        ("port", "9223372036854775807"), ("port", "-9223372036854775808"), ("port", "1e308"), ("port", "-0"),
        ("port", "-0.0"), ("port", "nan"), ("port", "inf"), ("response_timeout", "\"9223372036854775807ms\""),
        ("response_timeout", "\"9223372036854775807d\""), ("response_timeout", "\"99999999999999999999999s\""),
        ("response_timeout", "\"-0ms\""), ("response_timeout", "\"\""), ("max_gap", "18446744073709551615"),
    ])
    func hugeNumbers(key: String, value: String) throws {
        let original = try String(contentsOfFile: repositoryRoot() + "/agent.conf", encoding: .utf8)
        var lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = try #require(lines.firstIndex { $0.hasPrefix("\(key) = ") })
        lines[index] = "\(key) = \(value)"
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(bytes: Array(lines.joined(separator: "\n").utf8), path: "agent.conf")
        }
        let problem = try #require(error?.problems.first)
        #expect(problem.line == index + 1 || problem.keyPath == "bus[1].\(key)", "\(problem)")
    }
}
