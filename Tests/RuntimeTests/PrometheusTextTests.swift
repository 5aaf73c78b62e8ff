import Runtime
import Testing

@Suite struct PrometheusTextTests {
    @Test func groupsSamplesUnderOneHeaderAndEscapesLabels() {
        var text = PrometheusText()
        text.add("edge_agent_readings_total", type: .counter, help: "Readings polled.", labels: ["machine": "pump-1"], value: 1200)
        text.add("edge_agent_buffer_bytes", type: .gauge, help: "Database size.", value: 4096.5)
        text.add("edge_agent_readings_total", type: .counter, help: "Readings polled.", labels: ["machine": "a\"b\\c", "bus": "sim"], value: 3)
        text.add("edge_agent_last_score", type: .gauge, help: "Last score.", value: .nan)
        #expect(text.render() == """
            # HELP edge_agent_readings_total Readings polled.
            # TYPE edge_agent_readings_total counter
            edge_agent_readings_total{machine="pump-1"} 1200
            edge_agent_readings_total{bus="sim",machine="a\\"b\\\\c"} 3
            # HELP edge_agent_buffer_bytes Database size.
            # TYPE edge_agent_buffer_bytes gauge
            edge_agent_buffer_bytes 4096.5
            # HELP edge_agent_last_score Last score.
            # TYPE edge_agent_last_score gauge
            edge_agent_last_score NaN

            """)
    }
}
