import Foundation
import Testing
import TestSupport

@testable import Summaries

/// The JSON and CSV summaries describe every sensor with the same fields, and the README's
/// column table is the CSV header a program reads.
@Suite("Summary fields and columns")
struct SummaryColumnsTests {
    @Test("every JSON sensor has normal_state, null when its range does not depend on a state (as normal_low/high)")
    func normalStateAlwaysPresent() throws {
        var input = smallInput()
        input.sensors[0].normalLow = 4
        input.sensors[0].normalHigh = 6
        input.sensors[1].normalLow = 30
        input.sensors[1].normalHigh = 50
        input.sensors[1].normalState = "loaded = 1"
        let text = SummaryJSON.render(input, statistics: SummaryStatistics(input))
        let object = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let sensors = try #require(object["sensors"] as? [[String: Any]])
        #expect(sensors.count == 2)
        #expect(Set(sensors[0].keys) == Set(sensors[1].keys))
        #expect(sensors[0].keys.contains("normal_state"))
        #expect(sensors[0]["normal_state"] is NSNull)
        #expect(sensors[1]["normal_state"] as? String == "loaded = 1")
        // The CSV's last column says the same, empty for the first sensor.
        let csv = SummaryCSV.render(input, statistics: SummaryStatistics(input)).split(separator: "\n")
        #expect(csv[1].hasSuffix(",4,6,"))
        #expect(csv[2].hasSuffix(",30,50,loaded = 1"))
    }

    @Test("the README's table of CSV columns is the header, in order")
    func readmeListsTheColumns() throws {
        let readme = try String(contentsOfFile: repositoryRoot() + "/README.md", encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("**CSV**") })
        let tableStart = try #require(lines[start...].firstIndex { $0.hasPrefix("| column |") })
        var documented: [String] = []
        for line in lines[(tableStart + 2)...] {
            guard line.hasPrefix("| `") else { break }
            documented.append(String(line.dropFirst(3).prefix { $0 != "`" }))
        }
        #expect(documented == SummaryCSV.columns)
    }
}
