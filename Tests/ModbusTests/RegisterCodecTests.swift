import EdgeCore
import Testing
@testable import Modbus

/// Values whose bytes are all different, so that any wrong word or byte order decodes to a
/// different number.
let distinctValues: [DataType: RawValue] = [
    .bool: .bool(true),
    .int16: .signed(-12_345),  // 0xCFC7
    .uint16: .unsigned(0x1234),
    .int32: .signed(-123_456_789),  // 0xF8A432EB
    .uint32: .unsigned(0x1122_3344),
    .int64: .signed(-1_234_567_890_123_456_789),  // 0xEEDDEF0B82167EEB
    .uint64: .unsigned(0x1122_3344_5566_7788),
    .float32: .float(Double(Float(1234.5678))),  // 0x449A522B
    .float64: .float(-98_765.4321),  // 0xC0F81CD6E9E1B08A
]

struct TypeOrderCase: CustomTestStringConvertible, Sendable {
    let type: DataType
    let order: WordOrder
    var testDescription: String { "\(type.rawValue) \(order.rawValue)" }
}

let everyTypeAndOrder: [TypeOrderCase] = DataType.allCases.flatMap { type in
    WordOrder.allCases.map { TypeOrderCase(type: type, order: $0) }
}

@Suite("Register decoding and encoding")
struct RegisterCodecTests {
    /// Wire layouts computed by hand from the rule in `WordOrder`'s documentation.
    @Test(arguments: [
        (DataType.uint16, WordOrder.ABCD, RawValue.unsigned(0x1234), [UInt16(0x1234)]),
        (.uint16, .CDAB, .unsigned(0x1234), [0x1234]),
        (.uint16, .BADC, .unsigned(0x1234), [0x3412]),
        (.uint16, .DCBA, .unsigned(0x1234), [0x3412]),
        (.uint32, .ABCD, .unsigned(0x1122_3344), [0x1122, 0x3344]),
        (.uint32, .DCBA, .unsigned(0x1122_3344), [0x4433, 0x2211]),
        (.uint32, .BADC, .unsigned(0x1122_3344), [0x2211, 0x4433]),
        (.uint32, .CDAB, .unsigned(0x1122_3344), [0x3344, 0x1122]),
        (.uint64, .ABCD, .unsigned(0x1122_3344_5566_7788), [0x1122, 0x3344, 0x5566, 0x7788]),
        (.uint64, .DCBA, .unsigned(0x1122_3344_5566_7788), [0x8877, 0x6655, 0x4433, 0x2211]),
        (.uint64, .BADC, .unsigned(0x1122_3344_5566_7788), [0x2211, 0x4433, 0x6655, 0x8877]),
        (.uint64, .CDAB, .unsigned(0x1122_3344_5566_7788), [0x7788, 0x5566, 0x3344, 0x1122]),
        (.float32, .ABCD, .float(Double(Float(1234.5678))), [0x449A, 0x522B]),
        (.float32, .CDAB, .float(Double(Float(1234.5678))), [0x522B, 0x449A]),
        (.float32, .DCBA, .float(Double(Float(1234.5678))), [0x2B52, 0x9A44]),
        (.float32, .BADC, .float(Double(Float(1234.5678))), [0x9A44, 0x2B52]),
        (.float64, .ABCD, .float(-98_765.4321), [0xC0F8, 0x1CD6, 0xE9E1, 0xB08A]),
        (.float64, .CDAB, .float(-98_765.4321), [0xB08A, 0xE9E1, 0x1CD6, 0xC0F8]),
        (.int16, .ABCD, .signed(-12_345), [0xCFC7]),
        (.int32, .ABCD, .signed(-123_456_789), [0xF8A4, 0x32EB]),
        (.int64, .DCBA, .signed(-1_234_567_890_123_456_789), [0xEB7E, 0x1682, 0x0BEF, 0xDDEE]),
    ])
    func wireLayoutMatchesHandComputed(type: DataType, order: WordOrder, value: RawValue, registers: [UInt16]) throws {
        #expect(try RegisterCodec.encode(value, as: type, order: order) == registers)
        let decoded = registers.withUnsafeBufferPointer {
            RegisterCodec.decodeRaw($0, start: 0, type: type, order: order)
        }
        #expect(decoded == value)
    }

    @Test(arguments: everyTypeAndOrder)
    func roundTripsAndWrongOrderDiffers(_ c: TypeOrderCase) throws {
        let value = try #require(distinctValues[c.type])
        // Place the value after two filler registers to check `start` is honoured.
        var registers: [UInt16] = [0xAAAA, 0x5555]
        registers += try RegisterCodec.encode(value, as: c.type, order: c.order)
        registers.append(0xFFFF)
        registers.withUnsafeBufferPointer { buffer in
            #expect(RegisterCodec.decodeRaw(buffer, start: 2, type: c.type, order: c.order) == value)
            guard c.type != .bool else { return }
            for other in WordOrder.allCases {
                // 16-bit values cannot tell word order apart, only byte order.
                let sameBytes = c.type.registerCount == 1
                    && RegisterCodec.swapsBytes(other) == RegisterCodec.swapsBytes(c.order)
                if other == c.order || sameBytes { continue }
                #expect(RegisterCodec.decodeRaw(buffer, start: 2, type: c.type, order: other) != value,
                        "order \(other.rawValue) must not decode the \(c.order.rawValue) value")
            }
        }
    }

    @Test(arguments: [
        (UInt16(0b0000_0000_0000_0001), 0, true),
        (UInt16(0b0000_0000_0000_0001), 1, false),
        (UInt16(0b1000_0000_0000_0000), 15, true),
        (UInt16(0b1000_0000_0000_0000), 14, false),
        (UInt16(0b0000_0100_0000_0000), 10, true),
    ])
    func boolFromRegisterBit(register: UInt16, bit: Int, expected: Bool) {
        [register].withUnsafeBufferPointer {
            #expect(RegisterCodec.decodeRaw($0, start: 0, type: .bool, order: .ABCD, bit: bit) == .bool(expected))
            // A byte-swapped device puts bit 0 in the other byte of the wire register.
            let swapped = [register.byteSwapped]
            swapped.withUnsafeBufferPointer { s in
                #expect(RegisterCodec.decodeRaw(s, start: 0, type: .bool, order: .BADC, bit: bit) == .bool(expected))
            }
        }
    }

    @Test func boolWithoutBitMeansNonZero() {
        [UInt16(0x0100), 0].withUnsafeBufferPointer {
            #expect(RegisterCodec.decodeRaw($0, start: 0, type: .bool, order: .ABCD) == .bool(true))
            #expect(RegisterCodec.decodeRaw($0, start: 1, type: .bool, order: .ABCD) == .bool(false))
        }
    }

    @Test func scaleAndOffsetApplied() {
        // int16 -250 scaled by 0.1 with offset 40 → 15.0
        let registers = [UInt16(bitPattern: -250)]
        registers.withUnsafeBufferPointer {
            let r = RegisterCodec.decode($0, start: 0, type: .int16, order: .ABCD, scale: 0.1, offset: 40)
            #expect(r.quality == .good)
            #expect(abs(r.value - 15.0) < 1e-12)
        }
    }

    @Test(arguments: [
        (DataType.float32, UInt64(0x7FC0_0000)),  // NaN
        (.float32, 0x7F80_0000),  // +Inf
        (.float32, 0xFF80_0000),  // -Inf
        (.float64, 0x7FF8_0000_0000_0000),  // NaN
        (.float64, 0x7FF0_0000_0000_0000),  // +Inf
    ])
    func nonFiniteFloatsAreDecodeErrors(type: DataType, pattern: UInt64) {
        for order in WordOrder.allCases {
            var registers = [UInt16](repeating: 0, count: type.registerCount)
            registers.withUnsafeMutableBufferPointer {
                RegisterCodec.store(bitPattern: pattern, count: type.registerCount, order: order, into: $0, start: 0)
            }
            registers.withUnsafeBufferPointer {
                let r = RegisterCodec.decode($0, start: 0, type: type, order: order)
                #expect(r.quality == .decodeError)
                #expect(r.value.isNaN)
            }
        }
    }

    @Test func overflowingScaleIsDecodeError() {
        [UInt16(0x7F7F), 0xFFFF].withUnsafeBufferPointer {
            // float32 max times 1e300 overflows to infinity.
            let r = RegisterCodec.decode($0, start: 0, type: .float32, order: .ABCD, scale: 1e300)
            #expect(r.quality == .decodeError)
        }
    }

    @Test(arguments: [
        (DataType.int16, RawValue.signed(40_000)),
        (.uint16, .unsigned(70_000)),
        (.uint32, .signed(-1)),
        (.int32, .signed(Int64(Int32.max) + 1)),
        (.float32, .signed(3)),
        (.bool, .unsigned(1)),
    ])
    func encodingRejectsValuesThatDoNotFit(type: DataType, value: RawValue) {
        #expect(throws: EncodingError.self) { try RegisterCodec.encode(value, as: type, order: .ABCD) }
    }

    @Test(arguments: everyTypeAndOrder)
    func engineeringValueRoundTrips(_ c: TypeOrderCase) {
        let (scale, offset) = (0.5, -10.0)
        let value: Double = c.type == .bool ? 1 * scale + offset : 1234.5 * scale + offset
        let registers = RegisterCodec.encode(engineeringValue: value, as: c.type, order: c.order, scale: scale, offset: offset)
        registers.withUnsafeBufferPointer {
            let r = RegisterCodec.decode($0, start: 0, type: c.type, order: c.order, scale: scale, offset: offset)
            #expect(r.quality == .good)
            // Integers round 1234.5 to the nearest integer (1234 or 1235), floats are exact.
            #expect(abs(r.value - value) <= 0.5 * scale)
        }
    }

    @Test func engineeringValuesClampToTheTypeRange() {
        let high = RegisterCodec.encode(engineeringValue: 1e9, as: .int16, order: .ABCD)
        let low = RegisterCodec.encode(engineeringValue: -5, as: .uint16, order: .ABCD)
        #expect(high == [0x7FFF])
        #expect(low == [0])
    }
}
