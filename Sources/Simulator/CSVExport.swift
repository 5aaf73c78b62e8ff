#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// A file that could not be written, and why.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    /// The file or directory.
    public var path: String
    /// What failed, from errno, and what to check.
    public var message: String

    public var description: String { "\(path): \(message)" }
}

/// Writes labelled series as CSV files and a manifest of their faults.
///
/// CSV: header `timestamp,<channel>...,anomaly`; ISO-8601 UTC timestamps with milliseconds;
/// values with the channel's resolution; an empty field where a sensor dropped out; `anomaly`
/// is 1 on rows where a fault acts (a label, never an input).
public enum SeriesExport {
    /// Appends the CSV text of `series` (header included) to `out`, calling `flush` whenever
    /// `out` grows past about 1 MB so that large series never sit in memory twice.
    public static func writeCSV(
        _ series: LabelledSeries, into out: inout [UInt8], flush: (inout [UInt8]) throws(ExportError) -> Void
    ) throws(ExportError) {
        out.append(contentsOf: Array("timestamp".utf8))
        for channel in series.channels {
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: Array(channel.name.utf8))
        }
        out.append(contentsOf: Array(",anomaly\n".utf8))
        let width = series.channels.count
        for row in 0..<series.rowCount {
            out.append(contentsOf: Array(series.time(ofRow: row).iso8601.utf8))
            for c in 0..<width {
                out.append(UInt8(ascii: ","))
                appendFixed(Double(series.values[row * width + c]), decimals: series.channels[c].decimals, to: &out)
            }
            out.append(UInt8(ascii: ","))
            out.append(series.anomaly[row] ? UInt8(ascii: "1") : UInt8(ascii: "0"))
            out.append(UInt8(ascii: "\n"))
            if out.count > 1 << 20 { try flush(&out) }
        }
        try flush(&out)
    }

    /// Writes `series` to a CSV file at `path`, replacing it.
    /// - Throws: `ExportError` when the file cannot be created or written.
    public static func writeCSV(_ series: LabelledSeries, toFile path: String) throws(ExportError) {
        let file = try OutputFile(path: path)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20 + 4096)
        try writeCSV(series, into: &buffer) { (bytes: inout [UInt8]) throws(ExportError) in
            try file.write(bytes)
            bytes.removeAll(keepingCapacity: true)
        }
        try file.close()
    }

    /// Appends `value` with exactly `decimals` digits after the point (nothing for NaN).
    public static func appendFixed(_ value: Double, decimals: Int, to out: inout [UInt8]) {
        guard value.isFinite else { return }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        var scaled = (value * scale).rounded()
        if scaled < 0 {
            out.append(UInt8(ascii: "-"))
            scaled = -scaled
        }
        guard scaled < 9e17 else {
            out.append(contentsOf: Array(String(value).utf8))
            return
        }
        let integer = UInt64(scaled)
        let unit = UInt64(scale)
        appendDigits(integer / unit, minimumWidth: 1, to: &out)
        if decimals > 0 {
            out.append(UInt8(ascii: "."))
            appendDigits(integer % unit, minimumWidth: decimals, to: &out)
        }
    }

    private static func appendDigits(_ value: UInt64, minimumWidth: Int, to out: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(v % 10) + 48
                v /= 10
                count += 1
            } while v > 0
            while count < minimumWidth && count < 20 {
                buffer[count] = 48
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[i]) }
        }
    }
}

/// A file opened for writing, closed in `deinit` if not closed explicitly.
final class OutputFile {
    private var descriptor: Int32
    let path: String

    init(path: String) throws(ExportError) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            let code = errno
            throw ExportError(path: path, message: "cannot create file: \(String(cString: strerror(code))) (check the directory exists and is writable)")
        }
    }

    func write(_ bytes: [UInt8]) throws(ExportError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw ExportError(path: path, message: "write failed: \(String(cString: strerror(code))) (is the disk full?)")
            }
            offset += n
        }
    }

    func write(_ text: String) throws(ExportError) {
        try write(Array(text.utf8))
    }

    func close() throws(ExportError) {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        if Glibc.close(fd) != 0 {
            let code = errno
            throw ExportError(path: path, message: "close failed: \(String(cString: strerror(code)))")
        }
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }
}

/// The served simulator's ground truth: one JSON line per fault that begins or ends, appended
/// to a file (`edge-agent simulate --fault-log PATH`), for matching alerts against faults.
public final class FaultLog {
    private let file: OutputFile

    /// Opens (creating or truncating) the log at `path`.
    /// - Throws: `ExportError` when it cannot be created.
    public init(path: String) throws(ExportError) {
        file = try OutputFile(path: path)
    }

    /// Appends one line per event, stamped with the wall-clock time.
    /// - Throws: `ExportError` when the write fails.
    public func append(_ events: [FaultEvent], wallTime: Timestamp) throws(ExportError) {
        var text = ""
        for event in events { text += event.json(wallTime: wallTime) + "\n" }
        try file.write(text)
    }
}
