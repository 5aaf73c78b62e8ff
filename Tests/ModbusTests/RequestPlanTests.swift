import Configuration
import EdgeCore
import Testing
@testable import Modbus

/// A sensor in a planner table: unit, kind, address, type.
struct S: Sendable {
    var unit = 1
    var kind = RegisterKind.holding
    var address: Int
    var type = DataType.uint16
}

/// An expected read: unit, kind, first address, count, and which input sensors (by index) it holds.
struct R: Sendable, Equatable, CustomStringConvertible {
    var unit = 1
    var kind = RegisterKind.holding
    var address: Int
    var count: Int
    var sensors: [Int]
    var description: String { "u\(unit) \(kind.rawValue) \(address)+\(count) \(sensors)" }
}

struct PlanCase: Sendable, CustomTestStringConvertible {
    var name: String
    var sensors: [S]
    var maxGap = 10
    var maxRegisters = 125
    var maxBits = 2000
    var expected: [R]
    var testDescription: String { name }
}

let planCases: [PlanCase] = [
    PlanCase(name: "adjacent registers merge", sensors: [S(address: 0), S(address: 1), S(address: 2)],
             expected: [R(address: 0, count: 3, sensors: [0, 1, 2])]),
    PlanCase(name: "gap equal to max_gap merges", sensors: [S(address: 0), S(address: 11)], maxGap: 10,
             expected: [R(address: 0, count: 12, sensors: [0, 1])]),
    PlanCase(name: "gap one above max_gap splits", sensors: [S(address: 0), S(address: 12)], maxGap: 10,
             expected: [R(address: 0, count: 1, sensors: [0]), R(address: 12, count: 1, sensors: [1])]),
    PlanCase(name: "max_gap 0 merges only touching sensors", sensors: [S(address: 5), S(address: 6), S(address: 8)], maxGap: 0,
             expected: [R(address: 5, count: 2, sensors: [0, 1]), R(address: 8, count: 1, sensors: [2])]),
    PlanCase(name: "unsorted input is sorted by address", sensors: [S(address: 20), S(address: 3), S(address: 10)],
             expected: [R(address: 3, count: 18, sensors: [1, 2, 0])]),
    PlanCase(name: "register cap splits a long run", sensors: (0..<10).map { S(address: $0) }, maxRegisters: 4,
             expected: [R(address: 0, count: 4, sensors: [0, 1, 2, 3]), R(address: 4, count: 4, sensors: [4, 5, 6, 7]),
                        R(address: 8, count: 2, sensors: [8, 9])]),
    PlanCase(name: "cap of 1 gives one read per register", sensors: [S(address: 0), S(address: 1), S(address: 2)], maxRegisters: 1,
             expected: [R(address: 0, count: 1, sensors: [0]), R(address: 1, count: 1, sensors: [1]), R(address: 2, count: 1, sensors: [2])]),
    PlanCase(name: "cap of 1 bit", sensors: [S(kind: .coil, address: 0), S(kind: .coil, address: 1)], maxBits: 1,
             expected: [R(kind: .coil, address: 0, count: 1, sensors: [0]), R(kind: .coil, address: 1, count: 1, sensors: [1])]),
    PlanCase(name: "float64 exactly at the cap", sensors: [S(address: 0, type: .float64)], maxRegisters: 4,
             expected: [R(address: 0, count: 4, sensors: [0])]),
    PlanCase(name: "float64 then uint16 one past the cap", sensors: [S(address: 0, type: .float64), S(address: 4)], maxRegisters: 4,
             expected: [R(address: 0, count: 4, sensors: [0]), R(address: 4, count: 1, sensors: [1])]),
    PlanCase(name: "float64 then uint16 within a cap of 5", sensors: [S(address: 0, type: .float64), S(address: 4)], maxRegisters: 5,
             expected: [R(address: 0, count: 5, sensors: [0, 1])]),
    PlanCase(name: "uint16 then int64 crossing the cap", sensors: [S(address: 0), S(address: 1, type: .int64)], maxRegisters: 4,
             expected: [R(address: 0, count: 1, sensors: [0]), R(address: 1, count: 4, sensors: [1])]),
    PlanCase(name: "kinds never merge", sensors: [S(kind: .holding, address: 0), S(kind: .input, address: 1), S(kind: .coil, address: 2), S(kind: .discrete, address: 3)],
             expected: [R(kind: .coil, address: 2, count: 1, sensors: [2]), R(kind: .discrete, address: 3, count: 1, sensors: [3]),
                        R(kind: .holding, address: 0, count: 1, sensors: [0]), R(kind: .input, address: 1, count: 1, sensors: [1])]),
    PlanCase(name: "units never merge; units served in turn", sensors: [S(unit: 2, address: 0), S(unit: 1, address: 1), S(unit: 2, address: 1)],
             expected: [R(unit: 1, address: 1, count: 1, sensors: [1]), R(unit: 2, address: 0, count: 2, sensors: [0, 2])]),
    PlanCase(name: "overlapping sensors share registers", sensors: [S(address: 10, type: .uint32), S(address: 10, type: .bool), S(address: 11)],
             expected: [R(address: 10, count: 2, sensors: [0, 1, 2])]),
    PlanCase(name: "bits merge across gaps in bits", sensors: [S(kind: .discrete, address: 0), S(kind: .discrete, address: 500), S(kind: .discrete, address: 505)], maxGap: 10,
             expected: [R(kind: .discrete, address: 0, count: 1, sensors: [0]), R(kind: .discrete, address: 500, count: 6, sensors: [1, 2])]),
    PlanCase(name: "default cap 125 registers", sensors: [S(address: 0), S(address: 124), S(address: 125)], maxGap: 200,
             expected: [R(address: 0, count: 125, sensors: [0, 1]), R(address: 125, count: 1, sensors: [2])]),
    PlanCase(name: "meter that accepts 40 registers", sensors: (0..<30).map { S(address: $0 * 2, type: .float32) }, maxRegisters: 40,
             expected: [R(address: 0, count: 40, sensors: Array(0..<20)), R(address: 40, count: 20, sensors: Array(20..<30))]),
]

func plan(_ c: PlanCase) throws -> [PlannedRead] {
    let items = c.sensors.enumerated().map { i, s in
        RequestPlan.PlanItem(
            unitID: s.unit, kind: s.kind, address: s.address, span: s.kind.isBit ? 1 : s.type.registerCount,
            slot: PlannedSensor(machine: 0, sensor: Int32(i), position: 0, type: s.type), name: "sensor \(i)")
    }
    return try RequestPlan.reads(for: items, maxGap: c.maxGap, maxRegistersPerRead: c.maxRegisters, maxBitsPerRead: c.maxBits)
}

@Suite("Request planner")
struct RequestPlanTests {
    @Test(arguments: planCases)
    func planMatchesTable(_ c: PlanCase) throws {
        let reads = try plan(c)
        let actual = reads.map { R(unit: $0.unitID, kind: $0.kind, address: $0.address, count: $0.count, sensors: $0.sensors.map { Int($0.sensor) }) }
        #expect(actual == c.expected)
        // Every sensor lies inside its read, and no read exceeds its cap.
        for read in reads {
            #expect(read.count <= (read.kind.isBit ? c.maxBits : c.maxRegisters))
            for slot in read.sensors {
                let span = read.kind.isBit ? 1 : slot.type.registerCount
                #expect(slot.position >= 0 && slot.position + span <= read.count)
                #expect(read.address + slot.position == c.sensors[Int(slot.sensor)].address)
            }
        }
    }

    @Test func sensorWiderThanTheCapIsAnError() {
        let c = PlanCase(name: "", sensors: [S(address: 0, type: .float32)], maxRegisters: 1, expected: [])
        let error = #expect(throws: RequestPlanError.self) { try plan(c) }
        #expect(error?.message.contains("at most 1") == true)
    }

    @Test func addressPastTheEndIsAnError() {
        let c = PlanCase(name: "", sensors: [S(address: 65_535, type: .uint32)], expected: [])
        #expect(throws: RequestPlanError.self) { try plan(c) }
    }

    @Test func busPlanGroupsMachinesByPollIntervalAndSkipsOtherBuses() throws {
        var bus = BusConfiguration(name: "line1", transport: .tcp(host: "127.0.0.1", port: 502))
        bus.maxGap = 5
        func sensor(_ name: String, bus: String = "line1", unit: Int, address: Int, type: DataType = .uint16) -> SensorConfiguration {
            var s = SensorConfiguration(name: name, bus: bus, address: address)
            s.unitID = unit
            s.type = type
            return s
        }
        var pump = MachineConfiguration(id: "pump", sensors: [sensor("p", unit: 1, address: 0), sensor("t", unit: 1, address: 2, type: .float32),
                                                               sensor("x", bus: "other", unit: 1, address: 1)])
        pump.pollInterval = .milliseconds(100)
        var motor = MachineConfiguration(id: "motor", sensors: [sensor("i", unit: 2, address: 10)])
        motor.pollInterval = .seconds(1)
        var fan = MachineConfiguration(id: "fan", sensors: [sensor("v", unit: 3, address: 0)])
        fan.pollInterval = .milliseconds(100)
        let plan = try RequestPlan(bus: bus, machines: [motor, pump, fan])
        #expect(plan.groups.count == 2)
        #expect(plan.groups[0].interval == .milliseconds(100))
        #expect(plan.groups[0].machines == [1, 2])
        #expect(plan.groups[0].reads.map(\.description) == [
            "unit 1 holding 0–3 (4 registers, 2 sensors)", "unit 3 holding 0 (1 register, 1 sensor)",
        ])
        #expect(plan.groups[0].reads[0].sensors.map(\.machine) == [1, 1])
        #expect(plan.groups[1].machines == [0])
        #expect(plan.groups[1].reads.map(\.description) == ["unit 2 holding 10 (1 register, 1 sensor)"])
        #expect(plan.lines().first == "every 100 ms: 2 requests")
    }
}
