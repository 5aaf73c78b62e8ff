/// Walks a benchmark's arguments as `--name value` pairs, except the `flags`, which take no value.
///
/// Calls `handle(name, value)` once per option, in order; `value` is empty for a flag and for an
/// option given last without one. An unknown name is `handle`'s to reject.
func forEachBenchOption(
    _ args: [String], flags: Set<String>, _ handle: (_ name: String, _ value: String) throws -> Void
) rethrows {
    var i = 0
    while i < args.count {
        let isFlag = flags.contains(args[i])
        try handle(args[i], !isFlag && i + 1 < args.count ? args[i + 1] : "")
        i += isFlag ? 1 : 2
    }
}

/// The seeds of a `--seeds` argument: `FIRST-LAST` (e.g. `1-10`) or one seed.
func seedRange(_ value: String) throws(BenchError) -> ClosedRange<UInt64> {
    let parts = value.split(separator: "-").compactMap { UInt64($0) }
    guard parts.count == 2 || parts.count == 1, let first = parts.first, let last = parts.last, first <= last else {
        throw BenchError("--seeds takes FIRST-LAST (e.g. 1-10) or one seed, not \"\(value)\"")
    }
    return first...last
}
