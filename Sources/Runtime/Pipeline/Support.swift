#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// Runs blocking work (joining threads, opening SQLite, flushing) on a thread of its own and
/// waits for it without blocking the cooperative pool.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        do {
            let thread = try PosixThread(name: "edge-blocking") {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            // Detached: the thread ends by itself once the body has resumed the continuation.
            _ = thread
        } catch {
            continuation.resume(throwing: error)
        }
    }
}

/// `runBlocking` for work that cannot fail.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        do {
            _ = try PosixThread(name: "edge-blocking") { continuation.resume(returning: body()) }
        } catch {
            // No thread could be started: do the work here rather than not at all.
            continuation.resume(returning: body())
        }
    }
}

/// Why a directory could not be created.
public struct DirectoryError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var code: Int32
    public var description: String { "cannot create directory \(path): \(String(cString: strerror(code)))" }
}

/// Which file a path names (device and inode), to notice a file deleted or replaced under an
/// open descriptor; nil when nothing is there.
struct FileIdentity: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

/// `mkdir -p` with mode 0750 (data is not world-readable).
func makeDirectories(_ path: String) throws(DirectoryError) {
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        current += "/" + part
        if mkdir(current, 0o750) != 0, errno != EEXIST { throw DirectoryError(path: current, code: errno) }
    }
}

/// The most recent N delays, for p50/p99 without unbounded memory.
struct DelayReservoir: Sendable {
    private var values: [Double]
    private var next = 0
    private var filled = false

    init(capacity: Int) { values = Array(repeating: 0, count: max(1, capacity)) }

    mutating func add(_ value: Double) {
        values[next] = value
        next += 1
        if next == values.count { next = 0; filled = true }
    }

    /// p50 and p99 of the stored delays (0 when empty).
    func percentiles() -> (Double, Double) {
        let count = filled ? values.count : next
        guard count > 0 else { return (0, 0) }
        let sorted = values[0..<count].sorted()
        func at(_ q: Double) -> Double { sorted[min(count - 1, Int((q * Double(count - 1)).rounded()))] }
        return (at(0.5), at(0.99))
    }
}

/// Hands the heap's free pages back to the kernel (glibc `malloc_trim(0)`), after work that
/// allocates a lot for a moment, such as a period's summaries reading an hour of readings:
/// glibc keeps freed memory otherwise, and the agent's RSS would stay at that peak.
/// `malloc_trim` is declared in <malloc.h>, which the Glibc module does not import, so it is
/// looked up by name and called with the C calling convention; without it nothing happens.
func releaseFreedHeapMemory() {
    #if canImport(Glibc)
    // A null handle is RTLD_DEFAULT: search the process's global symbols.
    guard let symbol = dlsym(nil, "malloc_trim") else { return }
    typealias MallocTrim = @convention(c) (Int) -> Int32
    _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)  // 1: memory released, 0: none to release
    #endif
}
