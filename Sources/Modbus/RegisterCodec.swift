import EdgeCore

/// A value as it sits in a device's registers, before `scale` and `offset` are applied.
///
/// Integers keep their full 64-bit precision here (a `Double` holds only 53 bits), so that a
/// value written to a server can be compared exactly with the value read back.
public enum RawValue: Sendable, Hashable, CustomStringConvertible {
    /// A coil, a discrete input, or one bit of a register.
    case bool(Bool)
    /// `int16`, `int32` or `int64`.
    case signed(Int64)
    /// `uint16`, `uint32` or `uint64`.
    case unsigned(UInt64)
    /// `float32` (widened exactly) or `float64`.
    case float(Double)

    /// The value as a `Double` (64-bit integers above 2^53 are rounded).
    public var doubleValue: Double {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .signed(let v): return Double(v)
        case .unsigned(let v): return Double(v)
        case .float(let v): return v
        }
    }

    /// The value in decimal, as `read` prints it.
    public var description: String {
        switch self {
        case .bool(let b): return b ? "1" : "0"
        case .signed(let v): return String(v)
        case .unsigned(let v): return String(v)
        case .float(let v): return String(v)
        }
    }
}

/// Why a value could not be encoded into registers.
public struct EncodingError: Error, Sendable, CustomStringConvertible {
    /// The value that did not fit.
    public var value: RawValue
    /// The type it was meant to be written as.
    public var type: DataType

    /// What went wrong and what to do about it.
    public var description: String {
        "cannot encode \(value) as \(type.rawValue): out of range or wrong kind of value for the type"
    }
}

/// Decoding and encoding of register contents for every `DataType` and `WordOrder`, in Swift.
///
/// libmodbus's float helpers are deliberately not used: their get/set pairs do not round-trip on
/// Debian's build, and they cover neither 64-bit types nor integers.
///
/// The byte-order rule: the value's big-endian bytes are `A B C D` (`A B C D E F G H` for
/// 64-bit types). `CDAB` and `DCBA` reverse the order of the 16-bit words; `BADC` and `DCBA`
/// swap the two bytes within each word. One-register types follow the same rule, so `DCBA` and
/// `BADC` mean a byte-swapped 16-bit register.
public enum RegisterCodec {
    /// Whether `order` puts the least significant word first.
    @inline(__always)
    static func reversesWords(_ order: WordOrder) -> Bool { order == .CDAB || order == .DCBA }

    /// Whether `order` swaps the two bytes within each word.
    @inline(__always)
    static func swapsBytes(_ order: WordOrder) -> Bool { order == .BADC || order == .DCBA }

    /// Assembles `count` (1, 2 or 4) registers into the big-endian bit pattern of the value.
    ///
    /// - Parameters:
    ///   - registers: the registers as received; `start..<start+count` must be valid indices.
    ///   - start: index of the value's first register in `registers`.
    ///   - count: the number of registers the value occupies.
    ///   - order: the device's word and byte order.
    /// - Returns: the value's bits in the low `16 * count` bits.
    @inlinable @inline(__always)
    public static func bitPattern(
        _ registers: UnsafeBufferPointer<UInt16>, start: Int, count: Int, order: WordOrder
    ) -> UInt64 {
        let wordsReversed = order == .CDAB || order == .DCBA
        let bytesSwapped = order == .BADC || order == .DCBA
        // Word `i` of the value, most significant first, its bytes in big-endian order.
        @inline(__always) func word(_ i: Int) -> UInt64 {
            let word = registers[start + (wordsReversed ? count - 1 - i : i)]
            return UInt64(bytesSwapped ? word.byteSwapped : word)
        }
        // The data types' three widths spelled out (with the callers' `@inline(__always)`, so
        // the poller's decoding loop gets straight-line code): a loop over a count known only at
        // run time cost about ten instructions more per value.
        switch count {
        case 1: return word(0)
        case 2: return word(0) << 16 | word(1)
        case 4: return word(0) << 48 | word(1) << 32 | word(2) << 16 | word(3)
        default:
            var pattern: UInt64 = 0
            for i in 0..<count { pattern = pattern << 16 | word(i) }
            return pattern
        }
    }

    /// Spreads a big-endian bit pattern over `count` registers in the device's order
    /// (the inverse of `bitPattern`).
    ///
    /// - Parameters:
    ///   - pattern: the value's bits in the low `16 * count` bits.
    ///   - count: the number of registers (1, 2 or 4).
    ///   - order: the device's word and byte order.
    ///   - registers: destination; `start..<start+count` must be valid indices.
    ///   - start: index of the value's first register.
    public static func store(
        bitPattern pattern: UInt64, count: Int, order: WordOrder,
        into registers: UnsafeMutableBufferPointer<UInt16>, start: Int
    ) {
        let wordsReversed = reversesWords(order)
        let bytesSwapped = swapsBytes(order)
        for i in 0..<count {
            // Word i of the big-endian value, most significant first.
            var word = UInt16(truncatingIfNeeded: pattern >> UInt64(16 * (count - 1 - i)))
            if bytesSwapped { word = word.byteSwapped }
            registers[start + (wordsReversed ? count - 1 - i : i)] = word
        }
    }

    /// Decodes one value of `type` from registers.
    ///
    /// - Parameters:
    ///   - registers: the registers as received.
    ///   - start: index of the value's first register.
    ///   - type: the data type; it occupies `type.registerCount` registers.
    ///   - order: the device's word and byte order.
    ///   - bit: for `bool`, the bit of the (order-corrected) register, 0 = least significant;
    ///     `nil` means "any bit set".
    /// - Returns: the raw value (NaN and infinities included: `decode` flags them).
    @inlinable @inline(__always)
    public static func decodeRaw(
        _ registers: UnsafeBufferPointer<UInt16>, start: Int, type: DataType, order: WordOrder, bit: Int? = nil
    ) -> RawValue {
        let pattern = bitPattern(registers, start: start, count: type.registerCount, order: order)
        switch type {
        case .bool:
            if let bit { return .bool(pattern >> UInt64(bit) & 1 == 1) }
            return .bool(pattern != 0)
        case .int16: return .signed(Int64(Int16(bitPattern: UInt16(truncatingIfNeeded: pattern))))
        case .uint16: return .unsigned(pattern)
        case .int32: return .signed(Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: pattern))))
        case .uint32: return .unsigned(pattern)
        case .int64: return .signed(Int64(bitPattern: pattern))
        case .uint64: return .unsigned(pattern)
        case .float32: return .float(Double(Float(bitPattern: UInt32(truncatingIfNeeded: pattern))))
        case .float64: return .float(Double(bitPattern: pattern))
        }
    }

    /// Decodes one value into its engineering value, `raw * scale + offset`.
    ///
    /// - Returns: the value with `.good`, or NaN with `.decodeError` when the raw value or the
    ///   scaled result is NaN or infinite (a device's "no value" marker is never passed on as a
    ///   good value).
    @inlinable @inline(__always)
    public static func decode(
        _ registers: UnsafeBufferPointer<UInt16>, start: Int, type: DataType, order: WordOrder,
        bit: Int? = nil, scale: Double = 1, offset: Double = 0
    ) -> (value: Double, quality: Quality) {
        let raw = decodeRaw(registers, start: start, type: type, order: order, bit: bit)
        return scaled(raw.doubleValue, scale: scale, offset: offset)
    }

    /// Applies `value * scale + offset` and flags non-finite results as `.decodeError`.
    @inlinable
    public static func scaled(_ raw: Double, scale: Double, offset: Double) -> (value: Double, quality: Quality) {
        let value = raw * scale + offset
        return value.isFinite ? (value, .good) : (.nan, .decodeError)
    }

    /// Encodes a raw value of `type` into `type.registerCount` registers in the device's order.
    ///
    /// - Parameters:
    ///   - value: the raw value; its case must suit `type` (`.bool` for bool, `.signed` or
    ///     `.unsigned` in range for integers, `.float` for floats; floats are narrowed to
    ///     `float32` with rounding).
    ///   - type: the data type.
    ///   - order: the device's word and byte order.
    ///   - bit: for `bool`, the bit to set within the register (`nil` writes 1 or 0).
    /// - Throws: `EncodingError` when the value does not fit the type.
    /// - Returns: the registers, first register first.
    public static func encode(_ value: RawValue, as type: DataType, order: WordOrder, bit: Int? = nil) throws(EncodingError) -> [UInt16] {
        let pattern = try bitPattern(of: value, as: type, bit: bit)
        var out = [UInt16](repeating: 0, count: type.registerCount)
        out.withUnsafeMutableBufferPointer { buffer in
            store(bitPattern: pattern, count: type.registerCount, order: order, into: buffer, start: 0)
        }
        return out
    }

    /// Encodes an engineering value the way a device would hold it: `(value - offset) / scale`,
    /// rounded to the nearest integer for integer types and clamped to the type's range.
    ///
    /// Used by the test server and the simulator, which publish engineering values.
    /// - Returns: the registers, first register first.
    public static func encode(
        engineeringValue value: Double, as type: DataType, order: WordOrder, scale: Double = 1, offset: Double = 0
    ) -> [UInt16] {
        let raw = (value - offset) / scale
        let rawValue: RawValue
        switch type {
        case .bool: rawValue = .bool(raw != 0 && !raw.isNaN)
        case .float32, .float64: rawValue = .float(raw)
        case .int16: rawValue = .signed(clampedInteger(raw, Int64(Int16.min), Int64(Int16.max)))
        case .int32: rawValue = .signed(clampedInteger(raw, Int64(Int32.min), Int64(Int32.max)))
        case .int64: rawValue = .signed(clampedInteger(raw, Int64.min, Int64.max))
        case .uint16: rawValue = .unsigned(UInt64(clampedInteger(raw, 0, Int64(UInt16.max))))
        case .uint32: rawValue = .unsigned(UInt64(clampedInteger(raw, 0, Int64(UInt32.max))))
        case .uint64:
            let r = raw.rounded()
            rawValue = .unsigned(r.isNaN || r <= 0 ? 0 : r >= 18_446_744_073_709_551_616.0 ? UInt64.max : UInt64(r))
        }
        // Every value built above fits its type, so encoding cannot fail.
        return (try? encode(rawValue, as: type, order: order)) ?? [UInt16](repeating: 0, count: type.registerCount)
    }

    private static func clampedInteger(_ value: Double, _ low: Int64, _ high: Int64) -> Int64 {
        let r = value.rounded()
        if r.isNaN { return 0 }
        if r <= Double(low) { return low }
        if r >= Double(high) { return high }
        return Int64(r)
    }

    private static func bitPattern(of value: RawValue, as type: DataType, bit: Int?) throws(EncodingError) -> UInt64 {
        let failure = EncodingError(value: value, type: type)
        switch (type, value) {
        case (.bool, .bool(let b)):
            if let bit { return b ? 1 << UInt64(bit) : 0 }
            return b ? 1 : 0
        case (.int16, .signed(let v)):
            guard let n = Int16(exactly: v) else { throw failure }
            return UInt64(UInt16(bitPattern: n))
        case (.int32, .signed(let v)):
            guard let n = Int32(exactly: v) else { throw failure }
            return UInt64(UInt32(bitPattern: n))
        case (.int64, .signed(let v)):
            return UInt64(bitPattern: v)
        case (.uint16, .unsigned(let v)):
            guard v <= UInt64(UInt16.max) else { throw failure }
            return v
        case (.uint32, .unsigned(let v)):
            guard v <= UInt64(UInt32.max) else { throw failure }
            return v
        case (.uint64, .unsigned(let v)):
            return v
        case (.int16, .unsigned(let v)), (.int32, .unsigned(let v)), (.int64, .unsigned(let v)):
            guard let s = Int64(exactly: v) else { throw failure }
            return try bitPattern(of: .signed(s), as: type, bit: bit)
        case (.uint16, .signed(let v)), (.uint32, .signed(let v)), (.uint64, .signed(let v)):
            guard let u = UInt64(exactly: v) else { throw failure }
            return try bitPattern(of: .unsigned(u), as: type, bit: bit)
        case (.float32, .float(let v)):
            return UInt64(Float(v).bitPattern)
        case (.float64, .float(let v)):
            return v.bitPattern
        default:
            throw failure
        }
    }
}
