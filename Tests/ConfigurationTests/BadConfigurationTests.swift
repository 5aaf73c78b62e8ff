import Configuration
import EdgeCore
import Testing

/// A small valid file; each case edits a few of its lines and expects one named problem.
private let base = """
    [agent]
    log_level = "info"

    [[bus]]
    name = "sim"
    type = "tcp"
    host = "127.0.0.1"
    port = 5020

    [[machine]]
    id = "pump-1"
    poll_interval = "1s"
    window_length = 32

    [[machine.sensor]]
    name = "flow"
    bus = "sim"
    unit_id = 1
    kind = "holding"
    address = 100
    type = "float32"
    order = "CDAB"

    [[machine.sensor]]
    name = "pressure"
    bus = "sim"
    address = 102
    type = "uint16"
    scale = 0.1
    """

/// `base` with the given 1-based lines replaced and `extra` appended.
private func edited(_ replacements: [Int: String], appending extra: String = "") -> String {
    var lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    for (line, text) in replacements { lines[line - 1] = text }
    return lines.joined(separator: "\n") + extra
}

/// The problems of a file that must not load.
private func problems(in text: String) -> [ConfigurationError.Problem] {
    do {
        let configuration = try ConfigurationLoader.parse(text, path: "test.conf")
        Issue.record("expected the file to be rejected, but it loaded with \(configuration.machines.count) machine(s)")
        return []
    } catch {
        return error.problems
    }
}

/// One bad configuration and the problem it must produce.
struct BadCase: CustomTestStringConvertible, Sendable {
    var name: String
    var text: String
    var keyPath: String
    var line: Int?
    /// Fragments the message must contain (what was expected).
    var fragments: [String]
    var testDescription: String { name }
}

private let extraMachine = """

    [[machine]]
    id = "pump-1"

    [[machine.sensor]]
    name = "flow"
    bus = "sim"
    address = 0
    """

private let extraBus = """

    [[bus]]
    name = "sim"
    type = "tcp"
    host = "10.0.0.2"
    """

let badCases: [BadCase] = [
    BadCase(name: "typo'd key", text: edited([20: "adress = 100"]),
            keyPath: "machine[1].sensor[1].adress", line: 20, fragments: ["unknown key \"adress\"", "did you mean \"address\"?"]),
    BadCase(name: "typo'd key at the top level", text: edited([1: "[agnet]"]),
            keyPath: "agnet", line: 1, fragments: ["unknown key \"agnet\"", "did you mean \"agent\"?"]),
    BadCase(name: "key under the wrong header", text: edited([29: "poll_interval = \"2s\""]),
            keyPath: "machine[1].sensor[2].poll_interval", line: 29, fragments: ["unknown key", "belongs in [[machine]]"]),
    BadCase(name: "unknown type", text: edited([21: "type = \"flaot32\""]),
            keyPath: "machine[1].sensor[1].type", line: 21,
            fragments: ["unknown type \"flaot32\"", "expected one of bool, int16, uint16, int32, uint32, int64, uint64, float32, float64", "did you mean \"float32\"?"]),
    BadCase(name: "unknown register kind", text: edited([19: "kind = \"holdng\""]),
            keyPath: "machine[1].sensor[1].kind", line: 19, fragments: ["unknown register kind \"holdng\"", "coil, discrete, holding, input"]),
    BadCase(name: "unknown word order", text: edited([22: "order = \"BACD\""]),
            keyPath: "machine[1].sensor[1].order", line: 22, fragments: ["unknown word order \"BACD\"", "ABCD, DCBA, BADC, CDAB"]),
    BadCase(name: "sensor on a bus that does not exist", text: edited([26: "bus = \"sym\""]),
            keyPath: "machine[1].sensor[2].bus", line: 26, fragments: ["bus \"sym\" is not defined", "did you mean \"sim\"?"]),
    BadCase(name: "sensor on a bus that does not exist, no near name", text: edited([26: "bus = \"line-b\""]),
            keyPath: "machine[1].sensor[2].bus", line: 26, fragments: ["bus \"line-b\" is not defined", "defined buses: sim"]),
    BadCase(name: "two sensors with the same name", text: edited([25: "name = \"flow\""]),
            keyPath: "machine[1].sensor[2].name", line: 25, fragments: ["duplicate sensor name \"flow\"", "machine[1].sensor[1] on line 15"]),
    BadCase(name: "two sensors with the same name, the second also broken", text: edited([25: "name = \"flow\"", 28: "type = \"flaot32\""]),
            keyPath: "machine[1].sensor[2].name", line: 25, fragments: ["duplicate sensor name \"flow\""]),
    BadCase(name: "duplicate machine ids", text: edited([:], appending: extraMachine),
            keyPath: "machine[2].id", line: 31, fragments: ["duplicate machine id \"pump-1\"", "machine[1] on line 10"]),
    BadCase(name: "duplicate bus names", text: edited([:], appending: extraBus),
            keyPath: "bus[2].name", line: 31, fragments: ["duplicate bus name \"sim\"", "bus[1] on line 4"]),
    BadCase(name: "register address above 65535", text: edited([20: "address = 70000"]),
            keyPath: "machine[1].sensor[1].address", line: 20, fragments: ["70000 is out of range", "0…65535"]),
    BadCase(name: "negative register address", text: edited([27: "address = -1"]),
            keyPath: "machine[1].sensor[2].address", line: 27, fragments: ["-1 is out of range", "0…65535"]),
    BadCase(name: "a type that overruns the register range", text: edited([20: "address = 65535"]),
            keyPath: "machine[1].sensor[1].address", line: 20, fragments: ["float32 at address 65535 needs 2 registers", "65535…65536", "at most 65534"]),
    BadCase(name: "float64 overrunning the register range", text: edited([20: "address = 65533", 21: "type = \"float64\""]),
            keyPath: "machine[1].sensor[1].address", line: 20, fragments: ["needs 4 registers", "65533…65536", "at most 65532"]),
    BadCase(name: "bit with a non-bool type", text: edited([29: "bit = 3"]),
            keyPath: "machine[1].sensor[2].bit", line: 29, fragments: ["needs type = \"bool\"", "found \"uint16\""]),
    BadCase(name: "bit index above 15", text: edited([28: "type = \"bool\"", 29: "bit = 16"]),
            keyPath: "machine[1].sensor[2].bit", line: 29, fragments: ["16 is out of range", "0…15"]),
    BadCase(name: "bit on a coil", text: edited([28: "kind = \"coil\"", 29: "bit = 1"]),
            keyPath: "machine[1].sensor[2].bit", line: 29, fragments: ["holding and input registers only"]),
    BadCase(name: "non-bool type on a discrete input", text: edited([19: "kind = \"discrete\"", 22: ""]),
            keyPath: "machine[1].sensor[1].type", line: 21, fragments: ["type must be \"bool\"", "found \"float32\""]),
    BadCase(name: "unit id above 247", text: edited([18: "unit_id = 248"]),
            keyPath: "machine[1].sensor[1].unit_id", line: 18, fragments: ["unit id 248 is out of range", "0…247"]),
    BadCase(name: "unit id 0 on a serial line", text: edited([6: "type = \"rtu\"", 7: "device = \"/dev/ttyUSB0\"", 8: "", 18: "unit_id = 0"]),
            keyPath: "machine[1].sensor[1].unit_id", line: 18, fragments: ["broadcast", "1…247"]),
    BadCase(name: "rtu: unsupported baud rate", text: edited([6: "type = \"rtu\"", 7: "device = \"/dev/ttyUSB0\"", 8: "baud = 12345"]),
            keyPath: "bus[1].baud", line: 8, fragments: ["12345 is not a baud rate", "9600, 19200"]),
    BadCase(name: "rtu: unknown parity", text: edited([6: "type = \"rtu\"", 7: "device = \"/dev/ttyUSB0\"", 8: "parity = \"X\""]),
            keyPath: "bus[1].parity", line: 8, fragments: ["unknown parity \"X\"", "N, E, O"]),
    BadCase(name: "rtu: data bits", text: edited([6: "type = \"rtu\"", 7: "device = \"/dev/ttyUSB0\"", 8: "data_bits = 9"]),
            keyPath: "bus[1].data_bits", line: 8, fragments: ["9 is out of range", "5…8"]),
    BadCase(name: "rtu: stop bits", text: edited([6: "type = \"rtu\"", 7: "device = \"/dev/ttyUSB0\"", 8: "stop_bits = 3"]),
            keyPath: "bus[1].stop_bits", line: 8, fragments: ["3 is out of range", "1…2"]),
    BadCase(name: "rtu: no device", text: edited([6: "type = \"rtu\"", 7: "", 8: ""]),
            keyPath: "bus[1].device", line: 4, fragments: ["missing key \"device\"", "/dev/ttyUSB0"]),
    BadCase(name: "rtu: tcp keys on a serial bus", text: edited([6: "type = \"rtu\"", 7: "device = \"/dev/ttyUSB0\""]),
            keyPath: "bus[1].port", line: 8, fragments: ["applies to tcp buses only"]),
    BadCase(name: "tcp: serial keys on a tcp bus", text: edited([8: "baud = 9600"]),
            keyPath: "bus[1].baud", line: 8, fragments: ["applies to rtu buses only"]),
    BadCase(name: "tcp: no host", text: edited([7: ""]),
            keyPath: "bus[1].host", line: 4, fragments: ["missing key \"host\""]),
    BadCase(name: "tcp: port out of range", text: edited([8: "port = 70000"]),
            keyPath: "bus[1].port", line: 8, fragments: ["70000 is out of range", "1…65535"]),
    BadCase(name: "tcp: a URL as host", text: edited([7: "host = \"tcp://10.0.0.1:502\""]),
            keyPath: "bus[1].host", line: 7, fragments: ["is not a host name or IP address"]),
    BadCase(name: "unknown bus type", text: edited([6: "type = \"udp\""]),
            keyPath: "bus[1].type", line: 6, fragments: ["unknown bus type \"udp\"", "tcp, rtu"]),
    BadCase(name: "max_registers_per_read above 125", text: edited([8: "max_registers_per_read = 126"]),
            keyPath: "bus[1].max_registers_per_read", line: 8, fragments: ["126 is out of range", "1…125"]),
    BadCase(name: "max_bits_per_read above 2000", text: edited([8: "max_bits_per_read = 2001"]),
            keyPath: "bus[1].max_bits_per_read", line: 8, fragments: ["2001 is out of range", "1…2000"]),
    BadCase(name: "a value wider than the bus's largest read", text: edited([8: "max_registers_per_read = 1"]),
            keyPath: "machine[1].sensor[1].type", line: 21, fragments: ["float32 needs 2 registers in one request", "bus \"sim\" reads at most 1", "max_registers_per_read to 2"]),
    BadCase(name: "max_bits_per_read of 0", text: edited([8: "max_bits_per_read = 0"]),
            keyPath: "bus[1].max_bits_per_read", line: 8, fragments: ["0 is out of range", "1…2000"]),
    BadCase(name: "window_length below 2", text: edited([13: "window_length = 1"]),
            keyPath: "machine[1].window_length", line: 13, fragments: ["1 is out of range", "2…100000"]),
    BadCase(name: "poll interval of zero", text: edited([12: "poll_interval = \"0s\""]),
            keyPath: "machine[1].poll_interval", line: 12, fragments: ["must be greater than 0"]),
    BadCase(name: "poll interval with an unknown unit", text: edited([12: "poll_interval = \"5x\""]),
            keyPath: "machine[1].poll_interval", line: 12, fragments: ["\"5x\" is not a duration", "\"500ms\""]),
    BadCase(name: "a duration longer than ten years", text: edited([12: "poll_interval = \"99999999999d\""]),
            keyPath: "machine[1].poll_interval", line: 12, fragments: ["too long", "at most 3650d"]),
    BadCase(name: "duration written as a bare number", text: edited([12: "poll_interval = 5"]),
            keyPath: "machine[1].poll_interval", line: 12, fragments: ["expected a duration", "found the integer 5"]),
    BadCase(name: "address written as a string", text: edited([20: "address = \"100\""]),
            keyPath: "machine[1].sensor[1].address", line: 20, fragments: ["expected a register address", "found a string"]),
    BadCase(name: "scale written as a boolean", text: edited([29: "scale = true"]),
            keyPath: "machine[1].sensor[2].scale", line: 29, fragments: ["expected a scale factor", "found the boolean true"]),
    BadCase(name: "engineering unit written as a number", text: edited([29: "unit = 1"]),
            keyPath: "machine[1].sensor[2].unit", line: 29, fragments: ["engineering unit as a string", "unit_id"]),
    BadCase(name: "unknown log level", text: edited([2: "log_level = \"verbose\""]),
            keyPath: "agent.log_level", line: 2, fragments: ["unknown log level \"verbose\"", "trace, debug, info"]),
    BadCase(name: "retention size that is not a size", text: edited([2: "retention_size = \"lots\""]),
            keyPath: "agent.retention_size", line: 2, fragments: ["\"lots\" is not a size", "512MB"]),
    BadCase(name: "alert retention age of zero", text: edited([2: "alert_retention_age = \"0d\""]),
            keyPath: "agent.alert_retention_age", line: 2, fragments: ["must be greater than 0"]),
    BadCase(name: "alert retention age that is not a duration", text: edited([2: "alert_retention_age = \"a year\""]),
            keyPath: "agent.alert_retention_age", line: 2, fragments: ["\"a year\" is not a duration", "\"500ms\""]),
    BadCase(name: "alert retention count of zero", text: edited([2: "alert_retention_count = 0"]),
            keyPath: "agent.alert_retention_count", line: 2, fragments: ["0 is out of range", "a number of alerts in 1…10000000"]),
    BadCase(name: "alert retention count written as a string", text: edited([2: "alert_retention_count = \"20000\""]),
            keyPath: "agent.alert_retention_count", line: 2, fragments: ["expected a number of alerts (a whole number in 1…10000000)", "found a string"]),
    BadCase(name: "min not below max", text: edited([29: "min = 5.0\nmax = 5.0"]),
            keyPath: "machine[1].sensor[2].max", line: 30, fragments: ["max 5.0 must be greater than min 5.0"]),
    BadCase(name: "an unknown alert score", text: edited([13: "window_length = 32\nalert_score = \"netwrok\""]),
            keyPath: "machine[1].alert_score", line: 14, fragments: ["unknown alert score \"netwrok\"", "deviation, network, either", "did you mean \"network\"?"]),
    BadCase(name: "a tolerance of 0 or less", text: edited([29: "tolerance = -2.0"]),
            keyPath: "machine[1].sensor[2].tolerance", line: 29, fragments: ["tolerance must be greater than 0", "-2.0"]),
    BadCase(name: "a tolerance that is not a number", text: edited([29: "tolerance = \"3 V\""]),
            keyPath: "machine[1].sensor[2].tolerance", line: 29, fragments: ["(a number)"]),
    BadCase(name: "a tolerance on a bool sensor", text: edited([28: "type = \"bool\"", 29: "bit = 3\ntolerance = 1.0"]),
            keyPath: "machine[1].sensor[2].tolerance", line: 30, fragments: ["bool sensor is either on or off"]),
    BadCase(name: "an unknown sensor role", text: edited([29: "scale = 0.1\nrole = \"flwo\""]),
            keyPath: "machine[1].sensor[2].role", line: 30,
            fragments: ["unknown role \"flwo\"", "the load prior knows: speed, loaded, flow", "did you mean \"flow\"?"]),
    BadCase(name: "a role that is not a string", text: edited([29: "scale = 0.1\nrole = 3"]),
            keyPath: "machine[1].sensor[2].role", line: 30, fragments: ["expected a sensor role of the load prior"]),
    BadCase(name: "a role played twice (by one sensor's name and another's role)", text: edited([29: "scale = 0.1\nrole = \"flow\""]),
            keyPath: "machine[1].sensor[2].role", line: 30, fragments: ["plays role \"flow\", which sensor \"flow\" already plays"]),
    BadCase(name: "an unknown machine kind", text: edited([13: "window_length = 32\nkind = \"pmup\""]),
            keyPath: "machine[1].kind", line: 14, fragments: ["unknown machine kind \"pmup\"", "pump, motor, compressor", "did you mean \"pump\"?"]),
    BadCase(name: "a register kind written under [[machine]]", text: edited([13: "window_length = 32\nkind = \"input\""]),
            keyPath: "machine[1].kind", line: 14, fragments: ["unknown machine kind \"input\"", "belongs in a [[machine.sensor]]"]),
    BadCase(name: "hop longer than the window", text: edited([13: "window_length = 8\nhop = 9"]),
            keyPath: "machine[1].hop", line: 14, fragments: ["hop 9 is longer than window_length 8"]),
    BadCase(name: "run signal that is not a sensor of the machine", text: edited([13: "window_length = 32\nrun_signal = \"runing\""]),
            keyPath: "machine[1].run_signal", line: 14, fragments: ["run_signal \"runing\" is not a sensor of this machine"]),
    BadCase(name: "settling time without a run signal", text: edited([13: "window_length = 32\nsettle_after_start = \"5m\""]),
            keyPath: "machine[1].settle_after_start", line: 14, fragments: ["settle_after_start needs run_signal"]),
    BadCase(name: "stop grace without a run signal", text: edited([13: "window_length = 32\nstop_grace = \"2s\""]),
            keyPath: "machine[1].stop_grace", line: 14, fragments: ["stop_grace needs run_signal"]),
    BadCase(name: "stop grace that is not a duration", text: edited([13: "window_length = 32\nrun_signal = \"pressure\"\nstop_grace = 2"]),
            keyPath: "machine[1].stop_grace", line: 15, fragments: ["expected a duration"]),
    BadCase(name: "run threshold without a run signal", text: edited([13: "window_length = 32\nrun_threshold = 10"]),
            keyPath: "machine[1].run_threshold", line: 14, fragments: ["run_threshold needs run_signal"]),
    BadCase(name: "run threshold with its unit in a string", text: edited([13: "window_length = 32\nrun_signal = \"pressure\"\nrun_threshold = \"10 bar\""]),
            keyPath: "machine[1].run_threshold", line: 15, fragments: ["expected the run signal's reading from which the machine runs", "(a number)"]),
    BadCase(name: "run threshold that is not finite", text: edited([13: "window_length = 32\nrun_signal = \"pressure\"\nrun_threshold = nan"]),
            keyPath: "machine[1].run_threshold", line: 15, fragments: ["a finite number"]),
    BadCase(name: "run threshold for a running contact (bool)",
            text: edited([13: "window_length = 32\nrun_signal = \"pressure\"\nrun_threshold = 0.5", 28: "type = \"bool\"", 29: "kind = \"coil\""]),
            keyPath: "machine[1].run_threshold", line: 15, fragments: ["run_threshold applies to a measured run signal", "pressure is a bool"]),
    BadCase(name: "machine id with a space", text: edited([11: "id = \"pump 1\""]),
            keyPath: "machine[1].id", line: 11, fragments: ["machine id \"pump 1\" may contain only letters"]),
    BadCase(name: "[bus] written as a single table", text: edited([4: "[bus]"]),
            keyPath: "bus", line: 4, fragments: ["expected one or more [[bus]] tables", "double brackets"]),
    BadCase(name: "a sensor without its machine", text: edited([24: "[[sensor]]"]),
            keyPath: "sensor", line: 24, fragments: ["unknown key \"sensor\"", "under the [[machine]]"]),
    BadCase(name: "TOML syntax error", text: edited([16: "name = \"flow"]),
            keyPath: "", line: 16, fragments: ["TOML syntax error"]),
    // toml++ 3.4 asserts (aborts a debug build) on headers like these instead of reporting them.
    BadCase(name: "a cut-off table header", text: edited([24: "  ["]),
            keyPath: "", line: 24, fragments: ["TOML syntax error", "table header must start with a name"]),
    BadCase(name: "a table header starting with a comment", text: edited([4: "[[ # bus"]),
            keyPath: "", line: 4, fragments: ["table header must start with a name"]),
    BadCase(name: "a table header with a non-ASCII bare key", text: edited([1: "[ é ]"]),
            keyPath: "", line: 1, fragments: ["table header must start with a name"]),
    BadCase(name: "no machines", text: edited([10: "", 11: "", 12: "", 13: "", 15: "", 16: "", 17: "", 18: "", 19: "", 20: "", 21: "", 22: "", 24: "", 25: "", 26: "", 27: "", 28: "", 29: ""]),
            keyPath: "machine", line: nil, fragments: ["no machines are configured"]),
]

@Suite("Bad configurations")
struct BadConfigurationTests {
    @Test("each bad configuration names key path, line and expectation", arguments: badCases)
    func badConfiguration(_ bad: BadCase) {
        let found = problems(in: bad.text)
        let match = found.first { $0.keyPath == bad.keyPath && bad.fragments.allSatisfy($0.message.contains) }
        #expect(match != nil, "no problem at \(bad.keyPath) containing \(bad.fragments); got:\n\(found.map { "\($0.line.map(String.init) ?? "-"): \($0)" }.joined(separator: "\n"))")
        #expect(match?.line == bad.line, "line of \(bad.keyPath)")
    }

    @Test("the base file of the bad cases is itself valid")
    func baseIsValid() throws {
        let configuration = try ConfigurationLoader.parse(base, path: "test.conf")
        #expect(configuration.machines.first?.sensors.map(\.name) == ["flow", "pressure"])
        #expect(configuration.machines.first?.sensors.first?.addresses == 100...101)
        #expect(configuration.machines.first?.runThreshold == nil)
        #expect(configuration.machines.first?.runningLevel == 0.5)
    }

    @Test("run_threshold: the machine runs while its run signal reads at least this (in the sensor's unit)")
    func runThreshold() throws {
        let text = edited([13: "window_length = 32\nrun_signal = \"pressure\"\nrun_threshold = 2.5\nsettle_after_start = \"30s\""])
        let machine = try #require(try ConfigurationLoader.parse(text, path: "test.conf").machines.first)
        #expect(machine.runSignal == "pressure")
        #expect(machine.runThreshold == 2.5)
        #expect(machine.runningLevel == 2.5)
        #expect(machine.settleAfterStart == .seconds(30))
        // A measured run signal is judged 2 s late by default (a motor current's coast-down),
        // a contact not at all; stop_grace sets it.
        #expect(machine.stopGrace == nil)
        #expect(machine.stopGraceMilliseconds == 2000)
        #expect(machine.runState()?.stopGrace == 2000)
        let contactText = edited([13: "window_length = 32\nrun_signal = \"pressure\""])
        #expect(try ConfigurationLoader.parse(contactText, path: "c.conf").machines.first?.stopGraceMilliseconds == 0)
        let graceText = edited([13: "window_length = 32\nrun_signal = \"pressure\"\nrun_threshold = 2.5\nstop_grace = \"500ms\""])
        let graced = try #require(try ConfigurationLoader.parse(graceText, path: "g.conf").machines.first)
        #expect(graced.stopGraceMilliseconds == 500)
        let integerText = edited([13: "window_length = 32\nrun_signal = \"pressure\"\nrun_threshold = 25"])
        let integer = try #require(try ConfigurationLoader.parse(integerText, path: "t.conf").machines.first)
        #expect(integer.runThreshold == 25)
    }

    @Test("all problems are reported at once, in line order, formatted file:line: key: message")
    func collectsAll() {
        let text = edited([8: "port = 70000", 12: "poll_interval = \"soon\"", 20: "adress = 100", 21: "type = \"flaot32\"", 26: "bus = \"nope\""])
        do {
            _ = try ConfigurationLoader.parse(text, path: "plant.conf")
            Issue.record("expected errors")
        } catch {
            let paths = error.problems.map(\.keyPath)
            for expected in ["bus[1].port", "machine[1].poll_interval", "machine[1].sensor[1].adress", "machine[1].sensor[1].type", "machine[1].sensor[2].bus"] {
                #expect(paths.contains(expected), "missing \(expected) in \(paths)")
            }
            let lines = error.problems.compactMap(\.line)
            #expect(lines == lines.sorted())
            let description = error.description.split(separator: "\n")
            #expect(description.count == error.problems.count)
            #expect(description.contains("plant.conf:21: machine[1].sensor[1].type: unknown type \"flaot32\" (expected one of bool, int16, uint16, int32, uint32, int64, uint64, float32, float64); did you mean \"float32\"?"))
        }
    }

    @Test("invalid UTF-8 is reported with its line")
    func invalidUTF8() {
        var bytes = Array(base.utf8)
        let lineStarts = bytes.indices.filter { $0 == 0 || bytes[$0 - 1] == UInt8(ascii: "\n") }
        bytes.insert(contentsOf: [0xC3, 0x28], at: lineStarts[10] + 5)  // a broken 2-byte sequence on line 11
        do {
            _ = try ConfigurationLoader.parse(bytes: bytes, path: "test.conf")
            Issue.record("expected invalid UTF-8 to be rejected")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems.first?.line == 11)
            #expect(error.problems.first?.message.contains("not valid UTF-8") == true)
        }
    }

    @Test("a missing file says what to check")
    func missingFile() {
        do {
            _ = try ConfigurationLoader.load(path: "/nonexistent/agent.conf")
            Issue.record("expected a missing file to fail")
        } catch {
            #expect(error.description.contains("/nonexistent/agent.conf: cannot open the file: No such file or directory"))
        }
    }
}

@Suite("Bad configurations: knock-on problems")
struct KnockOnTests {
    @Test("a bus with an unknown type is reported once, not again by each of its sensors")
    func badBusTypeOnlyOnce() {
        let found = problems(in: edited([6: "type = \"udp\""]))
        #expect(found.map(\.keyPath) == ["bus[1].type"], "got \(found)")
    }
}
