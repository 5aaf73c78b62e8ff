/// The agent's version, as printed by `edge-agent version` and stored with models.
public enum EdgeAgentVersion {
    public static let string = "0.1.0"
}
