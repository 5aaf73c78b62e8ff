import EdgeCore
import Testing

/// `RunState`, the one rule for which rows of a machine with a run signal are scored, row by row.
@Suite struct RunStateTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var level = RunState.contactLevel
        var settle: Int64 = 2
        var hold: Int64 = 2
        /// One run-signal reading per row (time = row number); NaN: not read.
        var readings: [Double]
        /// The expected phase of each row: R running, S settling, X stopped, U unknown.
        var phases: String
        /// The rows whose windows start afresh.
        var fresh: [Int]
        var description: String { name }
    }

    static let nan = Double.nan
    static let cases = [
        Case(name: "running from the start counts as settled", readings: [1, 1, 1], phases: "RRR", fresh: []),
        Case(name: "a stop, then settling for 2 rows", readings: [1, 0, 0, 1, 1, 1, 1], phases: "RXXSSRR", fresh: [5]),
        Case(name: "no settling: the first running row is scored afresh", settle: 0, readings: [1, 0, 1, 1], phases: "RXRR", fresh: [2]),
        Case(name: "a missing reading is held while running", readings: [1, nan, nan, 1], phases: "RRRR", fresh: []),
        Case(name: "a missing reading is held while stopped", readings: [1, 0, nan, nan, 0], phases: "RXXXX", fresh: []),
        Case(name: "beyond the hold: unknown, then reading again is a start", readings: [1, nan, nan, nan, nan, 1, 1, 1],
             phases: "RRRUUSSR", fresh: [7]),
        Case(name: "unknown, then stopped", readings: [1, nan, nan, nan, 0, 1, 1, 1], phases: "RRRUXSSR", fresh: [7]),
        Case(name: "missing from the first row: held, then unknown", readings: [nan, nan, nan, nan, 1, 1, 1],
             phases: "RRRUSSR", fresh: [6]),
        Case(name: "held during settling, settling keeps its clock", readings: [0, 1, nan, 1, 1], phases: "XSSRR", fresh: [3]),
        Case(name: "a measured signal against its threshold", level: 10, settle: 0, readings: [90, 40, 9.9, 0.5, 12, 80],
             phases: "RRXXRR", fresh: [4]),
        Case(name: "the contact level is 0.5", readings: [1, 0.49, 0.5, 0.5, 0.5], phases: "RXSSR", fresh: [4]),
    ]

    @Test(arguments: cases)
    func phases(of c: Case) {
        var state = RunState(runningLevel: c.level, settleTime: c.settle, holdTime: c.hold)
        var phases = "", fresh: [Int] = []
        for (r, reading) in c.readings.enumerated() {
            switch state.observe(reading, at: Int64(r)) {
            case .running: phases += "R"
            case .settling: phases += "S"
            case .stopped: phases += "X"
            case .unknown: phases += "U"
            }
            if state.startsAfresh { fresh.append(r) }
            #expect(state.isScored == (phases.last == "R"))
        }
        #expect(phases == c.phases)
        #expect(fresh == c.fresh)
    }
}
