/// Calibration rows that hold several runs of a machine (its stops were left out, see
/// `SensorTable.runningRows` and `runStarts`): the helpers that keep windows and streaming
/// compensations inside one run, as the agent's start afresh after a stop.
enum CalibrationRuns {
    /// The run of each of `rows` rows, runs beginning at `starts` (row indices, any order); nil
    /// when there is only one run, so that callers keep their plain path.
    static func runOfRow(rows: Int, starts: [Int]) -> [Int]? {
        let inside = Set(starts.filter { $0 > 0 && $0 < rows }).sorted()
        guard !inside.isEmpty else { return nil }
        var runs = [Int](repeating: 0, count: rows)
        var run = 0, next = inside[...]
        for r in 0..<rows {
            if let start = next.first, start == r {
                next.removeFirst()
                run += 1
            }
            runs[r] = run
        }
        return runs
    }

    /// `f` applied to each run's rows on its own (row-major, `sensorCount` values per row), the
    /// results concatenated: a streaming compensation starts afresh after each stop, as in the agent.
    static func byRun(_ values: ArraySlice<Float>, sensorCount n: Int, starts: [Int],
                      _ f: (ArraySlice<Float>) -> [Float]) -> [Float] {
        byRun(values, sensorCount: n, starts: starts) { rows, _ in f(rows) }
    }

    /// As `byRun(_:sensorCount:starts:_:)`, telling `f` whether the run follows a stop (every
    /// run but the first).
    static func byRun(_ values: ArraySlice<Float>, sensorCount n: Int, starts: [Int],
                      _ f: (ArraySlice<Float>, _ afterStop: Bool) -> [Float]) -> [Float] {
        let rows = n > 0 ? values.count / n : 0
        let inside = Set(starts.filter { $0 > 0 && $0 < rows }).sorted()
        guard !inside.isEmpty else { return f(values, false) }
        var out: [Float] = []
        out.reserveCapacity(values.count)
        for (begin, end) in zip([0] + inside, inside + [rows]) {
            out += f(values[(values.startIndex + begin * n)..<(values.startIndex + end * n)], begin > 0)
        }
        return out
    }
}
