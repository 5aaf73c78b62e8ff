// `edge-bench fuzz-config [--count N] [--seed S] [--config PATH] [--show INDEX]`: runs N
// mutants of agent.conf through the configuration loader (what `check-config` runs) and
// prints the counts. A crash stops the process; the signal handler below prints the index of
// the mutant being loaded first, so `--show INDEX` prints that mutant to reproduce it.
import EdgeCore
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The decimal index of the mutant being loaded, NUL-terminated, for the crash handler (which
/// may not allocate or format). Written only by the fuzzing thread, read only by a fatal
/// signal handler on that same thread.
nonisolated(unsafe) private let currentMutantText = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)

private func setCurrentMutant(_ index: Int) {
    let digits = Array(String(index).utf8.prefix(30))
    for (i, digit) in digits.enumerated() { currentMutantText[i] = digit }
    currentMutantText[digits.count] = 0
}

private func installCrashReporter() {
    currentMutantText[0] = 0
    for signalNumber in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE] {
        signal(signalNumber) { received in
            let prefix = "\nedge-bench fuzz-config: CRASH (signal) while loading mutant "
            _ = prefix.withCString { write(2, $0, strlen($0)) }
            _ = write(2, currentMutantText, strlen(currentMutantText))
            _ = "; reproduce with --show INDEX (same --seed)\n".withCString { write(2, $0, strlen($0)) }
            signal(received, SIG_DFL)
            raise(received)
        }
    }
}

func configurationFuzzBenchmark(_ args: [String]) throws -> Int32 {
    var count = 10_000, seed: UInt64 = 1, path = "agent.conf", show: Int?
    var rest = args[...]
    while let option = rest.popFirst() {
        guard let value = rest.popFirst() else { return configurationFuzzUsage() }
        switch option {
        case "--count": guard let n = Int(value), n > 0 else { return configurationFuzzUsage() }; count = n
        case "--seed": guard let s = UInt64(value) else { return configurationFuzzUsage() }; seed = s
        case "--config": path = value
        case "--show": guard let i = Int(value), i >= 0 else { return configurationFuzzUsage() }; show = i
        default: return configurationFuzzUsage()
        }
    }
    guard let file = fopen(path, "rb") else { throw BenchError("cannot open \(path): \(String(cString: strerror(errno)))") }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    fclose(file)
    let fuzzer = ConfigurationFuzzer(original: String(decoding: bytes, as: UTF8.self), seed: seed)
    if let index = show {
        let mutant = fuzzer.mutant(index)
        printToStandardError("mutant \(index) (seed \(seed)): \(mutant.edits.joined(separator: "; "))")
        _ = mutant.bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        return 0
    }
    installCrashReporter()
    let start = SystemClock.monotonicNanoseconds()
    var report = ConfigurationFuzzer.Report()
    for index in 0..<count {
        setCurrentMutant(index)
        report.add(fuzzer.run(index..<(index + 1)) { printToStandardError("violation: \($0.prefix(500))") })
    }
    let seconds = Double(SystemClock.monotonicNanoseconds() - start) / 1e9
    print("fuzz-config \(path) seed \(seed): \(report) crashes=0 (\(Int(seconds * 10) / 10) s, \(Int(Double(count) / seconds)) mutants/s)")
    return report.violations.isEmpty ? 0 : 1
}

private func configurationFuzzUsage() -> Int32 {
    printToStandardError("usage: edge-bench fuzz-config [--count N] [--seed S] [--config agent.conf] [--show INDEX]")
    return 2
}
