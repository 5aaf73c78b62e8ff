import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sends one line to the control port of `edge-agent simulate` on 127.0.0.1 (`load pump-1 0.6`,
/// `inject pump-1 …`) and returns its answer (`ok …` or an error line).
/// - Throws: `TestSupportError` when nothing listens on `port`.
public func sendSimulatorControl(port: Int, _ command: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw TestSupportError("cannot connect to the control port \(port)") }
    let line = command + "\n"
    _ = line.withCString { write(fd, $0, strlen($0)) }
    var buffer = [UInt8](repeating: 0, count: 512)
    let n = read(fd, &buffer, buffer.count)
    return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
}
