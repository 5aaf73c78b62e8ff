/// Maps key paths (`machine[2].sensor[1].type`) to the line they are written on.
///
/// TOMLKit reports line numbers for syntax errors only, so this is a light scan of the source
/// text: table headers, `[[array]]` headers (counted per parent, 1-based like the key paths)
/// and `key =` lines, skipping the insides of strings, multi-line strings and multi-line arrays.
/// It only has to be right for files that TOML already accepted.
struct SourceMap {
    private var lines: [String: Int] = [:]
    /// Lines whose table header does not start with a key (`[`, `[ #`, `[ é ]`): toml++ 3.4
    /// asserts on these in debug builds instead of reporting an error, so the loader reports
    /// them itself before handing the text to TOMLKit.
    private(set) var malformedHeaderLines: [Int] = []

    init(text: String) {
        var scanner = Scanner()
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if !scanner.scan(Array(line.utf8), lineNumber: lineNumber, into: &lines) {
                malformedHeaderLines.append(lineNumber)
            }
        }
    }

    /// The line of `keyPath` (of its first element, for an array of tables), or else of its
    /// nearest enclosing table or array element.
    func line(of keyPath: String) -> Int? {
        if let line = lines[keyPath + "[1]"], lines[keyPath] == nil { return line }
        var path = Substring(keyPath)
        while !path.isEmpty {
            if let line = lines[String(path)] { return line }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            path = path[..<cut]
        }
        return nil
    }

    /// The line-by-line state: the current table and whether a value continues on the next line.
    private struct Scanner {
        /// Resolved path of the current table (`machine[2].sensor[1]`), empty at the top.
        var prefix = ""
        /// How many `[[name]]` elements each resolved array path has so far.
        var arrayCounts: [String: Int] = [:]
        /// Open `[` / `{` of a value that spans lines.
        var depth = 0
        /// The closing delimiter (`"""` or `'''`) of a multi-line string we are inside.
        var multilineString: [UInt8]? = nil

        /// Scans one line; returns false for a table header that does not start with a key.
        mutating func scan(_ bytes: [UInt8], lineNumber: Int, into lines: inout [String: Int]) -> Bool {
            var i = 0
            if depth > 0 || multilineString != nil {
                scanValue(bytes, from: &i)
                return true
            }
            skipSpaces(bytes, &i)
            guard i < bytes.count, bytes[i] != UInt8(ascii: "#"), bytes[i] != UInt8(ascii: "\r") else { return true }
            if bytes[i] == UInt8(ascii: "[") {
                let isArray = i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "[")
                i += isArray ? 2 : 1
                skipSpaces(bytes, &i)
                guard i < bytes.count, Scanner.isBareKeyByte(bytes[i]) || bytes[i] == UInt8(ascii: "\"")
                    || bytes[i] == UInt8(ascii: "'") || bytes[i] == UInt8(ascii: "]") else { return false }
                let parts = keyParts(bytes, &i)
                guard !parts.isEmpty else { return true }
                prefix = resolve(parts, lastIsArrayElement: isArray)
                if lines[prefix] == nil { lines[prefix] = lineNumber }
                return true
            }
            let parts = keyParts(bytes, &i)
            guard !parts.isEmpty, i < bytes.count, bytes[i] == UInt8(ascii: "=") else { return true }
            let path = (prefix.isEmpty ? "" : prefix + ".") + parts.joined(separator: ".")
            if lines[path] == nil { lines[path] = lineNumber }
            i += 1
            scanValue(bytes, from: &i)
            return true
        }

        /// Turns header parts into a resolved path: every part that names an array of tables
        /// gets the index of its latest element; the last part of a `[[header]]` gets a new one.
        private mutating func resolve(_ parts: [String], lastIsArrayElement: Bool) -> String {
            var path = ""
            for (n, part) in parts.enumerated() {
                path += path.isEmpty ? part : "." + part
                if n == parts.count - 1 && lastIsArrayElement {
                    let next = (arrayCounts[path] ?? 0) + 1
                    arrayCounts[path] = next
                    path += "[\(next)]"
                } else if let current = arrayCounts[path] {
                    path += "[\(current)]"
                }
            }
            return path
        }

        /// Reads a dotted key (bare or quoted parts) and stops after the spaces that follow it.
        private func keyParts(_ bytes: [UInt8], _ i: inout Int) -> [String] {
            var parts: [String] = []
            while true {
                skipSpaces(bytes, &i)
                guard i < bytes.count else { return parts }
                var part: [UInt8] = []
                let c = bytes[i]
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    i += 1
                    while i < bytes.count, bytes[i] != c {
                        if c == UInt8(ascii: "\""), bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count { i += 1 }
                        part.append(bytes[i])
                        i += 1
                    }
                    i += 1
                } else {
                    while i < bytes.count, Scanner.isBareKeyByte(bytes[i]) {
                        part.append(bytes[i])
                        i += 1
                    }
                    if part.isEmpty { return parts }
                }
                parts.append(String(decoding: part, as: UTF8.self))
                skipSpaces(bytes, &i)
                guard i < bytes.count, bytes[i] == UInt8(ascii: ".") else { return parts }
                i += 1
            }
        }

        /// Follows strings and brackets to the end of the line, remembering what stays open.
        private mutating func scanValue(_ bytes: [UInt8], from i: inout Int) {
            while i < bytes.count {
                if let closing = multilineString {
                    if matches(bytes, i, closing) {
                        multilineString = nil
                        i += 3
                    } else {
                        if closing[0] == UInt8(ascii: "\""), bytes[i] == UInt8(ascii: "\\") { i += 1 }
                        i += 1
                    }
                    continue
                }
                let c = bytes[i]
                switch c {
                case UInt8(ascii: "#"):
                    return
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    if matches(bytes, i, [c, c, c]) {
                        multilineString = [c, c, c]
                        i += 3
                        continue
                    }
                    i += 1
                    while i < bytes.count, bytes[i] != c {
                        if c == UInt8(ascii: "\""), bytes[i] == UInt8(ascii: "\\") { i += 1 }
                        i += 1
                    }
                    i += 1
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1
                    i += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    depth = max(0, depth - 1)
                    i += 1
                default:
                    i += 1
                }
            }
        }

        private func matches(_ bytes: [UInt8], _ i: Int, _ pattern: [UInt8]) -> Bool {
            guard i + pattern.count <= bytes.count else { return false }
            for k in 0..<pattern.count where bytes[i + k] != pattern[k] { return false }
            return true
        }

        private func skipSpaces(_ bytes: [UInt8], _ i: inout Int) {
            while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
        }

        private static func isBareKeyByte(_ c: UInt8) -> Bool {
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }
}
