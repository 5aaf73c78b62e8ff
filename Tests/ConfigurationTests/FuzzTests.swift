import Configuration
import Foundation
import Testing
import TestSupport

/// A small deterministic generator (SplitMix64) so a failing mutation can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Mutation fuzzing of agent.conf")
struct FuzzTests {
    static let wrongValues = [
        "\"text\"", "true", "3.5", "[1, 2]", "{ a = 1 }", "-1", "1979-05-27T07:32:00Z", "07:32:00", "\"\"", "[]",
        "9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e308", "-1e308", "inf", "nan",
        "65536", "0", "\"99999999999999d\"", "\"1e9GB\"", "\"flaot32\"", "\"CDBA\"", "\"/\"", "\"\\u0000\"",
    ]

    /// Applies one random mutation to the lines of the file.
    static func mutate(_ lines: inout [String], _ rng: inout SplitMix64) {
        guard !lines.isEmpty else { return }
        let i = Int.random(in: 0..<lines.count, using: &rng)
        switch Int.random(in: 0..<8, using: &rng) {
        case 0:
            lines.remove(at: i)
        case 1:  // swap the values of two `key = value` lines
            let j = Int.random(in: 0..<lines.count, using: &rng)
            if let a = lines[i].firstIndex(of: "="), let b = lines[j].firstIndex(of: "=") {
                let (valueA, valueB) = (lines[i][lines[i].index(after: a)...], lines[j][lines[j].index(after: b)...])
                (lines[i], lines[j]) = (String(lines[i][...a] + valueB), String(lines[j][...b] + valueA))
            }
        case 2, 3:  // a wrong type or a huge number as value
            if let a = lines[i].firstIndex(of: "=") {
                lines[i] = String(lines[i][...a]) + " " + wrongValues.randomElement(using: &rng)!
            }
        case 4:
            lines.insert(lines[i], at: i)
        case 5:  // garbage characters in the key
            var key = Array(lines[i])
            if !key.isEmpty { key[Int.random(in: 0..<key.count, using: &rng)] = Character(Unicode.Scalar(UInt8.random(in: 33...126, using: &rng))) }
            lines[i] = String(key)
        case 6:
            lines[i] = String(lines[i].prefix(Int.random(in: 0...lines[i].count, using: &rng)))
        default:
            lines.insert(["[agent]", "[[bus]]", "[[machine]]", "[[machine.sensor]]", "[bus]", "[machine.sensor]", "[[agent]]", "x.y.z = 1"].randomElement(using: &rng)!, at: i)
        }
    }

    @Test("300 mutations of agent.conf never crash and every problem has a key path or a line")
    func mutations() throws {
        let path = repositoryRoot() + "/agent.conf"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        let originalLines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var rng = SplitMix64(state: 20_261_129)
        var rejected = 0
        for round in 0..<300 {
            var lines = originalLines
            for _ in 0..<Int.random(in: 1...3, using: &rng) { Self.mutate(&lines, &rng) }
            var bytes = Array(lines.joined(separator: "\n").utf8)
            if round % 5 == 0 {  // random bytes, including invalid UTF-8 and NUL
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                }
            }
            do {
                _ = try ConfigurationLoader.parse(bytes: bytes, path: "fuzz.conf")
            } catch {
                rejected += 1
                #expect(!error.problems.isEmpty, "round \(round): an error without problems")
                let lineCount = bytes.count { $0 == UInt8(ascii: "\n") } + 1
                for problem in error.problems {
                    #expect(!problem.keyPath.isEmpty || problem.line != nil, "round \(round): \(problem) has neither key path nor line")
                    if let line = problem.line { #expect((1...lineCount).contains(line), "round \(round): line \(line) of \(lineCount)") }
                    #expect(!problem.message.isEmpty)
                }
            }
        }
        // Most mutations break the file; if they did not, the mutations are not reaching the checks.
        #expect(rejected > 150, "only \(rejected) of 300 mutations were rejected")
    }
}
