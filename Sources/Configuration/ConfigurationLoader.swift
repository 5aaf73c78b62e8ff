/// Reads agent.conf into a validated `AgentConfiguration`.
public enum ConfigurationLoader {
    /// Loads and validates the configuration file at `path`.
    /// - Throws: `ConfigurationError` listing every problem found, each with file, line and key path.
    public static func load(path: String) throws(ConfigurationError) -> AgentConfiguration {
        throw ConfigurationError(file: path, problems: [.init(line: nil, keyPath: "", message: "loader not implemented yet")])
    }

    /// Parses and validates configuration text; `path` is used in messages only.
    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> AgentConfiguration {
        throw ConfigurationError(file: path, problems: [.init(line: nil, keyPath: "", message: "loader not implemented yet")])
    }
}

/// Everything wrong with one configuration file.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// One problem: where it is and what was expected.
    public struct Problem: Sendable, Equatable {
        /// 1-based line in the file, when known.
        public var line: Int?
        /// Key path such as `machine[2].sensor[1].type`.
        public var keyPath: String
        /// What is wrong and what was expected.
        public var message: String

        public init(line: Int?, keyPath: String, message: String) {
            self.line = line
            self.keyPath = keyPath
            self.message = message
        }
    }

    /// The file the problems are in.
    public var file: String
    /// All problems found, in file order.
    public var problems: [Problem]

    public init(file: String, problems: [Problem]) {
        self.file = file
        self.problems = problems
    }

    /// One line per problem: `file:line: key.path: message`.
    public var description: String {
        problems.map { p in
            let location = p.line.map { "\(file):\($0)" } ?? file
            return p.keyPath.isEmpty ? "\(location): \(p.message)" : "\(location): \(p.keyPath): \(p.message)"
        }.joined(separator: "\n")
    }
}
