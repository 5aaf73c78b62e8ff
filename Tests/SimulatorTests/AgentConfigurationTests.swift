import Configuration
import EdgeCore
import Testing
import TestSupport
@testable import Simulator

/// The repository's agent.conf must describe exactly what `edge-agent simulate` serves.
@Suite struct AgentConfigurationTests {
    @Test func repositoryAgentConfDescribesTheServedFleet() throws {
        let config = try ConfigurationLoader.load(path: repositoryRoot() + "/agent.conf")
        let fleet = Fleet(seed: 1, count: config.machines.count)
        #expect(config.machines.map(\.id) == fleet.machines.map(\.id))
        guard let bus = config.bus(named: "sim") else {
            Issue.record("agent.conf has no bus named sim")
            return
        }
        #expect(bus.transport == .tcp(host: "127.0.0.1", port: SimulatorDefaults.port))
        for (i, machine) in fleet.machines.enumerated() {
            let served = RegisterMap.sensors(of: machine, unitID: i + 1, bus: "sim")
            let described = config.machines[i].sensors
            #expect(described.map(\.name) == served.map(\.name), "\(machine.id)")
            for (d, s) in zip(described, served) {
                let what = "\(machine.id).\(d.name)"
                #expect(d.bus == s.bus && d.unitID == s.unitID && d.kind == s.kind && d.address == s.address, "\(what)")
                #expect(d.type == s.type && d.scale == s.scale && d.offset == 0 && d.bit == s.bit, "\(what)")
                if s.type.registerCount > 1 { #expect(d.order == s.order, "\(what)") }
                #expect(d.unit == s.unit, "\(what)")
                #expect(d.minimum == s.minimum && d.maximum == s.maximum, "\(what)")
            }
        }
    }

    @Test(arguments: MachineKind.allCases)
    func mapCoversEveryStandardChannelWithoutOverlap(kind: MachineKind) {
        let entries = RegisterMap.entries(for: kind)
        #expect(Set(entries.map(\.channel)) == Set(kind.standardChannels.map(\.name)))
        for table in RegisterKind.allCases {
            var used = Set<Int>()
            for e in entries where e.kind == table {
                let span = table.isBit ? 1 : e.type.registerCount
                for a in e.address..<(e.address + span) { #expect(used.insert(a).inserted, "\(kind) \(table) \(a) used twice") }
            }
        }
        let types = Set(entries.map { "\($0.type)-\($0.order)" })
        #expect(types.count >= 4)
    }
}
