import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Real-time scheduling for what stands in for hardware in a test: socat's serial line, a relay
/// on that line, a Modbus server's thread.
///
/// A real RS-485 line and the unit at its end answer whatever the host's load; their stand-ins
/// here are processes and threads that wait for a core like everything else. On a starved
/// machine (two busy loops beside other engineers' builds, load average 10-15 on 2 cores) a
/// request crossing two socat processes, a relay thread and the server's thread missed a 200 ms
/// response timeout, and the test then measured the scheduler, not the agent. SCHED_FIFO lets
/// them run as soon as bytes arrive. The agent under test keeps the normal policy. Where the
/// system does not allow it (no root, no CAP_SYS_NICE), everything runs as before.
public enum DevicePriority {
    /// The SCHED_FIFO priority given (1-99; low, far below the kernel's own threads).
    public static let priority: Int32 = 10

    /// `chrt` when it may start programs with SCHED_FIFO here (checked once).
    static let chrt: String? = {
        guard let path = ["/usr/bin/chrt", "/bin/chrt"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
              let run = try? runProgramBlocking(path, ["-f", "\(priority)", "/bin/true"], timeoutSeconds: 10), run.status == 0
        else { return nil }
        return path
    }()

    /// `executable` and `arguments` wrapped to run with SCHED_FIFO when allowed, else unchanged.
    public static func command(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        guard let chrt else { return (executable, arguments) }
        return (chrt, ["-f", "\(priority)", executable] + arguments)
    }

    /// Whether SCHED_FIFO at `priority` is allowed here (`chrt` could start a program with it).
    public static var isAllowed: Bool { chrt != nil }

    /// Gives the calling thread SCHED_FIFO; returns whether it was allowed.
    @discardableResult
    public static func raiseCurrentThread() -> Bool {
        var parameters = sched_param(sched_priority: priority)
        return pthread_setschedparam(pthread_self(), SCHED_FIFO, &parameters) == 0
    }
}
