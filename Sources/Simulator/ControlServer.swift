#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Something the simulator could not set up, and what to do about it.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    /// What failed and what to try.
    public var message: String

    /// Creates an error with a message for people.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// The control port: a TCP listener on 127.0.0.1 that reads command lines and writes one answer line each.
///
/// Single-threaded: `serve(for:handle:)` waits with `poll(2)` for connections and command lines,
/// so the simulator's one loop steps the machines between waits.
public final class ControlServer {
    private var listenDescriptor: Int32
    private var clients: [(descriptor: Int32, buffer: [UInt8])] = []
    /// The port it listens on (the ephemeral one when 0 was asked).
    public let port: Int

    /// Listens on 127.0.0.1:`port` (0 picks a free port).
    /// - Throws: `SimulatorError` when the port cannot be bound (in use, or not permitted).
    public init(port: Int) throws(SimulatorError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else {
            let code = errno
            throw SimulatorError("control port: cannot create a socket: \(String(cString: strerror(code)))")
        }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound != 0 {
            let code = errno
            close(fd)
            throw SimulatorError("control port 127.0.0.1:\(port): cannot bind: \(String(cString: strerror(code))) (choose another with --control-port, or 0 to disable)")
        }
        if listen(fd, 8) != 0 {
            let code = errno
            close(fd)
            throw SimulatorError("control port 127.0.0.1:\(port): cannot listen: \(String(cString: strerror(code)))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listenDescriptor = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
    }

    deinit {
        for client in clients { close(client.descriptor) }
        if listenDescriptor >= 0 { close(listenDescriptor) }
    }

    /// Waits up to `milliseconds` for connections and command lines, answering each line with `handle`.
    /// - Returns: whether `handle` asked to quit.
    public func serve(for milliseconds: Int32, handle: (String) -> ControlAnswer) -> Bool {
        var fds = [pollfd(fd: listenDescriptor, events: Int16(POLLIN), revents: 0)]
        for client in clients { fds.append(pollfd(fd: client.descriptor, events: Int16(POLLIN), revents: 0)) }
        let ready = poll(&fds, nfds_t(fds.count), milliseconds)
        guard ready > 0 else { return false }
        var quit = false

        // Command lines from connected clients (iterate backwards: closed ones are removed).
        for i in stride(from: clients.count - 1, through: 0, by: -1) where fds[i + 1].revents != 0 {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(clients[i].descriptor, $0.baseAddress, $0.count, 0) }
            if n <= 0 {
                if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                close(clients[i].descriptor)
                clients.remove(at: i)
                continue
            }
            clients[i].buffer.append(contentsOf: chunk[0..<n])
            while let newline = clients[i].buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: clients[i].buffer[..<newline], as: UTF8.self)
                clients[i].buffer.removeSubrange(...newline)
                let answer = handle(line)
                send(answer.line + "\n", to: clients[i].descriptor)
                if case .quit = answer { quit = true }
            }
            if clients[i].buffer.count > 65536 {
                send("error: line too long\n", to: clients[i].descriptor)
                close(clients[i].descriptor)
                clients.remove(at: i)
            }
        }
        // New connections.
        if fds[0].revents != 0 {
            while true {
                let fd = accept(listenDescriptor, nil, nil)
                if fd < 0 { break }
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                clients.append((fd, []))
            }
        }
        return quit
    }

    private func send(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        var attempts = 0
        // Answers are short; a client that does not read for a second loses its answer.
        while offset < bytes.count && attempts < 100 {
            let n = bytes.withUnsafeMutableBytes { Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                attempts += 1
                usleep(10_000)
            } else {
                return
            }
        }
    }
}

/// Set by the SIGINT/SIGTERM handler (a lock-free atomic store is async-signal-safe).
private let terminationRequested = Atomic<Bool>(false)

/// SIGINT and SIGTERM as a flag: the simulator's loop checks `received` between steps (at
/// least every 50 ms) and stops cleanly. A handler rather than a blocked mask, because the
/// Swift runtime may already have started threads that would not inherit a mask.
public final class TerminationSignals: Sendable {
    /// Installs the handlers for SIGINT and SIGTERM.
    /// - Throws: `SimulatorError` when a handler cannot be installed.
    public init() throws(SimulatorError) {
        for signalNumber in [SIGINT, SIGTERM] {
            let previous = signal(signalNumber) { _ in terminationRequested.store(true, ordering: .relaxed) }
            // SIG_ERR is ((sighandler_t) -1).
            if let previous, unsafeBitCast(previous, to: Int.self) == -1 {
                throw SimulatorError("cannot install a handler for signal \(signalNumber)")
            }
        }
    }

    /// Whether SIGINT or SIGTERM has arrived.
    public var received: Bool { terminationRequested.load(ordering: .relaxed) }
}
