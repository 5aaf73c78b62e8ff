import Detection
import TestSupport
import Testing

@Suite("CSV reading for replay, evaluate and calibrate")
struct EvaluationCSVTests {
    @Test("semicolons and CRLF, SKAB style, labels set aside")
    func semicolonCRLF() throws {
        let text = "datetime;A;B;anomaly;changepoint\r\n2020-03-09 10:14:33;1.5;2;0.0;0.0\r\n2020-03-09 10:14:34;-3e-1;4;1.0;0.0\r\n"
        let t = try CSVReader().parse(text: text)
        #expect(t.sensorNames == ["A", "B"])
        #expect(t.timestamps == ["2020-03-09 10:14:33", "2020-03-09 10:14:34"])
        #expect(t.values == [1.5, 2, -0.3, 4])
        #expect(t.anomalyLabels == [0, 1])
        #expect(t.changepointLabels == [0, 0])
    }

    @Test("the label-column check reads only the header (blank lines first, no newline, bad rows after)", arguments: [
        ("\n  \n\r\ndatetime;A;anomaly\n1;x;y\n", true),
        ("x,timestamp,label,y", true),
        ("\u{FEFF}datetime;A;Anomaly\r\n", true),
        ("machine,fault,start\npump-1,leak,2026-01-01T00:49:20Z\n", false),
        ("datetime;A\n1;2\n", false),
    ])
    func labelColumnFromTheHeader(text: String, labelled: Bool) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try TextFile.write(text, to: dir.file("f.csv"))
        #expect(try CSVReader().hasLabelColumn(path: dir.file("f.csv")) == labelled)
    }

    @Test("the label-column check refuses an empty file and one whose first line never ends")
    func labelColumnBadFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try TextFile.write("", to: dir.file("empty.csv"))
        #expect(throws: CSVReadError.self) { try CSVReader().hasLabelColumn(path: dir.file("empty.csv")) }
        try TextFile.write(String(repeating: "a", count: CSVReader.maximumLineBytes + 10), to: dir.file("long.csv"))
        #expect(throws: CSVReadError.self) { try CSVReader().hasLabelColumn(path: dir.file("long.csv")) }
        #expect(throws: CSVReadError.self) { try CSVReader().hasLabelColumn(path: dir.file("missing.csv")) }
    }

    @Test("running rows: stops and the settling rows after each start are dropped with their labels")
    func runningRowsDropStopsAndSettling() throws {
        // Rows 0–2 run (before any stop: kept), 3–4 stopped, 5–6 settling (2 rows), 7–8 run,
        // 9 has no run-signal reading (held: still running, kept), 10 runs; 11–17 have none:
        // 11–15 are held (5 rows), 16–17 unknown (dropped); 18 reads running again: a start,
        // 18–19 settling, 20–21 run.
        let nan = Float.nan
        let running: [Float] = [1, 1, 1, 0, 0, 1, 1, 1, 1, nan, 1] + [Float](repeating: nan, count: 7) + [1, 1, 1, 1]
        let labels: [UInt8] = [0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1] + [UInt8](repeating: 0, count: 11)
        let times = running.indices.map { "t\($0)" }
        let values = running.indices.flatMap { [Float($0) * 10, running[$0]] }
        let table = SensorTable(sensorNames: ["flow", "running"], timestamps: times, values: values, anomalyLabels: labels)
        let (kept, excluded) = table.runningRows(signal: "running", settleRows: 2)
        #expect(excluded == 8)
        #expect(kept.sensorNames == ["flow"])
        #expect(kept.timestamps == ["t0", "t1", "t2", "t7", "t8", "t9", "t10", "t11", "t12", "t13", "t14", "t15", "t20", "t21"])
        #expect(kept.values == [0, 10, 20, 70, 80, 90, 100, 110, 120, 130, 140, 150, 200, 210])
        #expect(kept.anomalyLabels == [0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        // The run after the stop starts at t7 (a missing run-signal reading is no stop), the
        // one after the unknown stretch at t20.
        #expect(kept.runStarts == [3, 12])
        #expect(kept.prefix(rows: 3).runStarts.isEmpty)
        #expect(kept.prefix(rows: 4).runStarts == [3])
        // No such column: the table is used whole.
        #expect(table.runningRows(signal: "speed", settleRows: 2).excluded == 0)
    }

    @Test("commas and LF, timestamp column not first, label column named label")
    func commaLF() throws {
        let text = "x,timestamp,label,y\n1,2026-01-01T00:00:00Z,1,7\n2,2026-01-01T00:00:01Z,0,8"
        let t = try CSVReader().parse(text: text)
        #expect(t.sensorNames == ["x", "y"])
        #expect(t.timestamps.count == 2)
        #expect(t.values == [1, 7, 2, 8])
        #expect(t.anomalyLabels == [1, 0])
        #expect(t.changepointLabels == nil)
    }

    @Test("the first column is the timestamp when none is named")
    func firstColumnTimestamp() throws {
        let t = try CSVReader().parse(text: "time,a\n5,1\n6,2\n")
        #expect(t.sensorNames == ["a"])
        #expect(t.timestamps == ["5", "6"])
    }

    @Test("empty cells are missing readings (NaN)")
    func missingValues() throws {
        let t = try CSVReader().parse(text: "datetime;a;b\nt1;;2\nt2;3;\n")
        #expect(t.values[0].isNaN)
        #expect(t.values[1] == 2)
        #expect(t.values[2] == 3)
        #expect(t.values[3].isNaN)
    }

    @Test("a non-numeric cell is refused, naming the line and column")
    func nonNumeric() throws {
        let text = "datetime;Current;Pressure\nt1;1;2\nt2;1;abc\n"
        do {
            _ = try CSVReader().parse(text: text, name: "pump.csv")
            Issue.record("expected an error")
        } catch let error as CSVReadError {
            #expect(error.code == .notANumber)
            #expect(error.line == 3)
            #expect(error.column == "Pressure")
            #expect(error.description.contains("pump.csv, line 3, column \"Pressure\""))
            #expect(error.description.contains("abc"))
        }
    }

    @Test("a row with the wrong number of cells is refused")
    func wrongCellCount() throws {
        #expect(throws: CSVReadError.self) { try CSVReader().parse(text: "t;a;b\n1;2\n") }
    }

    @Test("absurd input is refused without allocating for it")
    func tooManyColumns() throws {
        let header = "t" + String(repeating: ";c", count: CSVReader.maximumColumnCount + 5)
        do {
            _ = try CSVReader().parse(text: header + "\n")
            Issue.record("expected an error")
        } catch let error as CSVReadError {
            #expect(error.code == .tooManyColumns)
        }
        #expect(throws: CSVReadError.self) { try CSVReader().parse(text: "") }
        #expect(throws: CSVReadError.self) { try CSVReader().parse(text: "datetime;anomaly\n") }
    }

    @Test("reading a file in chunks gives the same table as parsing it whole")
    func fileMatchesText() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var text = "datetime;a;b;anomaly\r\n"
        for i in 0..<20_000 { text += "2020-01-01 00:00:\(i % 60);\(Double(i) * 0.25);\(i % 7 == 0 ? "" : "\(i)");\(i % 2)\r\n" }
        try TextFile.write(text, to: dir.file("big.csv"))
        let fromFile = try CSVReader().read(path: dir.file("big.csv"))
        let fromText = try CSVReader().parse(text: text)
        #expect(fromFile.rowCount == 20_000)
        #expect(fromFile.timestamps == fromText.timestamps)
        #expect(fromFile.anomalyLabels == fromText.anomalyLabels)
        #expect(zip(fromFile.values, fromText.values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        #expect(fromFile.values[1].isNaN)
        #expect(fromFile.values[2] == 0.25)
    }

    @Test("a missing file gives a clear error")
    func missingFile() {
        #expect(throws: CSVReadError.self) { try CSVReader().read(path: "/nonexistent/file.csv") }
    }
}
