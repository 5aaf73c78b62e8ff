import Store

// Waits for tests that leave the thread free. Swift Testing runs tests in parallel on the
// cooperative pool, one thread per core (2 on CI): a test blocked in `usleep`, a semaphore or a
// blocking flush holds one of them, and the in-process agents, the pollers' hand-offs and the
// other async tests then wait for the other. On a loaded machine that starved whole suites.

// Every wait gives up at once when its task is cancelled (a test past its time limit): a sleep
// in a cancelled task returns at once, and a wait that went on polling then spun on a thread of
// the pool until its deadline. Two or three such waits (60 s each) held the whole pool, every
// other in-process agent and async test stalled behind them and passed their own limits in
// turn: a whole-suite run under load went on for 960 s with 11 issues, tests "failed after
// 881 s" against limits of 120 s.

/// Sleeps `duration` without blocking a thread; returns false when the task was cancelled
/// (the sleep then ends at once, and the caller should stop waiting).
public func pauseUnlessCancelled(_ duration: Duration) async -> Bool {
    do {
        try await Task.sleep(for: duration)
        return true
    } catch {
        return false
    }
}

/// Polls `condition` every 10 ms, without blocking a thread, until it holds or `seconds` pass
/// (or the task is cancelled); returns whether it holds.
public func eventually(within seconds: Double = 30, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        guard await pauseUnlessCancelled(.milliseconds(10)) else { break }
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
            guard await pauseUnlessCancelled(.milliseconds(2)) else { return flush(timeout: .zero) }
        }
        return true
    }
}
