import Store

// Waits for tests that leave the thread free. Swift Testing runs tests in parallel on the
// cooperative pool, one thread per core (2 on CI): a test blocked in `usleep`, a semaphore or a
// blocking flush holds one of them, and the in-process agents, the pollers' hand-offs and the
// other async tests then wait for the other. On a loaded machine that starved whole suites.

/// Polls `condition` every 10 ms, without blocking a thread, until it holds or `seconds` pass;
/// returns whether it holds.
public func eventually(within seconds: Double = 30, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try condition()
}

extension ReadingWriter {
    /// Waits, without blocking a thread, until everything appended so far is committed, or
    /// `timeout` passes (the async `flush()` has no timeout, and `flush(timeout:)` blocks).
    /// - Returns: whether everything was committed.
    public func committed(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        // flush(timeout: .zero) only looks: it returns at once.
        while !flush(timeout: .zero) {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }
}
