/// Builds a metrics file in Prometheus' text exposition format, for node_exporter's textfile
/// collector (the agent opens no listening port by default).
///
/// ```swift
/// var text = PrometheusText()
/// text.add("edge_agent_readings_total", type: .counter, help: "Readings polled.", labels: ["machine": "pump-1"], value: 1200)
/// try AtomicFile.write(text.render(), to: "/var/lib/node_exporter/edge_agent.prom")
/// ```
public struct PrometheusText: Sendable {
    /// The metric types this writer emits.
    public enum MetricType: String, Sendable {
        case counter, gauge
    }

    private struct Family: Sendable {
        var name: String
        var type: MetricType
        var help: String
        var samples: [String] = []
    }

    private var families: [Family] = []

    public init() {}

    /// Adds one sample; samples of the same name are grouped under one HELP/TYPE header.
    /// Label pairs are written sorted by label name.
    public mutating func add(_ name: String, type: MetricType, help: String, labels: [String: String] = [:], value: Double) {
        var line = name
        if !labels.isEmpty {
            line += "{"
            line += labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(PrometheusText.escape($0.value))\"" }.joined(separator: ",")
            line += "}"
        }
        line += " "
        line += PrometheusText.format(value)
        if let index = families.firstIndex(where: { $0.name == name }) {
            families[index].samples.append(line)
        } else {
            families.append(Family(name: name, type: type, help: help, samples: [line]))
        }
    }

    /// The whole file's text.
    public func render() -> String {
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type.rawValue)\n"
            for sample in family.samples { out += sample + "\n" }
        }
        return out
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
