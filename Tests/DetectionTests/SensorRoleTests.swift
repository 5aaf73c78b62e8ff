import Configuration
@testable import Detection
import Testing

/// Sensor roles: a plant's own sensor names (`Pump1_Flow`) play the load prior's roles (`flow`)
/// and get the same compensation as the simulator's names; without roles they get none.
@Suite("Sensor roles: the load prior for a plant's own sensor names")
struct SensorRoleTests {
    /// The plant's names, column for column with `LoadPriorTests.names`, and the role each plays.
    static let plantNames = ["Pump1_Flow", "discharge_pressure_bar", "Motor_Amps", "DE_Vib", "Drive_RPM"]
    static let roles = Dictionary(uniqueKeysWithValues: zip(plantNames, LoadPriorTests.names))

    /// Calibration at 2,900 rpm, then 2,500 and 2,200 rpm and an imbalance at 2,500 rpm.
    let pump = LoadPriorTests()
    var calibration: [Float] { pump.rows(speed: 2900, count: 600, seed: 1) }
    var later: [Float] {
        pump.rows(speed: 2500, count: 400, seed: 3) + pump.rows(speed: 2200, count: 400, seed: 4)
            + pump.rows(speed: 2500, count: 400, seed: 6, vibrationFactor: 1.8)
    }

    func detector(names: [String], roles: [String: String] = [:], kind: String? = nil) -> MachineDetector {
        var settings = CalibrationSettings()
        settings.sensorRoles = roles
        settings.machineKind = kind
        return Calibrator(settings: settings).calibrate(values: calibration[...], sensorNames: names).detector
    }

    func scores(_ detector: MachineDetector) -> [Float] {
        var stream = detector.makeStream()
        let n = detector.sensorNames.count
        let values = later
        return (0..<(values.count / n)).map { r in stream.process(row: values[(r * n)..<(r * n + n)]).score }
    }

    @Test("plant names with roles get the compensation of the prior's names, and the same scores")
    func rolesGiveTheSameCompensation() throws {
        let byName = detector(names: LoadPriorTests.names)
        let byRole = detector(names: Self.plantNames, roles: Self.roles)
        let load = try #require(byRole.load)
        #expect(load.kind == "pump")
        #expect(load.driver == 4)
        // Equal field for field (NaN marks the sensors left as they are: compared as such).
        func comparable(_ c: LoadCompensation?) -> LoadCompensation? {
            c.map { var c = $0; c.reference = c.reference.map { $0.isNaN ? -1 : $0 }; return c }
        }
        #expect(comparable(load) == comparable(byName.load))
        #expect(load.reference.filter(\.isNaN).count == 1)
        #expect(byRole.baseline == byName.baseline)
        #expect(byRole.threshold == byName.threshold)
        let a = scores(byRole), b = scores(byName)
        #expect(a.count == 1200)
        #expect(a.elementsEqual(b) { $0 == $1 || ($0.isNaN && $1.isNaN) })
        // The imbalance still alerts; the new speeds do not.
        #expect(a[0..<800].filter { $0 > byRole.alertThreshold }.count == 0)
        #expect(a[800...].filter { $0 > byRole.alertThreshold }.count > 300)
    }

    @Test("plant names without roles get no compensation: the new speeds alert")
    func noRolesNoCompensation() {
        let plain = detector(names: Self.plantNames)
        #expect(plain.load == nil)
        #expect(scores(plain)[0..<800].filter { $0 > plain.alertThreshold }.count > 700)
    }

    @Test("a role given to another sensor takes the name's place: the sensor named like it plays nothing")
    func claimedNamePlaysNothing() {
        var settings = CalibrationSettings()
        settings.sensorRoles = ["Drive_RPM": "speed"]
        #expect(settings.roleNames(for: ["speed", "Drive_RPM", "flow"]) == ["", "speed", "flow"])
    }

    @Test("kind picks the prior's kind when the roles fit several")
    func kindDisambiguates() throws {
        let prior = try #require(LoadPrior.shipped)
        // Both kinds know these four roles: the first kind (pump) wins without a kind.
        let names = ["speed", "motor_current", "vibration_x", "vibration_y", "supply_voltage"]
        #expect(prior.kind(for: names)?.name == "pump")
        #expect(prior.kind(for: names, named: "motor")?.name == "motor")
        #expect(prior.kind(for: names, named: "compressor") == nil)
        let motor = detector(names: Self.plantNames, roles: Self.roles, kind: "motor")
        #expect(motor.load?.kind == "motor")
    }

    @Test("agent.conf's known roles and kinds are the shipped prior's")
    func configurationKnowsThePriorsRoles() throws {
        let prior = try #require(LoadPrior.shipped)
        // With the sensors calibration judges over another by role (a compressor's discharge
        // temperature over its oil), which the prior need not compensate.
        let roles = Set(prior.roleNames).union(SensorOverReference.shippedPairs.flatMap { [$0.key, $0.value] })
        #expect(Set(SensorConfiguration.knownRoles) == roles)
        #expect(SensorConfiguration.knownRoles.count == roles.count)
        #expect(LoadPriorKind.allCases.map(\.rawValue) == prior.kinds.map(\.name))
    }

    @Test("a sensor that looks like a speed the prior did not recognise is named for the hint")
    func unrecognisedDriver() throws {
        let prior = try #require(LoadPrior.shipped)
        #expect(prior.unrecognisedDriver(among: Self.plantNames) == "Drive_RPM")
        #expect(prior.unrecognisedDriver(among: ["Comp_Loaded", "Oil_T"]) == "Comp_Loaded")
        #expect(prior.unrecognisedDriver(among: LoadPriorTests.names) == nil)
        #expect(prior.unrecognisedDriver(among: ["Pump1_Flow", "Bearing_T"]) == nil)
    }
}
