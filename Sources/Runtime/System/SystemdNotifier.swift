#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Talks to systemd's service manager without libsystemd: one datagram per message to the
/// socket named by `$NOTIFY_SOCKET` (a path, or an abstract socket when it starts with `@`).
///
/// Outside systemd (`NOTIFY_SOCKET` unset) every call is a no-op, so callers need no branches.
public final class SystemdNotifier: Sendable {
    /// The socket address, or nil when not running under systemd with `Type=notify`.
    public let socketPath: String?
    /// The watchdog interval systemd asked for (`$WATCHDOG_USEC`), if any.
    public let watchdogInterval: Duration?
    private let fd: Int32

    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC` from the environment (or the given values, for tests).
    public init(socketPath: String? = SystemdNotifier.environment("NOTIFY_SOCKET"),
                watchdogMicroseconds: String? = SystemdNotifier.environment("WATCHDOG_USEC")) {
        self.socketPath = (socketPath?.isEmpty ?? true) ? nil : socketPath
        if let text = watchdogMicroseconds, let usec = Int64(text), usec > 0 {
            watchdogInterval = .microseconds(usec)
        } else {
            watchdogInterval = nil
        }
        fd = self.socketPath == nil ? -1 : socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// `READY=1`: start-up is finished (polling really runs).
    @discardableResult public func ready(status: String? = nil) -> Bool {
        send("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
    }

    /// `WATCHDOG=1`: the service is alive; send only while poll cycles are completing.
    @discardableResult public func watchdog() -> Bool { send("WATCHDOG=1") }

    /// `STOPPING=1`: graceful shutdown has begun.
    @discardableResult public func stopping() -> Bool { send("STOPPING=1") }

    /// `RELOADING=1`: the configuration is being reloaded.
    @discardableResult public func reloading() -> Bool { send("RELOADING=1") }

    /// `STATUS=…`: one line shown by `systemctl status`.
    @discardableResult public func status(_ text: String) -> Bool { send("STATUS=\(text)") }

    /// Sends one raw notification; returns false when not under systemd or the send failed.
    @discardableResult public func send(_ message: String) -> Bool {
        guard let path = socketPath, fd >= 0 else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(path.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let sent = message.withCString { text in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), sa, length)
                }
            }
        }
        return sent >= 0
    }

    /// Reads an environment variable without Foundation.
    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
