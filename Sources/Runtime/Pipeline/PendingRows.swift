import EdgeCore

/// A machine's running (and settling) rows waiting out its stop grace (`RunState.stopGrace`)
/// before they are taken: a ring of (time, readings, model row, settling), allocated when the
/// model is installed so that the hot path does not allocate (it grows only if more rows arrive
/// within the grace than the poll interval lets one expect).
struct PendingRows {
    let sensorCount: Int
    let columnCount: Int
    private var times: [Timestamp]
    private var values: [Double]
    private var modelRows: [Float]
    private var settling: [Bool]
    private var head = 0
    /// Rows waiting.
    private(set) var count = 0

    /// An empty ring for rows of `sensorCount` readings and `columnCount` model columns.
    init(sensorCount: Int, columnCount: Int, capacity: Int) {
        self.sensorCount = sensorCount
        self.columnCount = columnCount
        let capacity = max(1, capacity)
        times = Array(repeating: Timestamp(millisecondsSinceEpoch: 0), count: capacity)
        values = Array(repeating: .nan, count: capacity * sensorCount)
        modelRows = Array(repeating: .nan, count: capacity * columnCount)
        settling = Array(repeating: false, count: capacity)
    }

    /// The time of the oldest waiting row.
    var oldestTime: Timestamp? { count > 0 ? times[head] : nil }

    /// Forgets every waiting row (the machine stopped: they were its coast-down).
    mutating func removeAll() {
        head = 0
        count = 0
    }

    /// Adds the newest row; `settling`: the machine was settling after a start (never judged).
    mutating func append(time: Timestamp, values row: [Double], modelRow: [Float], settling isSettling: Bool = false) {
        if count == times.count { grow() }
        let slot = (head + count) % times.count
        times[slot] = time
        settling[slot] = isSettling
        for i in 0..<sensorCount { values[slot * sensorCount + i] = row[i] }
        for c in 0..<columnCount { modelRows[slot * columnCount + c] = modelRow[c] }
        count += 1
    }

    /// Takes the oldest row out into `row` and `modelRow` and returns its time and whether the
    /// machine was settling then.
    mutating func removeOldest(into row: inout [Double], modelRow: inout [Float]) -> (time: Timestamp, settling: Bool) {
        precondition(count > 0, "no pending row")
        let slot = head
        for i in 0..<sensorCount { row[i] = values[slot * sensorCount + i] }
        for c in 0..<columnCount { modelRow[c] = modelRows[slot * columnCount + c] }
        head = (head + 1) % times.count
        count -= 1
        return (times[slot], settling[slot])
    }

    /// Doubles the capacity, keeping the waiting rows in order.
    private mutating func grow() {
        var bigger = PendingRows(sensorCount: sensorCount, columnCount: columnCount, capacity: 2 * times.count)
        var row = [Double](repeating: .nan, count: sensorCount), model = [Float](repeating: .nan, count: columnCount)
        while count > 0 {
            let (time, isSettling) = removeOldest(into: &row, modelRow: &model)
            bigger.append(time: time, values: row, modelRow: model, settling: isSettling)
        }
        self = bigger
    }
}
