/// A minimal, allocation-conscious JSON object writer for files people and log shippers read
/// (the alert log, summaries, metrics), so those paths need no Foundation encoder.
///
/// ```swift
/// var json = JSONWriter()
/// json.field("machine", "pump-1")
/// json.field("score", 3.2)
/// let line = json.finish()   // {"machine":"pump-1","score":3.2}
/// ```
public struct JSONWriter: Sendable {
    private var text: String
    private var needsComma: [Bool]

    /// Starts a new top-level object.
    public init() {
        text = "{"
        needsComma = [false]
    }

    private mutating func key(_ name: String) {
        if needsComma[needsComma.count - 1] { text.append(",") }
        needsComma[needsComma.count - 1] = true
        JSONWriter.appendString(name, to: &text)
        text.append(":")
    }

    private mutating func element() {
        if needsComma[needsComma.count - 1] { text.append(",") }
        needsComma[needsComma.count - 1] = true
    }

    /// Adds a string field.
    public mutating func field(_ name: String, _ value: String) {
        key(name)
        JSONWriter.appendString(value, to: &text)
    }

    /// Adds a string field, or `null`.
    public mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { JSONWriter.appendString(value, to: &text) } else { text.append("null") }
    }

    /// Adds a number field; NaN and infinities become `null` (JSON has no such numbers).
    public mutating func field(_ name: String, _ value: Double) {
        key(name)
        JSONWriter.appendNumber(value, to: &text)
    }

    /// Adds a number field, or `null`.
    public mutating func field(_ name: String, _ value: Double?) {
        key(name)
        if let value { JSONWriter.appendNumber(value, to: &text) } else { text.append("null") }
    }

    /// Adds an integer field.
    public mutating func field(_ name: String, _ value: Int) {
        key(name)
        text.append(String(value))
    }

    /// Adds an integer field.
    public mutating func field(_ name: String, _ value: Int64) {
        key(name)
        text.append(String(value))
    }

    /// Adds a boolean field.
    public mutating func field(_ name: String, _ value: Bool) {
        key(name)
        text.append(value ? "true" : "false")
    }

    /// Adds a timestamp field as an ISO-8601 UTC string with milliseconds.
    public mutating func field(_ name: String, _ value: Timestamp) {
        field(name, value.iso8601)
    }

    /// Adds a field whose value is already-encoded JSON (an object or array from another writer).
    public mutating func rawField(_ name: String, _ json: String) {
        key(name)
        text.append(json)
    }

    /// Opens a nested object under `name`; close it with `endObject()`.
    public mutating func beginObject(_ name: String) {
        key(name)
        text.append("{")
        needsComma.append(false)
    }

    /// Opens an object as the next element of the current array.
    public mutating func beginObjectElement() {
        element()
        text.append("{")
        needsComma.append(false)
    }

    /// Closes the innermost object.
    public mutating func endObject() {
        text.append("}")
        needsComma.removeLast()
    }

    /// Opens an array under `name`; close it with `endArray()`.
    public mutating func beginArray(_ name: String) {
        key(name)
        text.append("[")
        needsComma.append(false)
    }

    /// Adds a string element to the current array.
    public mutating func element(_ value: String) {
        element()
        JSONWriter.appendString(value, to: &text)
    }

    /// Adds a number element to the current array.
    public mutating func element(_ value: Double) {
        element()
        JSONWriter.appendNumber(value, to: &text)
    }

    /// Closes the innermost array.
    public mutating func endArray() {
        text.append("]")
        needsComma.removeLast()
    }

    /// Writes a nested object under `name`, filled by `body`.
    public mutating func object(_ name: String, _ body: (inout JSONWriter) -> Void) {
        beginObject(name)
        body(&self)
        endObject()
    }

    /// Writes an object as the next element of the current array, filled by `body`.
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        beginObjectElement()
        body(&self)
        endObject()
    }

    /// Writes an array under `name` with one element per item of `elements`, each written by `body`.
    public mutating func array<S: Sequence>(_ name: String, _ elements: S, _ body: (inout JSONWriter, S.Element) -> Void) {
        beginArray(name)
        for element in elements { body(&self, element) }
        endArray()
    }

    /// Closes the top-level object and returns the text.
    public mutating func finish() -> String {
        while needsComma.count > 1 { endObject() }
        text.append("}")
        needsComma = []
        return text
    }

    /// Appends `value` as a JSON string literal, escaping quotes, backslashes and control characters.
    public static func appendString(_ value: String, to out: inout String) {
        out.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u")
                    out.append(String(repeating: "0", count: 4 - hex.count))
                    out.append(hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }

    /// Appends a number; NaN and infinities become `null`. Integral values print without `.0`.
    public static func appendNumber(_ value: Double, to out: inout String) {
        guard value.isFinite else { out.append("null"); return }
        if value == value.rounded(), abs(value) < 1e15 {
            out.append(String(Int64(value)))
        } else {
            out.append(String(value))
        }
    }
}
