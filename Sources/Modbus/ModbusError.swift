import CModbus
import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Modbus exception code, as a device sends it in an exception response.
public struct ModbusExceptionCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The code on the wire (1…11).
    public var rawValue: UInt8
    /// Wraps a code received on the wire.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The device does not support this function code.
    public static let illegalFunction = ModbusExceptionCode(rawValue: 1)
    /// The register or bit address (or range) does not exist on the device.
    public static let illegalDataAddress = ModbusExceptionCode(rawValue: 2)
    /// A value in the request is not allowed.
    public static let illegalDataValue = ModbusExceptionCode(rawValue: 3)
    /// The device failed while handling the request.
    public static let serverDeviceFailure = ModbusExceptionCode(rawValue: 4)
    /// The device accepted a long-running request.
    public static let acknowledge = ModbusExceptionCode(rawValue: 5)
    /// The device is busy; retry later.
    public static let serverDeviceBusy = ModbusExceptionCode(rawValue: 6)
    /// The device cannot perform the program function.
    public static let negativeAcknowledge = ModbusExceptionCode(rawValue: 7)
    /// The device detected a parity error in its memory.
    public static let memoryParityError = ModbusExceptionCode(rawValue: 8)
    /// A gateway could not route the request.
    public static let gatewayPathUnavailable = ModbusExceptionCode(rawValue: 10)
    /// A gateway got no answer from the target device.
    public static let gatewayTargetFailedToRespond = ModbusExceptionCode(rawValue: 11)

    /// The name from the Modbus specification.
    public var description: String {
        switch rawValue {
        case 1: return "illegal function"
        case 2: return "illegal data address"
        case 3: return "illegal data value"
        case 4: return "server device failure"
        case 5: return "acknowledge"
        case 6: return "server device busy"
        case 7: return "negative acknowledge"
        case 8: return "memory parity error"
        case 10: return "gateway path unavailable"
        case 11: return "gateway target device failed to respond"
        default: return "exception code \(rawValue)"
        }
    }
}

/// A failed Modbus operation: what kind of failure (`code`), on which request, and the errno.
///
/// Shaped like swift-service-lifecycle's `ServiceGroupError`: `Code` is a struct, so cases can
/// be added without breaking callers' `switch` statements (which need a `default`).
public struct ModbusError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; callers act on it (retry, back off, reconnect, fix the config).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Backing: Sendable, Hashable {
            case timeout, connectionRefused, connectionLost, hostNotFound, deviceUnavailable
            case crcError, exception, tooManyData, invalidResponse, invalidArgument, notConnected, other
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// The device did not answer within the response timeout. The connection was flushed.
        public static let timeout = Code(.timeout)
        /// Nothing listens at the address (or the TCP connect failed): check host, port, cabling.
        public static let connectionRefused = Code(.connectionRefused)
        /// The connection broke (reset, broken pipe, closed by the peer): reconnect.
        public static let connectionLost = Code(.connectionLost)
        /// The host name did not resolve.
        public static let hostNotFound = Code(.hostNotFound)
        /// The serial device could not be opened (missing, busy, or no permission).
        public static let deviceUnavailable = Code(.deviceUnavailable)
        /// A frame arrived with a bad CRC (RTU line noise, wrong baud or parity).
        public static let crcError = Code(.crcError)
        /// The device answered with a Modbus exception; see `ModbusError.exceptionCode`.
        public static let exception = Code(.exception)
        /// The device sent more data than requested.
        public static let tooManyData = Code(.tooManyData)
        /// The response did not match the request (wrong unit, transaction, length or function).
        public static let invalidResponse = Code(.invalidResponse)
        /// The request itself was invalid (address or count out of range).
        public static let invalidArgument = Code(.invalidArgument)
        /// The operation needs a connection and there is none: call `connect()` first.
        public static let notConnected = Code(.notConnected)
        /// Any other system error; see `ModbusError.systemErrno`.
        public static let other = Code(.other)

        /// A short name for logs and health counters.
        public var description: String {
            switch backing {
            case .timeout: return "timeout"
            case .connectionRefused: return "connection refused"
            case .connectionLost: return "connection lost"
            case .hostNotFound: return "host not found"
            case .deviceUnavailable: return "device unavailable"
            case .crcError: return "CRC error"
            case .exception: return "Modbus exception"
            case .tooManyData: return "too many data"
            case .invalidResponse: return "invalid response"
            case .invalidArgument: return "invalid argument"
            case .notConnected: return "not connected"
            case .other: return "system error"
            }
        }

        /// Whether the connection must be closed and re-established.
        public var breaksConnection: Bool {
            backing == .connectionLost || backing == .connectionRefused || backing == .notConnected
                || backing == .hostNotFound || backing == .deviceUnavailable || backing == .other
        }
    }

    /// What the client was doing when it failed.
    public enum Operation: Sendable, Hashable, CustomStringConvertible {
        /// Creating the libmodbus context (bad transport parameters).
        case create
        /// Opening the TCP connection or the serial device.
        case connect
        /// Reading `count` values of `kind` from `address` on unit `unit`.
        case read(kind: RegisterKind, unit: Int, address: Int, count: Int)
        /// Writing `count` values of `kind` at `address` on unit `unit`.
        case write(kind: RegisterKind, unit: Int, address: Int, count: Int)
        /// Changing a setting (timeout, unit id).
        case configure

        /// `read 10 holding from address 100 on unit 3`.
        public var description: String {
            switch self {
            case .create: return "create context"
            case .connect: return "connect"
            case let .read(kind, unit, address, count):
                return "read \(count) \(kind.rawValue) from address \(address) on unit \(unit)"
            case let .write(kind, unit, address, count):
                return "write \(count) \(kind.rawValue) at address \(address) on unit \(unit)"
            case .configure: return "configure"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// The device's exception code when `code == .exception`.
    public var exceptionCode: ModbusExceptionCode?
    /// The errno value libmodbus reported (0 when the failure was detected in Swift).
    public var systemErrno: Int32
    /// What was being done.
    public var operation: Operation
    /// Where: `127.0.0.1:502` or `/dev/ttyUSB0`.
    public var endpoint: String

    /// Creates an error; prefer `ModbusError(errno:operation:endpoint:)` after a failing C call.
    public init(code: Code, exceptionCode: ModbusExceptionCode? = nil, systemErrno: Int32 = 0, operation: Operation, endpoint: String) {
        self.code = code
        self.exceptionCode = exceptionCode
        self.systemErrno = systemErrno
        self.operation = operation
        self.endpoint = endpoint
    }

    /// Maps an errno value read right after a failing libmodbus call.
    init(errno value: Int32, operation: Operation, endpoint: String) {
        var exception: ModbusExceptionCode? = nil
        let code: Code
        switch value {
        case ETIMEDOUT: code = .timeout
        case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL: code = .connectionRefused
        case ECONNRESET, EPIPE, ENOTCONN, ECONNABORTED, EBADF, EIO: code = .connectionLost
        case ENOENT, EACCES, EBUSY, ENODEV, ENXIO, EPERM: code = .deviceUnavailable
        case EINVAL: code = .invalidArgument
        case CModbus_EMBBADCRC: code = .crcError
        case CModbus_EMBMDATA: code = .tooManyData
        case CModbus_EMBBADDATA, CModbus_EMBBADEXC, CModbus_EMBUNKEXC, CModbus_EMBBADSLAVE: code = .invalidResponse
        case CModbus_EMBXILFUN...CModbus_EMBXGTAR:
            code = .exception
            exception = ModbusExceptionCode(rawValue: UInt8(value - CModbus_ENOBASE))
        default: code = .other
        }
        self.init(code: code, exceptionCode: exception, systemErrno: value, operation: operation, endpoint: endpoint)
    }

    /// One line for people: what failed, where, why, and what to do next.
    public var description: String {
        var text = "\(operation) on \(endpoint) failed: "
        if let exceptionCode {
            text += "device answered with exception \(exceptionCode.rawValue) (\(exceptionCode))"
        } else {
            text += code.description
        }
        if systemErrno != 0 && code == .other {
            text += " (errno \(systemErrno): \(String(cString: modbus_strerror(systemErrno))))"
        }
        if let hint { text += "; \(hint)" }
        return text
    }

    /// What to do next.
    private var hint: String? {
        switch code {
        case .timeout: return "check the unit id, wiring, baud/parity, or raise the response timeout"
        case .connectionRefused: return "check host, port and that the device or gateway is up"
        case .connectionLost: return "the connection will be re-established"
        case .hostNotFound: return "check the host name or use an IP address"
        case .deviceUnavailable: return "check the serial device path, that no other program holds it, and permissions (dialout group)"
        case .crcError: return "check baud rate, parity, termination and grounding"
        case .exception:
            if exceptionCode == .illegalDataAddress { return "the address or count does not exist on this device: check the register map" }
            if exceptionCode == .illegalFunction { return "the device does not support this register kind" }
            if exceptionCode == .serverDeviceBusy { return "retry later" }
            return nil
        case .tooManyData: return "lower the number of registers per read"
        case .invalidResponse: return "another master on the bus, a wrong unit id, or a late answer; check the unit id"
        case .invalidArgument: return "address or count out of range (at most 125 registers or 2000 bits per read)"
        case .notConnected: return "connect first"
        default: return nil
        }
    }
}
