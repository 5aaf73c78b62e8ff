import Foundation
import Testing
import TestSupport

/// The documentation a user reads: every relative link in README.md, BENCHMARKS.md and docs/*.md
/// leads somewhere, and the README's performance headline quotes the figures BENCHMARKS.md last
/// measured (it is edited by hand, BENCHMARKS.md is written by `make bench`).
@Suite("Documentation")
struct DocumentationTests {
    private let root = repositoryRoot()

    private func text(_ relativePath: String) throws -> String {
        try String(contentsOfFile: root + "/" + relativePath, encoding: .utf8)
    }

    private func markdownFiles() throws -> [String] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: root + "/docs")
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return ["README.md", "BENCHMARKS.md"] + docs
    }

    /// Lines outside fenced code blocks.
    private func prose(_ markdown: String) -> [Substring] {
        var inFence = false
        var lines: [Substring] = []
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inFence.toggle(); continue }
            if !inFence { lines.append(line) }
        }
        return lines
    }

    /// GitHub's anchors for a file's headings (lower case, punctuation dropped, spaces to
    /// dashes, `-1`, `-2` for repeats).
    private func anchors(_ markdown: String) -> Set<String> {
        var seen: [String: Int] = [:]
        var result: Set<String> = []
        for line in prose(markdown) {
            guard let heading = line.firstMatch(of: /^#{1,6} (.*)$/) else { continue }
            let slug = String(heading.1.trimmingCharacters(in: .whitespaces).lowercased()
                .filter { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == " " })
                .replacingOccurrences(of: " ", with: "-")
            let count = seen[slug, default: 0]
            seen[slug] = count + 1
            result.insert(count == 0 ? slug : "\(slug)-\(count)")
        }
        return result
    }

    @Test("every relative link and #anchor in the README and docs resolves")
    func linksResolve() throws {
        var broken: [String] = []
        var checked = 0
        var anchorsByFile: [String: Set<String>] = [:]
        for file in try markdownFiles() {
            let directory = (file as NSString).deletingLastPathComponent
            for line in prose(try text(file)) {
                let withoutCode = line.replacing(/`[^`]*`/, with: "")
                for link in withoutCode.matches(of: /\]\(([^)\s]+)\)/) {
                    let target = String(link.1)
                    if target.firstMatch(of: /^[a-z]+:/) != nil { continue }
                    checked += 1
                    let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                    let path = parts[0].isEmpty ? file
                        : ((directory as NSString).appendingPathComponent(String(parts[0])) as NSString).standardizingPath
                    guard FileManager.default.fileExists(atPath: root + "/" + path) else {
                        broken.append("\(file): \(target): no file \(path)"); continue
                    }
                    guard parts.count == 2, path.hasSuffix(".md") else { continue }
                    if anchorsByFile[path] == nil { anchorsByFile[path] = anchors(try text(path)) }
                    if anchorsByFile[path]?.contains(String(parts[1])) != true {
                        broken.append("\(file): \(target): no heading #\(parts[1]) in \(path)")
                    }
                }
            }
        }
        #expect(checked > 50, "found only \(checked) links: is the link pattern still right?")
        #expect(broken.isEmpty, "\(broken.joined(separator: "\n"))")
    }

    /// The first number matched by `pattern`'s first capture, or nil.
    private func figure(_ pattern: Regex<(Substring, Substring)>, in text: Substring) -> String? {
        text.firstMatch(of: pattern).map { String($0.1) }
    }

    @Test("the README's performance headline quotes BENCHMARKS.md's latest figures")
    func performanceHeadlineMatchesBenchmarks() throws {
        let readme = try text("README.md")
        let benchmarks = try text("BENCHMARKS.md")
        let section = try #require(readme.split(separator: "### Performance").dropFirst().first?
            .split(separator: "\n### ").first, "README has no Performance section")
        let headline = Substring(section.replacing(/\s+/, with: " "))
        guard let staticRun = benchmarks.split(separator: "Whole agent with the static binary").dropFirst().first else {
            return  // `make bench-quick` writes no static run: nothing to compare the headline with
        }
        let staticRow = try #require(benchmarks.split(separator: "\n").first { $0.hasPrefix("| static (") },
                                     "BENCHMARKS.md has no static binary row")
        let dynamicRow = try #require(benchmarks.split(separator: "\n").first { $0.hasPrefix("| 98 × 10 Hz |") },
                                      "BENCHMARKS.md has no 98 × 10 Hz row")
        try expectSameFigures(readme: headline, [
            ("static CPU % of one core", /\*\*([0-9.]+) % of one core\*\*/, staticRun, /CPU ([0-9.]+) \([^)]*\) % of one core/),
            ("static peak RSS MB", /\*\*peak RSS ([0-9.]+) MB\*\*/, staticRun, /peak RSS ([0-9.]+) MB/),
            ("static stripped binary MB", /([0-9.]+) MB stripped binary/,
             staticRow, /\| [0-9,]+ bytes = [0-9.]+ MB = [0-9.]+ MiB \| [0-9,]+ bytes = ([0-9.]+) MB/),
            ("dynamic peak RSS MB at 98 × 10 Hz", /peaks at ([0-9.]+) MB/, dynamicRow, /^\| 98 × 10 Hz \| [^|]+\| ([0-9.]+) \|/),
        ])
    }

    @Test("the README's component figures quote BENCHMARKS.md's latest run")
    func componentFiguresMatchBenchmarks() throws {
        let readme = Substring(try text("README.md").replacing(/\s+/, with: " "))
        let benchmarks = Substring(try text("BENCHMARKS.md"))
        try expectSameFigures(readme: readme, [
            ("Modbus CPU per reading, agent / C loop", /CPU per reading is ([0-9.]+)× a plain C libmodbus loop's/,
             benchmarks, #/ratio BusPoller\/C, CPU per reading: ([0-9.]+) /#),
            ("buffer bytes per reading", /\*\*([0-9.]+) bytes per reading\*\*/, benchmarks, /readings\/s  ([0-9.]+) bytes\/reading/),
            ("Store writer / raw SQLite loop", /Store writer runs at ([0-9.]+)× a raw C API loop's rate/,
             benchmarks, #/ratio Store\/raw: ([0-9.]+) /#),
            ("int8 ns per 8-sensor window", /8 sensors × 32 steps in ([0-9]+) ns of thread CPU/,
             benchmarks, /\n8 +[0-9]+ \[[^\]]*\] +([0-9]+) \[/),
            ("8-sensor int8 model file bytes", /8-sensor model file is ([0-9]+) bytes/, benchmarks, /8 sensors: ([0-9]+) bytes as a file/),
        ])
    }

    /// Each figure the README quotes (first capture of its pattern) equals the one BENCHMARKS.md
    /// measured. A figure BENCHMARKS.md does not have is skipped only after `make bench-quick`
    /// (which leaves some out); after a full `make bench` every one must be found.
    private func expectSameFigures(readme: Substring, _ figures: [(String, Regex<(Substring, Substring)>,
                                                                   Substring, Regex<(Substring, Substring)>)]) throws {
        let fullRun = try text("BENCHMARKS.md").contains("Whole agent with the static binary")
        for (what, quotedPattern, benchmarks, measuredPattern) in figures {
            let quotedFigure = figure(quotedPattern, in: readme)
            let quoted = try #require(quotedFigure, "README lost its \(what)")
            guard let measured = figure(measuredPattern, in: benchmarks) else {
                #expect(!fullRun, "BENCHMARKS.md (a full run) lost its \(what), or its pattern here is wrong")
                continue
            }
            #expect(quoted == measured, "README quotes \(what) \(quoted), BENCHMARKS.md measured \(measured)")
        }
    }
}
