#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TOMLKit

/// Reads agent.conf into a validated `AgentConfiguration`.
///
/// The loader never stops at the first problem: it reports every unknown key, wrong type,
/// out-of-range value and broken reference in one `ConfigurationError`, each with its line
/// and key path, so that one run of `check-config` shows everything to fix.
public enum ConfigurationLoader {
    /// Loads and validates the configuration file at `path`.
    /// - Throws: `ConfigurationError` listing every problem found, each with file, line and key path.
    public static func load(path: String) throws(ConfigurationError) -> AgentConfiguration {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch {
            throw ConfigurationError(file: path, problems: [.init(line: nil, keyPath: "", message: error.message)])
        }
        return try parse(bytes: bytes, path: path)
    }

    /// Parses and validates configuration bytes, which must be UTF-8; `path` is used in
    /// messages and to resolve relative paths in the file.
    /// - Throws: `ConfigurationError` listing every problem found.
    public static func parse(bytes: [UInt8], path: String) throws(ConfigurationError) -> AgentConfiguration {
        if let line = firstInvalidUTF8Line(bytes) {
            throw ConfigurationError(file: path, problems: [
                .init(line: line, keyPath: "", message: "the file is not valid UTF-8 text (save it as UTF-8)"),
            ])
        }
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// Parses and validates configuration text; `path` is used in messages and to resolve
    /// relative paths in the file (they are relative to the folder holding it).
    /// - Throws: `ConfigurationError` listing every problem found.
    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> AgentConfiguration {
        if let line = firstNULLine(text) {
            // TOMLKit hands the text to C as a NUL-terminated string; stop before it truncates.
            throw ConfigurationError(file: path, problems: [
                .init(line: line, keyPath: "", message: "the file contains a NUL byte (it is not a text file)"),
            ])
        }
        let sourceMap = SourceMap(text: text)
        guard sourceMap.malformedHeaderLines.isEmpty else {
            throw ConfigurationError(file: path, problems: sourceMap.malformedHeaderLines.map { line in
                .init(line: line, keyPath: "", message: "TOML syntax error: a table header must start with a name, such as [agent], [[bus]] or [[machine.sensor]]")
            })
        }
        let document: TOMLTable
        do {
            document = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let position = error.source.begin
            throw ConfigurationError(file: path, problems: [
                .init(line: position.line > 0 ? position.line : nil, keyPath: "",
                      message: "TOML syntax error at column \(position.column): \(error.description)"),
            ])
        } catch {
            throw ConfigurationError(file: path, problems: [.init(line: nil, keyPath: "", message: "TOML syntax error: \(error)")])
        }
        var decoder = ConfigurationDecoder(problems: ProblemList(sourceMap: sourceMap), configurationPath: path)
        let configuration = decoder.decode(TableReader(table: document, path: ""))
        let problems = decoder.problems.problems
        guard problems.isEmpty else {
            let ordered = problems.enumerated().sorted { a, b in
                let (la, lb) = (a.element.line ?? Int.max, b.element.line ?? Int.max)
                return la != lb ? la < lb : a.offset < b.offset
            }
            throw ConfigurationError(file: path, problems: ordered.map(\.element))
        }
        return configuration
    }

    private struct ReadFailure: Error {
        var message: String
    }

    private static func readFile(_ path: String) throws(ReadFailure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            throw ReadFailure(message: "cannot open the file: \(String(cString: strerror(code))) (check the path given with --config)")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw ReadFailure(message: "cannot read the file: \(String(cString: strerror(code)))")
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > 16 << 20 {
                throw ReadFailure(message: "the file is larger than 16MB; is it really agent.conf?")
            }
        }
    }

    /// The 1-based line of the first byte sequence that is not UTF-8, or nil if all is well.
    private static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var line = 1
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
            case .emptyInput: return nil
            case .error: return line
            }
        }
    }

    private static func firstNULLine(_ text: String) -> Int? {
        guard text.utf8.contains(0) else { return nil }
        var line = 1
        for byte in text.utf8 {
            if byte == 0 { return line }
            if byte == UInt8(ascii: "\n") { line += 1 }
        }
        return nil
    }
}

/// Everything wrong with one configuration file.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// One problem: where it is and what was expected.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// 1-based line in the file, when known.
        public var line: Int?
        /// Key path such as `machine[2].sensor[1].type` (1-based: `machine[1]` is the first
        /// `[[machine]]`); empty for problems with the file as a whole.
        public var keyPath: String
        /// What is wrong and what was expected.
        public var message: String

        /// Creates a problem; `line` is 1-based, `keyPath` empty for the file as a whole.
        public init(line: Int?, keyPath: String, message: String) {
            self.line = line
            self.keyPath = keyPath
            self.message = message
        }

        /// `key.path: message`, or the message alone when there is no key path.
        public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
    }

    /// The file the problems are in.
    public var file: String
    /// All problems found, in file order.
    public var problems: [Problem]

    /// Creates an error for `file` with the problems found in it.
    public init(file: String, problems: [Problem]) {
        self.file = file
        self.problems = problems
    }

    /// One line per problem: `file:line: key.path: message`.
    public var description: String {
        problems.map { p in
            let location = p.line.map { "\(file):\($0)" } ?? file
            return "\(location): \(p)"
        }.joined(separator: "\n")
    }
}
