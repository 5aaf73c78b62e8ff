import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on `127.0.0.1` that refuses every connection for as long as this object holds it:
/// a socket bound to it that never listens.
///
/// A port freed by stopping a server is no such thing on a shared machine: any test of this
/// process or another one may bind it next (a loaded run's `edge-agent read` against a stopped
/// server's port connected and reported "connection lost" instead of "connection refused"),
/// and a connect to a free port in the ephemeral range can even pick it as its own source port
/// and reach itself. While this socket holds the port, the kernel gives it to no one else,
/// neither to `bind` nor as a connection's source port, and a connection attempt gets a reset.
public final class RefusingPort: @unchecked Sendable {
    // @unchecked Sendable: the descriptor is set once in init and only closed in deinit.
    /// The port number that refuses connections.
    public let port: Int
    private let fd: Int32

    /// Binds a socket to a free port on 127.0.0.1, without listening on it.
    /// - Throws: `TestSupportError` when no socket can be bound.
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw TestSupportError("bind 127.0.0.1:0: \(message)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
