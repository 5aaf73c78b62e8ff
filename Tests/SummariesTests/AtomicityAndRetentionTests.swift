import EdgeCore
import Foundation
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@testable import Summaries

@Suite struct AtomicityAndRetentionTests {
    static let executable = builtExecutable(named: "edge-agent") ?? repositoryRoot() + "/.build/debug/edge-agent"

    /// Runs `edge-agent summarize --sample --output DIR`, under `ulimit -f blocks` when given (a
    /// file-size limit: the kernel fails the write that crosses it with EFBIG).
    private func runSample(output: String, fileSizeLimit blocks: Int? = nil) async throws -> (status: Int32, error: String) {
        // Under the limit, TMPDIR names a directory that does not exist. edge-agent never reads
        // TMPDIR; ThreadSanitizer's runtime (make sanitize) does: at start-up, before main, it
        // writes a 512 KiB file of shadow markers to $TMPDIR/tsan.rodata.PID (/tmp without
        // TMPDIR), ignores the short write a small limit allows, and maps the file over the
        // shadow of every read-only segment. Reading the shadow beyond the file's end then
        // raises SIGBUS ("ThreadSanitizer: BUS on unknown address") at any limit below 512 KiB.
        // When it cannot create the file it skips that memory-saving step (compiler-rt
        // tsan_platform_linux.cpp, MapRodata), so the instrumented program runs and hits the
        // limit in AtomicFile's write, as the normal build does.
        let limit = blocks.map { "ulimit -f \($0) && export TMPDIR=\"$2/no-such-directory\" && " } ?? ""
        // The limit also applies to the files runProgram captures the outputs in; the program
        // prints a line or two, far below it.
        let run = try await runProgram("/bin/sh", ["-c", "\(limit)exec \"$0\" summarize --sample --output \"$1\"", Self.executable, output, output])
        return (run.status, run.standardError)
    }

    private func hiddenFiles(_ dir: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
    }

    /// A write that fails half-way (the disk "fills" at 2 KB, in the middle of the ~50 KB report):
    /// nothing under the final name, the old version kept, no temporary left behind.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable), "build edge-agent first (swift build)"))
    func failureMidWriteLeavesTheOldFileUnderTheFinalName() async throws {
        let dir = try TemporaryDirectory(prefix: "summaries-efbig")
        defer { dir.remove() }
        let name = SummaryFileName(machine: "pump-1", start: SampleSummary.input().start, end: SampleSummary.input().end)
        let html = dir.file(name.fileName(extension: "html"))
        let json = dir.file(name.fileName(extension: "json"))

        let first = try await runSample(output: dir.path, fileSizeLimit: 4)
        #expect(first.status != 0)
        #expect(first.error.contains("write failed"), "stderr: \(first.error)")
        #expect(!FileManager.default.fileExists(atPath: html))
        #expect(!FileManager.default.fileExists(atPath: json))
        #expect(try hiddenFiles(dir).isEmpty)

        try "OLD REPORT".write(toFile: html, atomically: false, encoding: .utf8)
        #expect(try await runSample(output: dir.path, fileSizeLimit: 4).status != 0)
        #expect(try String(contentsOfFile: html, encoding: .utf8) == "OLD REPORT")
        #expect(try hiddenFiles(dir).isEmpty)

        #expect(try await runSample(output: dir.path).status == 0)
        #expect(try String(contentsOfFile: html, encoding: .utf8).hasSuffix("</html>\n"))
        #expect(try hiddenFiles(dir).isEmpty)
    }

    /// The writer killed with SIGKILL in the middle of its writes: under the final names there
    /// is always either the old file or a complete new one; only hidden temporaries may be torn,
    /// and retention sweeps them once they are old.
    ///
    /// A run of `summarize --sample` takes about 140 ms alone, of which the writes (three files,
    /// each a temporary written, fsynced and renamed) are the last 7 ms. Kills at random moments
    /// of a whole run (as before) landed before the first write nearly every time (0 torn
    /// temporaries in every run of it seen), and the window they were drawn from, the length of
    /// a first run measured beside the whole suite, made the test take 160-446 s of a loaded
    /// suite. Each round now kills the writer right after its n-th open or rename in the
    /// directory (n = 1…9: per file the temporary opened, renamed over the final name, the
    /// directory opened to be fsynced), seen by inotify on a thread that runs at once
    /// (SCHED_FIFO where allowed): every kill lands among the writes, each step twice, and a
    /// round takes one run.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable), "build edge-agent first (swift build)"))
    func killedAtRandomMomentsNeverLeavesAHalfFile() async throws {
        let dir = try TemporaryDirectory(prefix: "summaries-kill")
        defer { dir.remove() }
        let name = SummaryFileName(machine: "pump-1", start: SampleSummary.input().start, end: SampleSummary.input().end)
        let html = dir.file(name.fileName(extension: "html"))
        let json = dir.file(name.fileName(extension: "json"))
        let csv = dir.file(name.fileName(extension: "csv"))
        #expect(try await runSample(output: dir.path).status == 0)
        var killed = 0
        var killedAfter: [Int: Int] = [:]
        let rounds = Array(1...9) + Array(1...9)
        for (round, events) in rounds.enumerated() {
            try "OLD REPORT".write(toFile: html, atomically: false, encoding: .utf8)
            try? FileManager.default.removeItem(atPath: json)
            try? FileManager.default.removeItem(atPath: csv)
            // Watching before the writer starts: no event can be missed.
            let killer = try KillOnDirectoryEvent(directory: dir.path, events: events)
            let process = try ChildProcess(Self.executable, ["summarize", "--sample", "--output", dir.path])
            killer.start(killing: process.processIdentifier)
            #expect(await process.waitForExit(seconds: 120), "round \(round): the writer did not end")
            killer.stop()
            process.killAndWait()
            if process.terminationReason == .uncaughtSignal {
                killed += 1
                killedAfter[events, default: 0] += 1
            }
            let text = try String(contentsOfFile: html, encoding: .utf8)
            #expect(text == "OLD REPORT" || (text.hasPrefix("<!DOCTYPE html>") && text.hasSuffix("</html>\n")), "round \(round)")
            if FileManager.default.fileExists(atPath: json) {
                #expect((try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json)))) != nil, "round \(round)")
            }
            if let table = try? String(contentsOfFile: csv, encoding: .utf8) {
                #expect(table.hasPrefix("machine,period_start") && table.hasSuffix("\n"), "round \(round)")
            }
        }
        #expect(killed > 0)
        let torn = try hiddenFiles(dir).count
        print("summaries kill test: \(killed) of \(rounds.count) runs killed (after event n: \(killedAfter.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))), \(torn) torn temporaries")
        // Retention sweeps the killed writers' temporaries once they are an hour old.
        let later = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + 2 * 3_600_000)
        let temporaries = Set(try hiddenFiles(dir))
        #expect(Set(try SummaryRetention().apply(in: dir.path, now: later)) == temporaries)
        #expect(try hiddenFiles(dir).isEmpty)
    }

    @Test func writingTwiceReplacesAndLeavesNoTemporary() throws {
        let dir = try TemporaryDirectory(prefix: "summaries-twice")
        defer { dir.remove() }
        var input = smallInput()
        try SummaryWriter.write(input, to: dir.path)
        input.machineDescription = "second version"
        let files = try SummaryWriter.write(input, to: dir.path)
        #expect(try String(contentsOfFile: files.json, encoding: .utf8).contains("second version"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).count == 3)
    }

    @Test func unwritableDirectoryIsATypedError() throws {
        let dir = try TemporaryDirectory(prefix: "summaries-file")
        defer { dir.remove() }
        try "x".write(toFile: dir.file("blocker"), atomically: false, encoding: .utf8)
        #expect(throws: SummaryWriterError.self) { try SummaryWriter.write(smallInput(), to: dir.file("blocker/sub")) }
    }

    /// Machine a has periods at hours 0…4, machine b at hours 3 and 4 (each as json, csv, html).
    private func makePeriods(in dir: TemporaryDirectory) throws -> Timestamp {
        let base = Timestamp(iso8601: "2026-11-29T00:00:00Z")!.millisecondsSinceEpoch
        for (machine, hours) in [("a", 0..<5), ("b_x", 3..<5)] {
            for h in hours {
                let start = Timestamp(millisecondsSinceEpoch: base + Int64(h) * 3_600_000)
                let name = SummaryFileName(machine: machine, start: start, end: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 3_600_000))
                for ext in ["json", "csv", "html"] { try "x".write(toFile: dir.file(name.fileName(extension: ext)), atomically: false, encoding: .utf8) }
            }
        }
        try "keep me".write(toFile: dir.file("README.txt"), atomically: false, encoding: .utf8)
        return Timestamp(millisecondsSinceEpoch: base + 5 * 3_600_000)
    }

    @Test func retentionKeepsTheNewestPeriodsPerMachine() throws {
        let dir = try TemporaryDirectory(prefix: "summaries-keep")
        defer { dir.remove() }
        let now = try makePeriods(in: dir)
        let deleted = try SummaryRetention(keepNewest: 2).apply(in: dir.path, now: now)
        #expect(deleted.count == 9)
        #expect(deleted.allSatisfy { $0.hasPrefix("a_2026-11-29T0") && !$0.contains("T03") && !$0.contains("T04") })
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(left.count == 13)  // a: 2 periods, b_x: 2 periods, README
        #expect(left.contains("README.txt"))
    }

    @Test func retentionDeletesByAge() throws {
        let dir = try TemporaryDirectory(prefix: "summaries-age")
        defer { dir.remove() }
        let now = try makePeriods(in: dir)
        // Older than 2.5 h at 05:00: periods starting before 02:30 go (a at 00, 01, 02).
        let deleted = try SummaryRetention(maximumAge: .seconds(9000)).apply(in: dir.path, now: now)
        #expect(deleted.count == 9)
        #expect(Set(deleted.map { String($0.prefix(15)) }) == ["a_2026-11-29T00", "a_2026-11-29T01", "a_2026-11-29T02"])
        #expect(try SummaryRetention().apply(in: dir.path, now: now).isEmpty)
        #expect(throws: SummaryWriterError.self) { try SummaryRetention(keepNewest: 1).apply(in: dir.file("missing")) }
    }
}

/// Sends SIGKILL to a process right after the `events`-th open of a file in a directory (or of
/// the directory itself) or rename into it (inotify), from a thread of its own that runs as soon as the event comes
/// (SCHED_FIFO where allowed, like the tests' stand-ins for hardware).
final class KillOnDirectoryEvent: @unchecked Sendable {
    // @unchecked Sendable: `fd` and `events` are set in init; `pid` is written before the
    // thread starts and read only by it; the flags are atomics.
    private let fd: Int32
    private let events: Int
    private var pid: pid_t = 0
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private var started = false

    /// Watches `directory` from now on (events before `start` are kept by the kernel).
    init(directory: String, events: Int) throws {
        fd = inotify_init1(Int32(O_CLOEXEC | O_NONBLOCK))
        guard fd >= 0 else { throw TestSupportError("inotify_init1: \(String(cString: strerror(errno)))") }
        guard inotify_add_watch(fd, directory, UInt32(IN_OPEN | IN_MOVED_TO)) >= 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw TestSupportError("inotify_add_watch \(directory): \(message)")
        }
        self.events = events
    }

    /// Starts the thread that kills `pid`.
    func start(killing pid: pid_t) {
        self.pid = pid
        started = true
        let thread = Thread { [self] in run() }
        thread.name = "kill-on-event"
        thread.start()
    }

    /// Ends the thread (at most one 10 ms poll later) and closes the watch.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        if started { while !finished.load(ordering: .sequentiallyConsistent) { usleep(1_000) } }
        close(fd)
    }

    private func run() {
        DevicePriority.raiseCurrentThread()
        var seen = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        let header = MemoryLayout<inotify_event>.size
        while !stopping.load(ordering: .sequentiallyConsistent) && seen < events {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 10) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { continue }
            var offset = 0
            while offset + header <= n {
                let length = buffer.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)) }
                seen += 1
                offset += header + length
            }
            if seen >= events { kill(pid, SIGKILL) }
        }
        finished.store(true, ordering: .sequentiallyConsistent)
    }
}
