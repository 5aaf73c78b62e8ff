import EdgeCore
import Configuration
import Modbus

// The Modbus request plan in `check-config`'s output: which requests each bus will send.
// Kept apart from CheckConfigCommand.swift, which calls these two functions once each.
extension ConfigurationPlan {
    /// The requests the poller will send on `bus`, grouped by poll interval, for people.
    func requestPlanLines(_ bus: BusConfiguration) -> [String] {
        do {
            let plan = try RequestPlan(bus: bus, machines: configuration.machines)
            return ["  request plan"] + plan.lines().map { "    " + $0 }
        } catch {
            return ["  request plan: cannot plan: \(error.description)"]
        }
    }

    /// The same plan as JSON fields of the bus object: `requests: [{interval_ms, unit_id, kind, address, count, sensors}]`.
    func requestPlanFields(_ bus: BusConfiguration, into out: inout JSONWriter) {
        do {
            let plan = try RequestPlan(bus: bus, machines: configuration.machines)
            let rows = plan.groups.flatMap { group in group.reads.map { (group.interval, $0) } }
            out.array("requests", rows) { out, row in
                let (interval, read) = row
                out.object {
                    $0.field("interval_ms", interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)
                    $0.field("unit_id", read.unitID)
                    $0.field("kind", read.kind.rawValue)
                    $0.field("address", read.address)
                    $0.field("count", read.count)
                    $0.field("sensors", read.sensors.count)
                }
            }
        } catch {
            out.field("request_plan_error", error.description)
        }
    }
}
