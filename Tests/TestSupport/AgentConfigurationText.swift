/// The `[agent]` table of a test's agent.conf: the buffer, the alert log and the summaries in `directory`.
public func agentTable(_ directory: String, summaryInterval: String = "1h", dataDirectory: String? = nil) -> String {
    """
    [agent]
    data_dir = "\(dataDirectory ?? directory + "/data")"
    alert_log = "\(directory)/alerts.jsonl"
    summary_dir = "\(directory)/summaries"
    summary_interval = "\(summaryInterval)"

    """
}

/// The `[[bus]]` table of a test's agent.conf for a Modbus TCP server on loopback
/// (`startLoopbackServer`) at `port`; `responseTimeout` is agent.conf's duration text ("200ms").
public func loopbackBusTable(_ name: String, port: Int, responseTimeout: String? = nil) -> String {
    """
    [[bus]]
    name = "\(name)"
    type = "tcp"
    host = "127.0.0.1"
    port = \(port)
    \(responseTimeout.map { "response_timeout = \"\($0)\"" } ?? "")

    """
}
