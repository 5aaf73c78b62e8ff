#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSystem
import EdgeCore

/// Runs a configured program when an alert event happens: executed directly with its
/// arguments (never through a shell), with the alert's fields in environment variables,
/// and killed when it outlives its timeout.
///
/// Descriptors: stdin is `/dev/null`, stdout and stderr are the agent's (the journal under
/// systemd), and no other descriptor of the agent's is open in the program (its Modbus
/// connections, the buffer, the alert log…).
///
/// Environment: `EDGE_AGENT_EVENT` (raised/updated/cleared), `EDGE_AGENT_ALERT_ID`,
/// `EDGE_AGENT_MACHINE`, `EDGE_AGENT_KIND`, `EDGE_AGENT_SEVERITY`, `EDGE_AGENT_STARTED`,
/// `EDGE_AGENT_PEAK_SCORE`, `EDGE_AGENT_THRESHOLD`, `EDGE_AGENT_TOP_SENSORS` (comma-separated),
/// `EDGE_AGENT_MESSAGE`, `EDGE_AGENT_ACKNOWLEDGED` (`true` or `false`), `EDGE_AGENT_JSON` (the
/// alert log line, byte for byte), plus `PATH`; and, only when the event has them,
/// `EDGE_AGENT_ENDED`, `EDGE_AGENT_REASON`, `EDGE_AGENT_ACKNOWLEDGED_BY` and
/// `EDGE_AGENT_ACKNOWLEDGED_AT` (the fields of the same names in the line).
public struct CommandAction: Sendable, Equatable {
    /// Program path and arguments; `argv[0]` is the program (absolute path or looked up in PATH).
    public var arguments: [String]
    /// Longest time the program may run before it is killed (SIGTERM, then SIGKILL after 1 s).
    public var timeout: Duration

    /// Creates the action; which events run it is decided by the `[[action]]` that holds it.
    public init(arguments: [String], timeout: Duration = .seconds(10)) {
        self.arguments = arguments
        self.timeout = timeout
    }

    /// How a run ended.
    public enum Outcome: Sendable, Equatable {
        /// Exited with this status.
        case exited(Int32)
        /// Killed by a signal (not by us).
        case signalled(Int32)
        /// Ran past its timeout and was killed.
        case timedOut
        /// Could not be started (errno).
        case failedToStart(Int32)
    }

    /// The environment variables describing `event`.
    public static func environment(for event: AlertEvent) -> [String: String] {
        let alert = event.alert
        var environment = [
            "EDGE_AGENT_EVENT": event.change.rawValue,
            "EDGE_AGENT_ALERT_ID": alert.id,
            "EDGE_AGENT_MACHINE": alert.machine,
            "EDGE_AGENT_KIND": alert.kind.rawValue,
            "EDGE_AGENT_SEVERITY": alert.severity.rawValue,
            "EDGE_AGENT_STARTED": alert.started.iso8601,
            "EDGE_AGENT_PEAK_SCORE": String(alert.peakScore),
            "EDGE_AGENT_THRESHOLD": String(alert.threshold),
            "EDGE_AGENT_TOP_SENSORS": alert.topSensors.map(\.sensor).joined(separator: ","),
            "EDGE_AGENT_MESSAGE": alert.message,
            "EDGE_AGENT_ACKNOWLEDGED": event.acknowledged ? "true" : "false",
            "EDGE_AGENT_JSON": event.jsonLine,
            "PATH": getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin",
        ]
        if let ended = alert.ended { environment["EDGE_AGENT_ENDED"] = ended.iso8601 }
        if let reason = event.reason { environment["EDGE_AGENT_REASON"] = reason }
        if event.acknowledged, let person = event.acknowledgedBy { environment["EDGE_AGENT_ACKNOWLEDGED_BY"] = person }
        if event.acknowledged, let time = event.acknowledgedAt { environment["EDGE_AGENT_ACKNOWLEDGED_AT"] = time.iso8601 }
        return environment
    }

    /// Runs the program for `event` and waits for it (call from a thread that may block).
    public func run(for event: AlertEvent) -> Outcome {
        guard let program = arguments.first else { return .failedToStart(EINVAL) }
        let env = CommandAction.environment(for: event).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // The program gets no stdin; its output goes where the agent's goes (the journal).
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // And nothing else of the agent's: every descriptor it holds without close-on-exec
        // (whatever its parent passed on, and any a library opens without O_CLOEXEC) would
        // otherwise be the program's too, for as long as it and its children run. Closed in
        // the child before exec, so a descriptor another thread opens meanwhile cannot escape
        // (built against glibc older than 2.34: those open now, listed from /proc/self/fd).
        let closing = CSystem_addCloseFrom(&actions, 3)
        guard closing == 0 else { return .failedToStart(closing) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so a timeout kills its children too.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let status = withCStrings(arguments) { argv in
            withCStrings(env) { envp in
                posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
            }
        }
        guard status == 0 else { return .failedToStart(status) }
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(max(0, timeout.wholeNanoseconds))
        var waitStatus: Int32 = 0
        while true {
            let r = waitpid(pid, &waitStatus, WNOHANG)
            if r == pid { break }
            if r < 0, errno != EINTR { return .exited(-1) }
            if SystemClock.monotonicNanoseconds() >= deadline {
                kill(-pid, SIGTERM)
                let graceEnd = SystemClock.monotonicNanoseconds() + 1_000_000_000
                while waitpid(pid, &waitStatus, WNOHANG) == 0 {
                    if SystemClock.monotonicNanoseconds() >= graceEnd {
                        kill(-pid, SIGKILL)
                        waitpid(pid, &waitStatus, 0)
                        break
                    }
                    usleep(10_000)
                }
                return .timedOut
            }
            usleep(5_000)
        }
        let signal = waitStatus & 0x7f
        if signal == 0 { return .exited((waitStatus >> 8) & 0xff) }
        return .signalled(signal)
    }
}

/// Calls `body` with a NULL-terminated C array of the strings, valid for the call only.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return body(pointers)
}
