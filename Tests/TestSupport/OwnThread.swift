import Foundation

/// Runs `work` on a thread of its own and waits for it without holding a thread of the
/// cooperative pool.
///
/// For synchronous work that may take long in an async test: an SQLite integrity check, a loop
/// of queries over a big buffer. Swift Testing runs every test on the cooperative pool, one
/// thread per core (two on CI); a test that blocks one of them in a synchronous call for
/// minutes on a loaded machine leaves every other test in the process, and the pollers'
/// hand-offs of the agents they run, one thread to share (the product gives each bus and its
/// writer a thread of their own for the same reason).
/// - Throws: what `work` throws.
public func onOwnThread<T: Sendable>(_ name: String = "test-work", _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try work() })
        }
        thread.name = name
        thread.start()
    }
}
