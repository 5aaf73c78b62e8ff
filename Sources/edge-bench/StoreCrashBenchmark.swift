// `edge-bench store-crash [--kills N]`: the crash-safety test at a larger scale. Starts
// `edge-bench store-crash-writer` N times on one database, SIGKILLs it at a random moment,
// and after each kill checks PRAGMA integrity_check and that every reported commit is there.
import EdgeCore
import Store

#if canImport(Glibc)
import Glibc
#endif

func storeCrashBenchmark(_ args: [String]) throws -> Int32 {
    var kills = 100
    if args.count == 2, args[0] == "--kills", let n = Int(args[1]), n > 0 {
        kills = n
    } else if !args.isEmpty {
        printToStandardError("usage: edge-bench store-crash [--kills N]")
        return 2
    }
    var link = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &link, link.count - 1)
    guard length > 0 else { throw BenchError("cannot find this executable: readlink /proc/self/exe failed (errno \(errno))") }
    let executable = String(decoding: link[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var template = Array("/tmp/edge-bench-crash-XXXXXX".utf8CString)
    guard let dir = mkdtemp(&template).map({ String(cString: $0) }) else { throw BenchError("cannot create a temporary directory in /tmp") }
    defer { _ = system("rm -rf '\(dir)'") }
    let path = dir + "/crash.db"

    var failures = 0
    var reportedBatches: UInt64 = 0
    var emptyRuns = 0
    var recoveryNanoseconds: UInt64 = 0
    for run in 1...kills {
        let output = try runAndKill(executable, ["store-crash-writer", path, String(run)], afterMicroseconds: UInt32.random(in: 50_000...500_000))
        let committed = output.split(separator: "\n").compactMap { line -> UInt64? in
            line.hasPrefix("committed ") ? UInt64(line.dropFirst("committed ".count)) : nil
        }.max() ?? 0
        if committed == 0 { emptyRuns += 1 }
        reportedBatches += committed
        let start = SystemClock.monotonicNanoseconds()
        let buffer = try BufferDatabase(path: path)
        recoveryNanoseconds += SystemClock.monotonicNanoseconds() - start
        let integrity = try buffer.integrityCheck()
        let base = Int64(run) * 1_000_000_000
        let present = try SQLiteConnection(path: path, mode: .readOnly)
            .integer("SELECT count(*) FROM readings WHERE t_ms BETWEEN \(base + 1) AND \(base + Int64(committed))") ?? -1
        if integrity != "ok" || present != Int64(committed) * Int64(crashWriterSensors) {
            failures += 1
            print("run \(run): integrity \(integrity), \(present) of \(Int64(committed) * Int64(crashWriterSensors)) reported readings present")
        }
    }
    let statistics = try BufferDatabase(path: path, access: .readOnly).statistics()
    print("store-crash: \(kills) SIGKILLs, \(reportedBatches) reported batches (\(emptyRuns) runs killed before their first commit)")
    print("  failures: \(failures) (integrity_check not ok, or a reported batch missing)")
    print("  mean reopen (WAL recovery + migration check): \(recoveryNanoseconds / UInt64(kills) / 1000) µs; \(statistics.readingCount) readings, \(statistics.fileBytes) bytes")
    return failures == 0 ? 0 : 1
}

/// Starts `executable` with `arguments`, SIGKILLs it after the delay, and returns its stdout.
private func runAndKill(_ executable: String, _ arguments: [String], afterMicroseconds delay: UInt32) throws -> String {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw BenchError("pipe failed (errno \(errno))") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    posix_spawn_file_actions_addclose(&actions, fds[1])
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    close(fds[1])
    guard rc == 0 else {
        close(fds[0])
        throw BenchError("cannot start \(executable): posix_spawn error \(rc)")
    }
    usleep(delay)
    kill(pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fds[0], &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    close(fds[0])
    return String(decoding: bytes, as: UTF8.self)
}
