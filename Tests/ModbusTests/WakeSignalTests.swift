#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Modbus
import Synchronization
import Testing
import TestSupport

/// The wake-up pipe of every poller, server and ticker thread: close-on-exec and non-blocking
/// from the moment it exists, so a program another thread starts at that moment (an alert
/// action) never inherits it.
@Suite(.serialized) struct WakeSignalTests {
    @Test func bothEndsAreCloseOnExecAndNonBlockingWhenCreated() throws {
        let signal = try WakeSignal()
        let readEnd = signal.readFD
        // The write end is the next descriptor pipe2 handed out with it; fstat confirms it is
        // the same pipe before its flags are read.
        var read = stat(), write = stat()
        #expect(fstat(readEnd, &read) == 0)
        let writeEnd = try #require((readEnd + 1...readEnd + 64).first { fd in
            fstat(fd, &write) == 0 && write.st_ino == read.st_ino && fd != readEnd
        }, "the pipe's write end")
        for fd in [readEnd, writeEnd] {
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0, "descriptor \(fd) is not close-on-exec")
            #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0, "descriptor \(fd) blocks")
        }
        // Still a working wake-up: woken, drained, not woken.
        signal.wake()
        var now: UInt64 { UInt64(DispatchTime.now().uptimeNanoseconds) }
        #expect(signal.wait(untilMonotonicNanoseconds: now + 2_000_000_000) { now })
        signal.drain()
        #expect(!signal.wait(untilMonotonicNanoseconds: now + 20_000_000) { now })
    }

    /// One thread creates and destroys wake signals as fast as it can while this one starts
    /// `ls -l /proc/self/fd` with posix_spawn, 200 times: no child may list one of those pipes.
    /// With pipe() then fcntl(FD_CLOEXEC), a spawn that fell between the two calls copied the
    /// pipe into the child, and exec kept it open (seen: 50 pipes in 200 children).
    @Test(.timeLimit(.minutes(2)))
    func aProgramStartedMeanwhileInheritsNoWakePipe() throws {
        let dir = try TemporaryDirectory(prefix: "wake-cloexec")
        defer { dir.remove() }
        final class Shared: Sendable {
            /// The pipes' inodes (both ends share one).
            let created = Mutex<Set<UInt64>>([])
            let stop = Atomic<Bool>(false)
        }
        let shared = Shared()
        let creator = Thread {
            while !shared.stop.load(ordering: .relaxed) {
                guard let signal = try? WakeSignal() else { continue }
                var info = stat()
                if fstat(signal.readFD, &info) == 0 { shared.created.withLock { _ = $0.insert(UInt64(info.st_ino)) } }
            }
        }
        creator.start()
        defer { shared.stop.store(true, ordering: .relaxed) }

        var leaked: [String] = []
        let listing = dir.file("fds.txt")
        for _ in 0..<200 {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            #expect(posix_spawn_file_actions_addopen(&actions, 1, listing, O_WRONLY | O_CREAT | O_TRUNC, 0o600) == 0)
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/ls"), strdup("-l"), strdup("/proc/self/fd"), nil]
            defer { argv.forEach { free($0) } }
            try #require(posix_spawn(&pid, "/bin/ls", &actions, nil, argv, environ) == 0)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let text = try String(contentsOfFile: listing, encoding: .utf8)
            let ours = shared.created.withLock { $0 }
            for line in text.split(separator: "\n") {
                guard let open = line.range(of: "pipe:["), let close = line[open.upperBound...].firstIndex(of: "]"),
                      let inode = UInt64(line[open.upperBound..<close]), ours.contains(inode) else { continue }
                leaked.append(String(line))
            }
        }
        shared.stop.store(true, ordering: .relaxed)
        #expect(shared.created.withLock { $0.count } > 200, "the creating thread hardly ran: nothing was tested")
        let pipes = Set(leaked.compactMap { $0.split(separator: " ").last }).count
        #expect(pipes == 0, "\(pipes) wake pipes reached a child, e.g. \(leaked.first ?? "")")
    }
}
