import CModbus
import EdgeCore
import Modbus
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Modbus server (slave) built on libmodbus's server API, serving several unit ids, each
/// with its own register map, from a thread of its own.
///
/// Used by the tests and the simulator. Over TCP it listens on a host (normally `127.0.0.1`)
/// and serves any number of concurrent connections; over RTU it answers on a serial device.
/// Faults can be injected per unit: slow answers, silence, dropped connections, and exception
/// answers for an address range.
///
/// ```swift
/// let server = try ModbusServer(endpoint: .tcp(port: 0), units: [.init(unitID: 1)])
/// try server.setRegisters([0x449A, 0x522B], kind: .holding, unit: 1, address: 100)
/// // connect a client to 127.0.0.1:\(server.port) …
/// server.stop()
/// ```
public final class ModbusServer: @unchecked Sendable {
    // @unchecked Sendable: the libmodbus context and the descriptors are used only by the
    // server thread once it has started (init hands them over before starting it); the
    // register maps and fault settings live in `state`, behind a Mutex; `stopping` is atomic.

    /// Where the server listens.
    public enum Endpoint: Sendable, Equatable {
        /// Modbus TCP on `host` (an IP address) and `port` (0 picks a free port: see `port`).
        case tcp(host: String = "127.0.0.1", port: Int = 0)
        /// Modbus RTU on a serial device (for tests, one end of a socat pty pair).
        case rtu(device: String, baud: Int = 19_200, parity: Parity = .none, dataBits: Int = 8, stopBits: Int = 1)
    }

    /// Serial parity for `Endpoint.rtu`.
    public enum Parity: String, Sendable, Equatable { case none = "N", even = "E", odd = "O" }

    /// One unit id and the address ranges of its four tables.
    public struct Unit: Sendable, Equatable {
        /// The unit (slave) id it answers to.
        public var unitID: Int
        /// Coil addresses served (others answer "illegal data address").
        public var coils: Range<Int>
        /// Discrete input addresses served.
        public var discreteInputs: Range<Int>
        /// Holding register addresses served.
        public var holdingRegisters: Range<Int>
        /// Input register addresses served.
        public var inputRegisters: Range<Int>

        /// A unit whose four tables each cover `addresses` (default 0..<10000).
        public init(unitID: Int, addresses: Range<Int> = 0..<10_000) {
            self.init(unitID: unitID, coils: addresses, discreteInputs: addresses, holdingRegisters: addresses, inputRegisters: addresses)
        }

        /// A unit with its own range per table (requests outside get "illegal data address").
        public init(unitID: Int, coils: Range<Int>, discreteInputs: Range<Int>, holdingRegisters: Range<Int>, inputRegisters: Range<Int>) {
            self.unitID = unitID
            self.coils = coils
            self.discreteInputs = discreteInputs
            self.holdingRegisters = holdingRegisters
            self.inputRegisters = inputRegisters
        }
    }

    /// A misbehaviour to inject for one unit.
    public enum Fault: Sendable, Equatable {
        /// Answer every request `milliseconds` late (other units keep answering meanwhile).
        case slow(milliseconds: Int)
        /// Never answer.
        case silent
        /// Close the client's connection on every request for this unit (TCP only).
        case dropConnection
        /// Keep every answer until `releaseHeldAnswers(unit:)`: a late answer that comes when
        /// the test says, after the client's timeout however late the client's thread runs
        /// (a fixed delay is late only if the client is on time).
        case held
    }

    /// A libmodbus register map.
    private struct Mapping: @unchecked Sendable {
        // @unchecked Sendable: the map is read and written only while `state`'s lock is held.
        let pointer: UnsafeMutablePointer<modbus_mapping_t>
    }

    private struct UnitState: Sendable {
        var unit: Unit
        var mapping: Mapping
        var fault: Fault?
        var exceptions: [(kind: RegisterKind, addresses: Range<Int>, code: ModbusExceptionCode)] = []
        var requests = 0
    }

    private struct State: Sendable {
        var units: [Int: UnitState] = [:]
        var dropAll = false
        /// When the latest requests arrived (`recentRequestsKept` at most, oldest overwritten).
        var arrivals: [(unit: Int, monotonicNanoseconds: UInt64)] = []
        var nextArrival = 0
        /// Units whose held answers the serving thread is to send now.
        var releasing: Set<Int> = []
        /// Held answers sent so far, per unit.
        var heldAnswersSent: [Int: Int] = [:]
    }

    /// How many request arrivals `recentRequests()` keeps: memory stays flat however long the
    /// server runs (the simulator serves thousands of requests a second).
    private static let recentRequestsKept = 4096

    private let context: OpaquePointer
    private let isTCP: Bool
    private let listenFD: Int32
    /// The TCP port the server listens on (the ephemeral one when `port: 0` was asked), or 0 for RTU.
    public let port: Int
    /// `127.0.0.1:PORT` or the serial device.
    public let endpointDescription: String
    private let state: Mutex<State>
    private let stopping = Atomic<Bool>(false)
    private let wake: WakeSignal
    private var thread: PosixThread?

    /// Creates the server, binds or opens its endpoint, and starts serving.
    ///
    /// - Parameters:
    ///   - endpoint: TCP host and port, or an RTU serial device.
    ///   - units: the unit ids to serve, each with its own register map (all zero initially).
    /// - Throws: `ModbusServerError` when the endpoint cannot be bound or opened.
    public init(endpoint: Endpoint, units: [Unit]) throws(ModbusServerError) {
        var states: [Int: UnitState] = [:]
        for unit in units {
            guard let mapping = modbus_mapping_new_start_address(
                UInt32(unit.coils.lowerBound), UInt32(unit.coils.count),
                UInt32(unit.discreteInputs.lowerBound), UInt32(unit.discreteInputs.count),
                UInt32(unit.holdingRegisters.lowerBound), UInt32(unit.holdingRegisters.count),
                UInt32(unit.inputRegisters.lowerBound), UInt32(unit.inputRegisters.count))
            else {
                for s in states.values { modbus_mapping_free(s.mapping.pointer) }
                throw ModbusServerError(message: "cannot allocate the register map of unit \(unit.unitID)", errno: CModbus_errno())
            }
            states[unit.unitID] = UnitState(unit: unit, mapping: Mapping(pointer: mapping))
        }
        func freeMappings() { for s in states.values { modbus_mapping_free(s.mapping.pointer) } }

        let created: OpaquePointer?
        var location = ""
        switch endpoint {
        case let .tcp(host, port):
            created = modbus_new_tcp_pi(host, String(port))
            location = "\(host):\(port)"
        case let .rtu(device, baud, parity, dataBits, stopBits):
            let parityCharacter: UInt8 = switch parity {
            case .none: UInt8(ascii: "N")
            case .even: UInt8(ascii: "E")
            case .odd: UInt8(ascii: "O")
            }
            created = modbus_new_rtu(device, Int32(clamping: baud), CChar(parityCharacter), Int32(clamping: dataBits), Int32(clamping: stopBits))
            location = device
        }
        guard let created else {
            let e = CModbus_errno()
            freeMappings()
            throw ModbusServerError(message: "invalid endpoint \(endpoint)", errno: e)
        }

        switch endpoint {
        case .tcp(let host, _):
            let fd = modbus_tcp_pi_listen(created, 32)
            if fd == -1 {
                let e = CModbus_errno()
                modbus_free(created)
                freeMappings()
                throw ModbusServerError(message: "cannot listen on \(location)", errno: e)
            }
            guard let bound = ModbusServer.boundPort(of: fd) else {
                let e = CModbus_errno()
                Glibc.close(fd)
                modbus_free(created)
                freeMappings()
                throw ModbusServerError(message: "cannot find the port bound on \(host)", errno: e)
            }
            listenFD = fd
            port = bound
            isTCP = true
            location = host.contains(":") ? "[\(host)]:\(bound)" : "\(host):\(bound)"
        case .rtu:
            if modbus_connect(created) == -1 {
                let e = CModbus_errno()
                modbus_free(created)
                freeMappings()
                throw ModbusServerError(message: "cannot open serial device \(location)", errno: e)
            }
            listenFD = modbus_get_socket(created)
            port = 0
            isTCP = false
        }
        context = created
        endpointDescription = location
        state = Mutex(State(units: states))
        do {
            wake = try WakeSignal()
        } catch {
            if isTCP { Glibc.close(listenFD) } else { modbus_close(created) }
            modbus_free(created)
            freeMappings()
            throw ModbusServerError(message: "cannot create the wake-up pipe", errno: error.code)
        }
        do {
            // unowned(unsafe): deinit joins this thread before the object's memory is released,
            // and a strong reference here would keep a forgotten server alive forever.
            thread = try PosixThread(name: "modbus-server") { [unowned(unsafe) self] in
                if self.isTCP { self.serveTCP() } else { self.serveRTU() }
            }
        } catch {
            if isTCP { Glibc.close(listenFD) } else { modbus_close(created) }
            modbus_free(created)
            freeMappings()
            throw ModbusServerError(message: "cannot start the server thread", errno: error.code)
        }
    }

    deinit {
        stop()
        state.withLock { s in for u in s.units.values { modbus_mapping_free(u.mapping.pointer) } }
        modbus_free(context)
    }

    /// Stops serving, closes every connection and the endpoint, and joins the server thread.
    /// Idempotent.
    public func stop() {
        guard let thread else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        wake.wake()
        thread.join()
        self.thread = nil
        if isTCP {
            Glibc.close(listenFD)
        } else {
            modbus_close(context)
        }
    }

    // MARK: Register values (thread-safe)

    /// Sets 16-bit registers (`.holding` or `.input`) of one unit from `address` on.
    /// - Throws: `ModbusServerError` for an unknown unit, a bit kind, or addresses outside the map.
    public func setRegisters(_ values: [UInt16], kind: RegisterKind, unit: Int, address: Int) throws(ModbusServerError) {
        try withTable(kind: kind, unit: unit, address: address, count: values.count, bits: false) { base, _ in
            let registers = base.assumingMemoryBound(to: UInt16.self)
            for (i, v) in values.enumerated() { registers[i] = v }
        }
    }

    /// Sets bits (`.coil` or `.discrete`) of one unit from `address` on.
    /// - Throws: `ModbusServerError` for an unknown unit, a register kind, or addresses outside the map.
    public func setBits(_ values: [Bool], kind: RegisterKind, unit: Int, address: Int) throws(ModbusServerError) {
        try withTable(kind: kind, unit: unit, address: address, count: values.count, bits: true) { base, _ in
            let bits = base.assumingMemoryBound(to: UInt8.self)
            for (i, v) in values.enumerated() { bits[i] = v ? 1 : 0 }
        }
    }

    /// Encodes `value` as `type` in `order` and stores it at `address` (registers), or sets one
    /// bit (coil/discrete, `.bool` only).
    /// - Throws: `ModbusServerError` when the value does not fit the type or the address the map.
    public func setValue(_ value: RawValue, as type: DataType, order: WordOrder = .ABCD, kind: RegisterKind, unit: Int, address: Int) throws(ModbusServerError) {
        if kind.isBit {
            guard case .bool(let b) = value else { throw ModbusServerError(message: "\(kind.rawValue) tables hold only bool values", errno: 0) }
            try setBits([b], kind: kind, unit: unit, address: address)
            return
        }
        let registers: [UInt16]
        do { registers = try RegisterCodec.encode(value, as: type, order: order) } catch {
            throw ModbusServerError(message: error.description, errno: 0)
        }
        try setRegisters(registers, kind: kind, unit: unit, address: address)
    }

    /// The current 16-bit registers of one unit (reads back what clients wrote).
    /// - Throws: `ModbusServerError` for an unknown unit, a bit kind, or addresses outside the map.
    public func registers(kind: RegisterKind, unit: Int, address: Int, count: Int) throws(ModbusServerError) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: count)
        try withTable(kind: kind, unit: unit, address: address, count: count, bits: false) { base, _ in
            let registers = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = registers[i] }
        }
        return out
    }

    /// The current bits of one unit (reads back what clients wrote).
    /// - Throws: `ModbusServerError` for an unknown unit, a register kind, or addresses outside the map.
    public func bits(kind: RegisterKind, unit: Int, address: Int, count: Int) throws(ModbusServerError) -> [Bool] {
        var out = [Bool](repeating: false, count: count)
        try withTable(kind: kind, unit: unit, address: address, count: count, bits: true) { base, _ in
            let bits = base.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count { out[i] = bits[i] != 0 }
        }
        return out
    }

    private func withTable(
        kind: RegisterKind, unit: Int, address: Int, count: Int, bits: Bool,
        _ body: (UnsafeMutableRawPointer, Int) -> Void
    ) throws(ModbusServerError) {
        let problem: String? = state.withLock { s in
            guard let u = s.units[unit] else { return "unit \(unit) is not served" }
            guard kind.isBit == bits else { return "\(kind.rawValue) is not a \(bits ? "bit" : "register") table" }
            let m = u.mapping.pointer.pointee
            let (start, size, base): (Int, Int, UnsafeMutableRawPointer?) = switch kind {
            case .coil: (Int(m.start_bits), Int(m.nb_bits), UnsafeMutableRawPointer(m.tab_bits))
            case .discrete: (Int(m.start_input_bits), Int(m.nb_input_bits), UnsafeMutableRawPointer(m.tab_input_bits))
            case .holding: (Int(m.start_registers), Int(m.nb_registers), UnsafeMutableRawPointer(m.tab_registers))
            case .input: (Int(m.start_input_registers), Int(m.nb_input_registers), UnsafeMutableRawPointer(m.tab_input_registers))
            }
            guard address >= start, count >= 0, address + count <= start + size, let base else {
                return "addresses \(address)..<\(address + count) are outside unit \(unit)'s \(kind.rawValue) map \(start)..<\(start + size)"
            }
            body(base + (address - start) * (bits ? 1 : 2), count)
            return nil
        }
        if let problem { throw ModbusServerError(message: problem, errno: 0) }
    }

    // MARK: Fault injection (thread-safe)

    /// Injects `fault` for `unit`, or clears it with `nil`.
    public func setFault(_ fault: Fault?, unit: Int) {
        state.withLock { $0.units[unit]?.fault = fault }
    }

    /// Answers requests for `unit` that touch `addresses` of `kind` with exception `code`.
    public func addException(_ code: ModbusExceptionCode, unit: Int, kind: RegisterKind, addresses: Range<Int>) {
        state.withLock { $0.units[unit]?.exceptions.append((kind, addresses, code)) }
    }

    /// Removes every exception rule of `unit`.
    public func clearExceptions(unit: Int) {
        state.withLock { $0.units[unit]?.exceptions.removeAll() }
    }

    /// Closes every client connection now (TCP); clients must reconnect.
    public func dropAllConnections() {
        state.withLock { $0.dropAll = true }
        wake.wake()
    }

    /// Gives the serving thread real-time scheduling (SCHED_FIFO at `priority`) where the system
    /// allows it: a test's stand-in for a unit at the end of a serial line then answers like
    /// hardware, whatever the machine's load. Returns whether it was allowed.
    package func useRealtimeScheduling(priority: Int32) -> Bool {
        thread?.useRealtimeScheduling(priority: priority) ?? false
    }

    /// Sends the answers held for `unit` (`Fault.held`) so far; `heldAnswersSent(unit:)` counts
    /// them once they are written. Clear or change the fault first, or later requests are held too.
    package func releaseHeldAnswers(unit: Int) {
        state.withLock { _ = $0.releasing.insert(unit) }
        wake.wake()
    }

    /// How many held answers for `unit` the server has written (`releaseHeldAnswers(unit:)`).
    package func heldAnswersSent(unit: Int) -> Int {
        state.withLock { $0.heldAnswersSent[unit] ?? 0 }
    }

    /// How many requests for `unit` the server has received (answered or not).
    public func requestCount(unit: Int) -> Int {
        state.withLock { $0.units[unit]?.requests ?? 0 }
    }

    /// The latest requests for units this server serves (up to 4,096), oldest first: the unit
    /// and when the serving thread took the request (CLOCK_MONOTONIC nanoseconds, before it
    /// answered), so a test can measure the gaps a client leaves between requests.
    package func recentRequests() -> [(unit: Int, monotonicNanoseconds: UInt64)] {
        state.withLock { s in
            s.arrivals.count < Self.recentRequestsKept ? s.arrivals
                : Array(s.arrivals[s.nextArrival...] + s.arrivals[..<s.nextArrival])
        }
    }

    // MARK: Serving

    private struct PendingReply {
        var fd: Int32
        /// When to answer; `UInt64.max` while an answer is held (`Fault.held`).
        var due: UInt64
        var request: [UInt8]
        var unit: Int
        /// Whether the answer was held until released.
        var held = false
    }

    /// Makes the held answers of the units `releaseHeldAnswers(unit:)` named due now.
    private func releaseHeld(_ pending: inout [PendingReply], now: UInt64) {
        let units = state.withLock { s in defer { s.releasing.removeAll() }; return s.releasing }
        guard !units.isEmpty else { return }
        for i in pending.indices where pending[i].held && units.contains(pending[i].unit) { pending[i].due = min(pending[i].due, now) }
    }

    /// Counts a held answer once written.
    private func noteHeldAnswerSent(unit: Int) {
        state.withLock { $0.heldAnswersSent[unit, default: 0] += 1 }
    }

    private enum Decision {
        case reply, exception(ModbusExceptionCode), ignore, drop, delay(Int), hold
    }

    /// Decides how to answer a request (`offset` = header length; unit id at `offset - 1`).
    private func decide(_ request: UnsafePointer<UInt8>, length: Int, offset: Int) -> Decision {
        let unitID = Int(request[offset - 1])
        let function = request[offset]
        let address = length > offset + 2 ? Int(request[offset + 1]) << 8 | Int(request[offset + 2]) : 0
        var count = 1
        if function <= 4 || function == 15 || function == 16, length > offset + 4 {
            count = Int(request[offset + 3]) << 8 | Int(request[offset + 4])
        }
        let kind: RegisterKind? = switch function {
        case 1, 5, 15: .coil
        case 2: .discrete
        case 3, 6, 16, 22, 23: .holding
        case 4: .input
        default: nil
        }
        return state.withLock { s -> Decision in
            guard s.units[unitID] != nil else {
                return isTCP ? .exception(.gatewayTargetFailedToRespond) : .ignore
            }
            s.units[unitID]!.requests += 1
            let arrival = (unit: unitID, monotonicNanoseconds: monotonicNow())
            if s.arrivals.count < Self.recentRequestsKept { s.arrivals.append(arrival) } else { s.arrivals[s.nextArrival] = arrival }
            s.nextArrival = (s.nextArrival + 1) % Self.recentRequestsKept
            let u = s.units[unitID]!
            switch u.fault {
            case .silent: return .ignore
            case .dropConnection: return .drop
            default: break
            }
            if let kind {
                let requested = address..<(address + max(count, 1))
                if let rule = u.exceptions.first(where: { $0.kind == kind && $0.addresses.overlaps(requested) }) {
                    return .exception(rule.code)
                }
            }
            if case .slow(let ms) = u.fault { return .delay(ms) }
            if u.fault == .held { return .hold }
            return .reply
        }
    }

    /// Sends the answer to `request` on `fd`. Returns false when the connection failed.
    private func answer(_ request: UnsafePointer<UInt8>, length: Int, fd: Int32, offset: Int, exception: ModbusExceptionCode? = nil) -> Bool {
        let unitID = Int(request[offset - 1])
        _ = modbus_set_socket(context, fd)
        if !isTCP { _ = modbus_set_slave(context, Int32(unitID)) }
        let rc: Int32 = state.withLock { s in
            if let exception { return modbus_reply_exception(context, request, UInt32(exception.rawValue)) }
            guard let u = s.units[unitID] else { return 0 }
            return modbus_reply(context, request, Int32(length), u.mapping.pointer)
        }
        return rc != -1
    }

    private func monotonicNow() -> UInt64 { SystemClock.monotonicNanoseconds() }

    /// The TCP loop: accept, receive with `modbus_receive`, answer with `modbus_reply`.
    private func serveTCP() {
        var clients: [Int32] = []
        var pending: [PendingReply] = []
        let query = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(CModbus_TCP_MAX_ADU_LENGTH))
        defer {
            query.deallocate()
            for fd in clients { Glibc.close(fd) }
            _ = modbus_set_socket(context, -1)
        }
        let offset = Int(modbus_get_header_length(context))
        func drop(_ fd: Int32) {
            Glibc.close(fd)
            clients.removeAll { $0 == fd }
            pending.removeAll { $0.fd == fd }
        }
        var descriptors: [pollfd] = []
        while !stopping.load(ordering: .sequentiallyConsistent) {
            // Answer delayed replies that are due.
            let now = monotonicNow()
            releaseHeld(&pending, now: now)
            var i = 0
            while i < pending.count {
                if pending[i].due <= now {
                    let p = pending.remove(at: i)
                    let ok = p.request.withUnsafeBufferPointer {
                        answer($0.baseAddress!, length: p.request.count, fd: p.fd, offset: offset)
                    }
                    if !ok { drop(p.fd) } else if p.held { noteHeldAnswerSent(unit: p.unit) }
                } else {
                    i += 1
                }
            }
            if state.withLock({ s in defer { s.dropAll = false }; return s.dropAll }) {
                for fd in clients { Glibc.close(fd) }
                clients.removeAll()
                pending.removeAll()
            }
            descriptors.removeAll(keepingCapacity: true)
            descriptors.append(pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0))
            descriptors.append(pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0))
            for fd in clients { descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            var timeout: Int32 = -1
            if let due = pending.lazy.map(\.due).filter({ $0 != .max }).min() {
                timeout = due <= now ? 0 : Int32(clamping: (due - now + 999_999) / 1_000_000)
            }
            let rc = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if rc < 0 {
                if errno == EINTR { continue }
                break
            }
            if descriptors[0].revents != 0 { wake.drain() }
            if descriptors[1].revents & Int16(POLLIN) != 0 {
                var listening = listenFD
                let fd = modbus_tcp_pi_accept(context, &listening)
                if fd >= 0 { clients.append(fd) }
            }
            for d in descriptors.dropFirst(2) where d.revents != 0 {
                guard clients.contains(d.fd) else { continue }
                _ = modbus_set_socket(context, d.fd)
                let n = modbus_receive(context, query)
                if n == -1 {
                    // Peer closed or garbage: forget this connection.
                    drop(d.fd)
                    continue
                }
                if n == 0 { continue }
                switch decide(query, length: Int(n), offset: offset) {
                case .ignore: continue
                case .drop: drop(d.fd)
                case .exception(let code):
                    if !answer(query, length: Int(n), fd: d.fd, offset: offset, exception: code) { drop(d.fd) }
                case .delay(let ms):
                    pending.append(PendingReply(fd: d.fd, due: monotonicNow() + UInt64(ms) * 1_000_000, request: Array(UnsafeBufferPointer(start: query, count: Int(n))), unit: Int(query[offset - 1])))
                case .hold:
                    pending.append(PendingReply(fd: d.fd, due: .max, request: Array(UnsafeBufferPointer(start: query, count: Int(n))), unit: Int(query[offset - 1]), held: true))
                case .reply:
                    if !answer(query, length: Int(n), fd: d.fd, offset: offset) { drop(d.fd) }
                }
            }
        }
    }

    /// The RTU loop: frames are read here (libmodbus's `modbus_receive` in RTU mode answers
    /// only one slave id, and this server answers several), checked for CRC, then answered
    /// with `modbus_reply`.
    private func serveRTU() {
        let fd = listenFD
        var frame: [UInt8] = []
        frame.reserveCapacity(Int(CModbus_RTU_MAX_ADU_LENGTH))
        var pending: [PendingReply] = []
        var lastByte: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 512)
        let interFrameGap: UInt64 = 50_000_000  // a partial frame older than this is noise
        var descriptors = [pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0), pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let now = monotonicNow()
            releaseHeld(&pending, now: now)
            if let index = pending.firstIndex(where: { $0.due <= now }) {
                let p = pending.remove(at: index)
                let ok = p.request.withUnsafeBufferPointer { answer($0.baseAddress!, length: p.request.count, fd: fd, offset: 1) }
                if ok && p.held { noteHeldAnswerSent(unit: p.unit) }
                continue
            }
            var timeout: Int32 = -1
            if let due = pending.lazy.map(\.due).filter({ $0 != .max }).min() { timeout = Int32(clamping: (due - now + 999_999) / 1_000_000) }
            if !frame.isEmpty { timeout = timeout < 0 ? 60 : min(timeout, 60) }
            descriptors[0].revents = 0
            descriptors[1].revents = 0
            let rc = poll(&descriptors, 2, timeout)
            if rc < 0 {
                if errno == EINTR { continue }
                break
            }
            if descriptors[0].revents != 0 { wake.drain() }
            if !frame.isEmpty && monotonicNow() - lastByte > interFrameGap { frame.removeAll(keepingCapacity: true) }
            guard descriptors[1].revents & Int16(POLLIN) != 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { continue }
            lastByte = monotonicNow()
            frame.append(contentsOf: buffer[0..<n])
            while let length = ModbusServer.rtuRequestLength(frame) {
                if length < 0 || length > Int(CModbus_RTU_MAX_ADU_LENGTH) {
                    frame.removeAll(keepingCapacity: true)
                    break
                }
                guard frame.count >= length else { break }
                let request = Array(frame[0..<length])
                frame.removeFirst(length)
                guard ModbusServer.crc16(request[0..<(length - 2)]) == UInt16(request[length - 2]) | UInt16(request[length - 1]) << 8 else {
                    frame.removeAll(keepingCapacity: true)
                    break
                }
                let decision = request.withUnsafeBufferPointer { decide($0.baseAddress!, length: length, offset: 1) }
                switch decision {
                case .ignore, .drop: continue
                case .exception(let code):
                    _ = request.withUnsafeBufferPointer { answer($0.baseAddress!, length: length, fd: fd, offset: 1, exception: code) }
                case .delay(let ms):
                    pending.append(PendingReply(fd: fd, due: monotonicNow() + UInt64(ms) * 1_000_000, request: request, unit: Int(request[0])))
                case .hold:
                    pending.append(PendingReply(fd: fd, due: .max, request: request, unit: Int(request[0]), held: true))
                case .reply:
                    _ = request.withUnsafeBufferPointer { answer($0.baseAddress!, length: length, fd: fd, offset: 1) }
                }
            }
        }
    }

    /// The full length (CRC included) of the RTU request starting `frame`, nil when more bytes
    /// are needed to tell, or -1 for a function code this server does not know.
    static func rtuRequestLength(_ frame: [UInt8]) -> Int? {
        guard frame.count >= 2 else { return nil }
        switch frame[1] {
        case 1, 2, 3, 4, 5, 6: return 8
        case 7, 11, 12, 17: return 4
        case 15, 16: return frame.count >= 7 ? 9 + Int(frame[6]) : nil
        case 22: return 10
        case 23: return frame.count >= 11 ? 13 + Int(frame[10]) : nil
        default: return -1
        }
    }

    /// The Modbus RTU CRC-16 (polynomial 0xA001, initial 0xFFFF).
    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for b in bytes {
            crc ^= UInt16(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return crc
    }

    private static func boundPort(of fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default:
            return nil
        }
    }
}

/// The server could not start or a request to it was invalid; says what to fix.
public struct ModbusServerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// The errno of the failing system call, or 0.
    public var errno: Int32

    /// The message, with the system's explanation of `errno`.
    public var description: String {
        errno == 0 ? message : "\(message): \(String(cString: modbus_strerror(errno)))"
    }
}
