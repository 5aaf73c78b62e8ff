import CModbus
import Configuration
import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Modbus master on one TCP connection or serial line, wrapping a libmodbus context.
///
/// The client owns its `modbus_t`: `close()` closes the connection, `deinit` frees the context.
/// Reads go into buffers the caller owns, so a poll allocates nothing. After a timeout or an
/// invalid response the client flushes the connection, and on a serial line it discards what
/// came in before each request (a late answer, noise); after a broken connection it closes it
/// and `isConnected` turns false, so the caller reconnects (with backoff: see `BusPoller`).
/// libmodbus's own error-recovery mode is never enabled.
///
/// - Important: not thread-safe (neither is `modbus_t`): use one client from one thread.
///   A `BusPoller` creates its client on its own thread.
public final class ModbusClient {
    private let context: OpaquePointer
    /// Where the client connects: `host:port` or the serial device path.
    public let endpoint: String
    /// The transport it was created for.
    public let transport: Transport
    /// Whether the connection is open.
    public var isConnected: Bool { connected }
    // Private, so the optimizer sees every access and drops the run-time exclusivity check a
    // public stored property of a class costs on each read (twice per request of a poll).
    private var connected = false
    private var currentUnit: Int = -1
    /// An RTU line (stored: the transport's enum is matched once, not per request).
    private let isSerial: Bool

    /// Creates a client for `transport`; it does not connect yet.
    ///
    /// - Parameters:
    ///   - transport: Modbus TCP (host name, IPv4 or IPv6 address) or RTU (device, baud, parity,
    ///     data bits, stop bits).
    ///   - responseTimeout: how long to wait for each response.
    /// - Throws: `ModbusError` with `.invalidArgument` for parameters libmodbus rejects.
    public init(transport: Transport, responseTimeout: Duration = .milliseconds(500)) throws(ModbusError) {
        self.transport = transport
        if case .rtu = transport { isSerial = true } else { isSerial = false }
        let created: OpaquePointer?
        switch transport {
        case let .tcp(host, port):
            endpoint = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            created = modbus_new_tcp_pi(host, String(port))
        case let .rtu(device, baud, parity, dataBits, stopBits):
            endpoint = device
            let parityCharacter: CChar = switch parity {
            case .none: CChar(UInt8(ascii: "N"))
            case .even: CChar(UInt8(ascii: "E"))
            case .odd: CChar(UInt8(ascii: "O"))
            }
            created = modbus_new_rtu(device, Int32(clamping: baud), parityCharacter, Int32(clamping: dataBits), Int32(clamping: stopBits))
        }
        guard let created else {
            throw ModbusError(errno: CModbus_errno(), operation: .create, endpoint: endpoint)
        }
        context = created
        try setResponseTimeout(responseTimeout)
    }

    deinit {
        if connected { modbus_close(context) }
        modbus_free(context)
    }

    /// Changes how long to wait for each response.
    /// - Throws: `ModbusError` (`.invalidArgument`) for a zero or negative timeout.
    public func setResponseTimeout(_ timeout: Duration) throws(ModbusError) {
        let microseconds = max(timeout.totalMicroseconds, 0)
        guard microseconds > 0 else {
            throw ModbusError(code: .invalidArgument, operation: .configure, endpoint: endpoint)
        }
        let seconds = UInt32(clamping: microseconds / 1_000_000)
        let rest = UInt32(microseconds % 1_000_000)
        if modbus_set_response_timeout(context, seconds, rest) == -1 {
            throw ModbusError(errno: CModbus_errno(), operation: .configure, endpoint: endpoint)
        }
    }

    /// Opens the TCP connection or the serial device.
    /// - Throws: `ModbusError`: `.connectionRefused`, `.hostNotFound`, `.deviceUnavailable`…
    public func connect() throws(ModbusError) {
        if connected { return }
        if modbus_connect(context) == -1 {
            let error = CModbus_errno()
            // libmodbus reports a failed name lookup as ECONNREFUSED; tell the two apart.
            if error == ECONNREFUSED, case let .tcp(host, _) = transport, !ModbusClient.resolves(host) {
                throw ModbusError(code: .hostNotFound, systemErrno: error, operation: .connect, endpoint: endpoint)
            }
            throw ModbusError(errno: error, operation: .connect, endpoint: endpoint)
        }
        connected = true
        currentUnit = -1
    }

    /// Closes the connection (the context stays usable: `connect()` opens it again).
    public func close() {
        guard connected else { return }
        modbus_close(context)
        connected = false
    }

    /// Discards whatever is waiting on the connection (a late answer after a timeout).
    public func flush() {
        guard connected else { return }
        // A failing flush means the connection is gone; the next request will tell.
        _ = modbus_flush(context)
    }

    /// Reads `count` 16-bit registers (`holding` or `input`) into `registers[0..<count]`.
    ///
    /// - Parameters:
    ///   - kind: `.holding` (function 3) or `.input` (function 4).
    ///   - unit: the unit (slave) id, 0…247 (255 is accepted for TCP gateways).
    ///   - address: the first register, 0-based.
    ///   - count: 1…125.
    ///   - registers: caller-owned destination with room for `count` registers.
    /// - Throws: `ModbusError`; a timeout flushes the connection, a broken connection closes it.
    public func readRegisters(
        _ kind: RegisterKind, unit: Int, address: Int, count: Int, into registers: UnsafeMutableBufferPointer<UInt16>
    ) throws(ModbusError) {
        try read(
            kind, unit: unit, address: address, count: count, into: registers,
            valid: !kind.isBit && count <= Int(CModbus_MAX_READ_REGISTERS)
        ) { context, address, count, base in
            kind == .holding
                ? modbus_read_registers(context, address, count, base)
                : modbus_read_input_registers(context, address, count, base)
        }
    }

    /// Reads `count` registers into a caller-owned array (no allocation when it is large enough).
    /// - Throws: `ModbusError`, as `readRegisters(_:unit:address:count:into:)` with a buffer.
    public func readRegisters(_ kind: RegisterKind, unit: Int, address: Int, count: Int, into registers: inout [UInt16]) throws(ModbusError) {
        try ModbusClient.withBuffer(&registers, count: count) { buffer throws(ModbusError) in
            try readRegisters(kind, unit: unit, address: address, count: count, into: buffer)
        }
    }

    /// Reads `count` bits (`coil` or `discrete`) into `bits[0..<count]`, one byte (0 or 1) per bit.
    ///
    /// - Parameters:
    ///   - kind: `.coil` (function 1) or `.discrete` (function 2).
    ///   - unit: the unit (slave) id.
    ///   - address: the first bit, 0-based.
    ///   - count: 1…2000.
    ///   - bits: caller-owned destination with room for `count` bytes.
    /// - Throws: `ModbusError`; a timeout flushes the connection, a broken connection closes it.
    public func readBits(
        _ kind: RegisterKind, unit: Int, address: Int, count: Int, into bits: UnsafeMutableBufferPointer<UInt8>
    ) throws(ModbusError) {
        try read(
            kind, unit: unit, address: address, count: count, into: bits,
            valid: kind.isBit && count <= Int(CModbus_MAX_READ_BITS)
        ) { context, address, count, base in
            kind == .coil
                ? modbus_read_bits(context, address, count, base)
                : modbus_read_input_bits(context, address, count, base)
        }
    }

    /// Reads `count` bits into a caller-owned array (no allocation when it is large enough).
    /// - Throws: `ModbusError`, as `readBits(_:unit:address:count:into:)` with a buffer.
    public func readBits(_ kind: RegisterKind, unit: Int, address: Int, count: Int, into bits: inout [UInt8]) throws(ModbusError) {
        try ModbusClient.withBuffer(&bits, count: count) { buffer throws(ModbusError) in
            try readBits(kind, unit: unit, address: address, count: count, into: buffer)
        }
    }

    /// One read request of `count` registers or bits into `buffer`, checked and mapped to a `ModbusError`.
    ///
    /// - Parameters:
    ///   - valid: whether `kind` and `count` suit the request (its function and its libmodbus limit).
    ///   - call: the libmodbus read, given the context, address, count and destination.
    @inline(__always)
    private func read<Element>(
        _ kind: RegisterKind, unit: Int, address: Int, count: Int, into buffer: UnsafeMutableBufferPointer<Element>,
        valid: Bool, call: (OpaquePointer, Int32, Int32, UnsafeMutablePointer<Element>) -> Int32
    ) throws(ModbusError) {
        let operation = ModbusError.Operation.read(kind: kind, unit: unit, address: address, count: count)
        guard valid, count >= 1, buffer.count >= count, let base = buffer.baseAddress else {
            throw ModbusError(code: .invalidArgument, operation: operation, endpoint: endpoint)
        }
        try prepare(unit: unit, operation: operation)
        let rc = call(context, Int32(address), Int32(count), base)
        if rc == -1 { throw failure(errno: CModbus_errno(), operation: operation) }
        if rc != count { throw afterInvalidResponse(operation) }
    }

    /// Grows `array` to at least `count` elements and passes its storage to `body`.
    @inline(__always)
    private static func withBuffer<Element: BinaryInteger>(
        _ array: inout [Element], count: Int, _ body: (UnsafeMutableBufferPointer<Element>) throws(ModbusError) -> Void
    ) throws(ModbusError) {
        if array.count < count { array += repeatElement(0, count: count - array.count) }
        let result: Result<Void, ModbusError> = array.withUnsafeMutableBufferPointer { buffer in
            do throws(ModbusError) {
                try body(buffer)
                return .success(())
            } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Sets one coil (function 5), e.g. a stack light.
    /// - Throws: `ModbusError`.
    public func writeCoil(unit: Int, address: Int, value: Bool) throws(ModbusError) {
        let operation = ModbusError.Operation.write(kind: .coil, unit: unit, address: address, count: 1)
        try prepare(unit: unit, operation: operation)
        if modbus_write_bit(context, Int32(address), value ? 1 : 0) == -1 {
            throw failure(errno: CModbus_errno(), operation: operation)
        }
    }

    /// Writes one holding register (function 6).
    /// - Throws: `ModbusError`.
    public func writeRegister(unit: Int, address: Int, value: UInt16) throws(ModbusError) {
        let operation = ModbusError.Operation.write(kind: .holding, unit: unit, address: address, count: 1)
        try prepare(unit: unit, operation: operation)
        if modbus_write_register(context, Int32(address), value) == -1 {
            throw failure(errno: CModbus_errno(), operation: operation)
        }
    }

    /// Writes consecutive holding registers (function 16), e.g. an encoded 32- or 64-bit value.
    /// - Throws: `ModbusError`.
    public func writeRegisters(unit: Int, address: Int, values: [UInt16]) throws(ModbusError) {
        let operation = ModbusError.Operation.write(kind: .holding, unit: unit, address: address, count: values.count)
        guard !values.isEmpty, values.count <= Int(CModbus_MAX_WRITE_REGISTERS) else {
            throw ModbusError(code: .invalidArgument, operation: operation, endpoint: endpoint)
        }
        try prepare(unit: unit, operation: operation)
        let rc = values.withUnsafeBufferPointer { modbus_write_registers(context, Int32(address), Int32(values.count), $0.baseAddress) }
        if rc == -1 { throw failure(errno: CModbus_errno(), operation: operation) }
    }

    /// Gets the connection ready for the next request: on a serial line, discards what came in
    /// since the last answer; sets the unit id when it changed.
    private func prepare(unit: Int, operation: ModbusError.Operation) throws(ModbusError) {
        guard connected else { throw ModbusError(code: .notConnected, operation: operation, endpoint: endpoint) }
        if isSerial {
            // On an RTU line nothing is due while no request is outstanding: bytes waiting now
            // are an answer that came after its response timeout (the flush after the timeout
            // ran before it arrived) or noise. libmodbus would read them as the start of the next
            // answer and fail it: an invalid response, a CRC error, or a timeout after waiting out
            // the byte timeout for the rest of a frame the noise seemed to begin. TCP needs no
            // such step: libmodbus matches each answer's transaction id to its request.
            _ = tcflush(modbus_get_socket(context), TCIFLUSH)
        }
        if unit == currentUnit { return }
        if modbus_set_slave(context, Int32(unit)) == -1 {
            throw ModbusError(errno: CModbus_errno(), operation: operation, endpoint: endpoint)
        }
        currentUnit = unit
    }

    /// Maps errno and restores a usable connection state: flush after a timeout or a garbled
    /// answer, close after a broken connection.
    private func failure(errno value: Int32, operation: ModbusError.Operation) -> ModbusError {
        let error = ModbusError(errno: value, operation: operation, endpoint: endpoint)
        if error.code.breaksConnection {
            close()
        } else if error.code == .timeout || error.code == .invalidResponse || error.code == .crcError || error.code == .tooManyData {
            flush()
        }
        return error
    }

    private func afterInvalidResponse(_ operation: ModbusError.Operation) -> ModbusError {
        flush()
        return ModbusError(code: .invalidResponse, operation: operation, endpoint: endpoint)
    }

    /// Whether `host` resolves to an address (used only to explain a failed connect).
    private static func resolves(_ host: String) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, nil, &hints, &result)
        if let result { freeaddrinfo(result) }
        return rc == 0
    }
}

extension Duration {
    /// The duration in whole microseconds (rounded toward zero).
    var totalMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// The duration in whole nanoseconds (rounded toward zero).
    var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
