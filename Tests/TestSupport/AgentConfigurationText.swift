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

/// The smallest agent.conf for the commands that only read the buffer (`alerts`, `acknowledge`):
/// the buffer in `dataDirectory` (`offlineAgentConfigurationHead`), and `pump-1` with one
/// sensor, `flow`, on its loopback bus that nothing serves.
public func bufferOnlyConfiguration(dataDirectory: String) -> String {
    offlineAgentConfigurationHead(dataDirectory: dataDirectory) + """
    [[machine]]
    id = "pump-1"

      [[machine.sensor]]
      name = "flow"
      bus = "b"
      address = 0
    """
}
