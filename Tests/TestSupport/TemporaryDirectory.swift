import Foundation

/// A fresh directory under the system temp dir, removed when `remove()` is called.
public struct TemporaryDirectory: Sendable {
    /// Absolute path of the directory.
    public let path: String

    /// Creates a new, empty, uniquely named directory.
    public init(prefix: String = "edge-agent-test") throws {
        let base = FileManager.default.temporaryDirectory.path
        let path = "\(base)/\(prefix)-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    /// Deletes the directory and everything in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The path of `name` inside this directory.
    public func file(_ name: String) -> String { "\(path)/\(name)" }
}

/// The repository root (the folder holding Package.swift), found from this source file.
public func repositoryRoot(filePath: String = #filePath) -> String {
    var url = URL(fileURLWithPath: filePath).deletingLastPathComponent()
    while url.path != "/" {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            return url.path
        }
        url.deleteLastPathComponent()
    }
    return FileManager.default.currentDirectoryPath
}

/// `../shared/data` beside the repository, or nil when it is absent (tests then skip).
public func sharedDataDirectory() -> String? {
    let path = URL(fileURLWithPath: repositoryRoot()).deletingLastPathComponent()
        .appendingPathComponent("shared/data").path
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue ? path : nil
}

/// The head of an agent.conf for commands that read or write files but never poll (`calibrate`,
/// `check-config`, `export` …): `[agent]` with `data_dir`, and one TCP bus `b` at
/// 127.0.0.1:1502 for the machines to name. Ends with a newline; machines follow.
public func offlineAgentConfigurationHead(dataDirectory: String) -> String {
    """
    [agent]
    data_dir = "\(dataDirectory)"

    [[bus]]
    name = "b"
    type = "tcp"
    host = "127.0.0.1"
    port = 1502

    """
}
