import TOMLKit

/// Collects problems, each placed on its line through the source map.
struct ProblemList {
    let sourceMap: SourceMap
    private(set) var problems: [ConfigurationError.Problem] = []

    init(sourceMap: SourceMap) {
        self.sourceMap = sourceMap
    }

    mutating func add(_ keyPath: String, _ message: String) {
        problems.append(.init(line: sourceMap.line(of: keyPath), keyPath: keyPath, message: message))
    }
}

/// Reads typed values out of one TOML table, reporting wrong types, bad values and unknown keys.
///
/// Every accessor returns nil (and records a problem) when the value is present but unusable,
/// and nil without a problem when the key is absent; callers then keep their default.
struct TableReader {
    let table: TOMLTable
    /// Key path of the table itself (`machine[2]`), empty for the document.
    let path: String

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func contains(_ key: String) -> Bool { table[key] != nil }

    /// Reports every key not in `known`, suggesting the closest known key or the table it belongs to.
    func rejectUnknownKeys(known: [String], tableName: String, elsewhere: [String: String], into problems: inout ProblemList) {
        for key in table.keys where !known.contains(key) {
            var message = "unknown key \"\(key)\" in \(tableName)"
            if let suggestion = closest(to: key, among: known) {
                message += " (did you mean \"\(suggestion)\"?)"
            } else if let home = elsewhere[key] {
                message += " (\"\(key)\" belongs in \(home))"
            } else {
                message += " (expected one of \(known.joined(separator: ", ")))"
            }
            problems.add(keyPath(key), message)
        }
    }

    func string(_ key: String, _ problems: inout ProblemList, what: String = "a string") -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else {
            problems.add(keyPath(key), "expected \(what), found \(describe(value))")
            return nil
        }
        return text
    }

    /// A non-empty string.
    func name(_ key: String, _ problems: inout ProblemList, what: String) -> String? {
        guard let text = string(key, &problems, what: what) else { return nil }
        if text.isEmpty {
            problems.add(keyPath(key), "must not be empty (expected \(what))")
            return nil
        }
        return text
    }

    func integer(_ key: String, in range: ClosedRange<Int>, _ problems: inout ProblemList, what: String) -> Int? {
        guard let value = table[key] else { return nil }
        guard let number = value.int else {
            let bounds = range == Int.min...Int.max ? "" : " in \(range.lowerBound)…\(range.upperBound)"
            problems.add(keyPath(key), "expected \(what) (a whole number\(bounds)), found \(describe(value))")
            return nil
        }
        guard range.contains(number) else {
            problems.add(keyPath(key), "\(number) is out of range (expected \(what) in \(range.lowerBound)…\(range.upperBound))")
            return nil
        }
        return number
    }

    /// A finite number; TOML integers are accepted too.
    func number(_ key: String, _ problems: inout ProblemList, what: String) -> Double? {
        guard let value = table[key] else { return nil }
        let number: Double
        if let integer = value.int {
            number = Double(integer)
        } else if let floating = value.double {
            number = floating
        } else {
            problems.add(keyPath(key), "expected \(what) (a number), found \(describe(value))")
            return nil
        }
        guard number.isFinite else {
            problems.add(keyPath(key), "expected \(what) (a finite number), found \(number)")
            return nil
        }
        return number
    }

    /// A duration string such as `500ms`; zero is accepted unless `mustBePositive`.
    func duration(_ key: String, _ problems: inout ProblemList, mustBePositive: Bool) -> Duration? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else {
            problems.add(keyPath(key), "expected a duration such as \(ConfigurationValueText.durationExample) (a quoted string), found \(describe(value))")
            return nil
        }
        guard let duration = ConfigurationValueText.duration(text) else {
            problems.add(keyPath(key), "\"\(text)\" is not a duration (expected a whole number and a unit, such as \(ConfigurationValueText.durationExample))")
            return nil
        }
        if duration > ConfigurationValueText.longestDuration {
            // Keeps arithmetic on configured durations (window = poll interval × length) far from overflow.
            problems.add(keyPath(key), "\"\(text)\" is too long (expected at most \(ConfigurationValueText.text(of: ConfigurationValueText.longestDuration)))")
            return nil
        }
        if mustBePositive && duration <= .zero {
            problems.add(keyPath(key), "must be greater than 0 (found \"\(text)\")")
            return nil
        }
        return duration
    }

    /// A size: a whole number of bytes or a string such as `512MB`.
    func byteCount(_ key: String, _ problems: inout ProblemList) -> Int64? {
        guard let value = table[key] else { return nil }
        let bytes: Int64?
        if let integer = value.int {
            bytes = Int64(integer)
        } else if let text = value.string {
            bytes = ConfigurationValueText.byteCount(text)
            if bytes == nil {
                problems.add(keyPath(key), "\"\(text)\" is not a size (expected \(ConfigurationValueText.sizeExample))")
                return nil
            }
        } else {
            problems.add(keyPath(key), "expected a size such as \(ConfigurationValueText.sizeExample), found \(describe(value))")
            return nil
        }
        guard let bytes, bytes > 0 else {
            problems.add(keyPath(key), "must be greater than 0 bytes")
            return nil
        }
        return bytes
    }

    /// One of a fixed set of words, with a suggestion for near misses.
    func choice<T>(_ key: String, _ options: [(String, T)], _ problems: inout ProblemList, what: String) -> T? {
        guard let text = string(key, &problems, what: what) else { return nil }
        if let match = options.first(where: { $0.0 == text }) { return match.1 }
        let names = options.map(\.0)
        var message = "unknown \(what) \"\(text)\" (expected one of \(names.joined(separator: ", ")))"
        if let suggestion = closest(to: text, among: names) { message += "; did you mean \"\(suggestion)\"?" }
        problems.add(keyPath(key), message)
        return nil
    }

    /// The elements of an array of tables (`[[bus]]`), each with its 1-based key path.
    func tables(_ key: String, _ problems: inout ProblemList, header: String) -> [TableReader] {
        guard let value = table[key] else { return [] }
        guard let array = value.array else {
            problems.add(keyPath(key), "expected one or more \(header) tables, found \(describe(value)) (write \(header), with double brackets)")
            return []
        }
        var readers: [TableReader] = []
        for index in 0..<array.count {
            let elementPath = "\(keyPath(key))[\(index + 1)]"
            guard let element = array[index].table else {
                problems.add(elementPath, "expected a \(header) table, found \(describe(array[index]))")
                continue
            }
            readers.append(TableReader(table: element, path: elementPath))
        }
        return readers
    }

    /// A single table (`[agent]`).
    func subtable(_ key: String, _ problems: inout ProblemList, header: String) -> TableReader? {
        guard let value = table[key] else { return nil }
        guard let subtable = value.table else {
            problems.add(keyPath(key), "expected a single \(header) table, found \(describe(value))")
            return nil
        }
        return TableReader(table: subtable, path: keyPath(key))
    }

    private func describe(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .string: return "a string"
        case .int: return "the integer \(value.int.map(String.init) ?? "")"
        case .double: return "the number \(value.double.map { "\($0)" } ?? "")"
        case .bool: return "the boolean \(value.bool.map { "\($0)" } ?? "")"
        case .array: return "an array"
        case .table: return "a table"
        case .date, .time, .dateTime: return "a \(value.type)"
        }
    }
}

/// The candidate nearest to `word` by edit distance, if it is near enough to be a typo.
func closest(to word: String, among candidates: [String]) -> String? {
    let limit = max(1, min(3, word.count / 3))
    var best: (String, Int)? = nil
    for candidate in candidates {
        let distance = editDistance(word.lowercased(), candidate.lowercased())
        if distance <= limit, distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
    }
    return best?.0
}

/// Levenshtein distance with adjacent transpositions (`flaot` → `float` is 1).
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous2 = [Int](repeating: 0, count: y.count + 1)
    var previous = Array(0...y.count)
    var current = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        current[0] = i
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                current[j] = min(current[j], previous2[j - 2] + 1)
            }
        }
        (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[y.count]
}
