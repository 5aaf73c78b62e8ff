import Foundation
import Runtime
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket bound to a path, standing in for systemd's notify socket.
final class NotifyListener {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd); unlink(path) }

    /// Every datagram received until a receive times out.
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return messages }
            messages.append(String(decoding: buffer[0..<n], as: UTF8.self))
        }
    }
}

@Suite struct SystemdNotifierTests {
    @Test func sendsReadyAndWatchdogDatagrams() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let listener = try NotifyListener(path: dir.file("notify.sock"))
        let notifier = SystemdNotifier(socketPath: listener.path, watchdogMicroseconds: "2000000")
        #expect(notifier.watchdogInterval == .seconds(2))
        #expect(notifier.ready(status: "polling 3 machines"))
        #expect(notifier.watchdog())
        #expect(listener.drain() == ["READY=1\nSTATUS=polling 3 machines", "WATCHDOG=1"])
    }

    @Test func isANoOpOutsideSystemd() {
        let notifier = SystemdNotifier(socketPath: nil, watchdogMicroseconds: nil)
        #expect(notifier.watchdogInterval == nil)
        #expect(!notifier.ready())
    }
}
