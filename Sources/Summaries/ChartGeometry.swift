import EdgeCore

/// Values of a period reduced to a fixed number of equal time buckets (minimum, mean and
/// maximum per bucket; NaN for a bucket without any value), so a chart draws the same number
/// of points whatever the poll rate.
struct Buckets {
    let count: Int
    private(set) var minimum: [Double]
    private(set) var maximum: [Double]
    private(set) var mean: [Double]
    private var sums: [Double]
    private var counts: [Int]
    private let startMs: Int64
    private let durationMs: Int64

    init(count: Int, start: Timestamp, end: Timestamp) {
        self.count = max(1, count)
        minimum = Array(repeating: .nan, count: self.count)
        maximum = Array(repeating: .nan, count: self.count)
        mean = Array(repeating: .nan, count: self.count)
        sums = Array(repeating: 0, count: self.count)
        counts = Array(repeating: 0, count: self.count)
        startMs = start.millisecondsSinceEpoch
        durationMs = max(1, end.millisecondsSinceEpoch - start.millisecondsSinceEpoch)
    }

    /// Adds a value at a time; values outside the period or not finite are ignored.
    mutating func add(_ value: Double, at time: Timestamp) {
        let offset = time.millisecondsSinceEpoch - startMs
        guard value.isFinite, offset >= 0, offset < durationMs else { return }
        let i = Int(offset * Int64(count) / durationMs)
        if counts[i] == 0 {
            minimum[i] = value
            maximum[i] = value
        } else {
            if value < minimum[i] { minimum[i] = value }
            if value > maximum[i] { maximum[i] = value }
        }
        sums[i] += value
        counts[i] += 1
        mean[i] = sums[i] / Double(counts[i])
    }

    /// Whether bucket `i` holds at least one value.
    func isFilled(_ i: Int) -> Bool { counts[i] > 0 }

    /// Runs of consecutive filled buckets, as index ranges.
    var filledRuns: [Range<Int>] { runs(filled: true) }

    /// Runs of consecutive empty buckets (gaps in the data).
    var emptyRuns: [Range<Int>] { runs(filled: false) }

    private func runs(filled: Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        while i < count {
            guard isFilled(i) == filled else { i += 1; continue }
            let first = i
            while i < count, isFilled(i) == filled { i += 1 }
            out.append(first..<i)
        }
        return out
    }

    /// The smallest and largest value over all buckets, nil when all are empty.
    var range: (low: Double, high: Double)? {
        var low = Double.infinity
        var high = -Double.infinity
        for i in 0..<count where counts[i] > 0 {
            low = Swift.min(low, minimum[i])
            high = Swift.max(high, maximum[i])
        }
        return low <= high ? (low, high) : nil
    }
}

/// "Nice" axis ticks: steps of 1, 2, 2.5 or 5 times a power of ten.
enum AxisTicks {
    /// About `target` round values covering `[low, high]`, and the range widened to the outer ticks.
    static func values(low: Double, high: Double, target: Int = 4) -> (ticks: [Double], low: Double, high: Double, step: Double) {
        var lo = low
        var hi = high
        if !(hi > lo) {
            let pad = lo == 0 ? 1 : abs(lo) * 0.05
            lo -= pad
            hi += pad
        }
        let raw = (hi - lo) / Double(max(1, target))
        var power: Double = 1
        while power * 10 <= raw { power *= 10 }
        while power > raw { power /= 10 }
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= raw } ?? power * 10
        let first = (lo / step).rounded(.down) * step
        let last = (hi / step).rounded(.up) * step
        var ticks: [Double] = []
        var v = first
        while v <= last + step * 0.5, ticks.count < 50 {
            ticks.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return (ticks, first, last, step)
    }

    /// Decimals needed to print ticks `step` apart without repeating a label.
    static func decimals(forStep step: Double) -> Int {
        var d = 0
        var s = step
        while d < 6, (s - s.rounded()).magnitude > 1e-9 * Swift.max(1, s) {
            s *= 10
            d += 1
        }
        return d
    }

    /// Time ticks at round UTC times (every 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h or days)
    /// strictly inside `(start, end)`, about `target` of them.
    static func times(start: Timestamp, end: Timestamp, target: Int = 4) -> [Timestamp] {
        let steps: [Int64] = [
            60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000,
            21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000,
        ]
        let duration = end.millisecondsSinceEpoch - start.millisecondsSinceEpoch
        guard duration > 0 else { return [] }
        let raw = duration / Int64(max(1, target))
        let step = steps.first { $0 >= raw } ?? steps[steps.count - 1]
        var t = (start.millisecondsSinceEpoch / step + 1) * step
        var out: [Timestamp] = []
        while t < end.millisecondsSinceEpoch, out.count < 20 {
            out.append(Timestamp(millisecondsSinceEpoch: t))
            t += step
        }
        return out
    }
}

/// UTC clock and calendar text for reports, from `Timestamp` (no Foundation formatters).
enum TimeText {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `01:05` (UTC).
    static func hourMinute(_ t: Timestamp) -> String { String(t.iso8601.dropFirst(11).prefix(5)) }

    /// `01:05:09` (UTC).
    static func clock(_ t: Timestamp) -> String { String(t.iso8601.dropFirst(11).prefix(8)) }

    /// `29 Nov 2026`.
    static func date(_ t: Timestamp) -> String {
        let iso = t.iso8601
        let day = Int(iso.dropFirst(8).prefix(2)) ?? 0
        let month = Int(iso.dropFirst(5).prefix(2)) ?? 1
        return "\(day) \(months[max(0, min(11, month - 1))]) \(iso.prefix(4))"
    }

    /// `29 Nov` (for axes of multi-day periods).
    static func dayMonth(_ t: Timestamp) -> String {
        let iso = t.iso8601
        let day = Int(iso.dropFirst(8).prefix(2)) ?? 0
        let month = Int(iso.dropFirst(5).prefix(2)) ?? 1
        return "\(day) \(months[max(0, min(11, month - 1))])"
    }

    /// Whether two times fall on the same UTC day.
    static func sameDay(_ a: Timestamp, _ b: Timestamp) -> Bool { a.iso8601.prefix(10) == b.iso8601.prefix(10) }
}

/// Escaping for text placed in HTML or SVG (element content and quoted attribute values).
enum HTMLText {
    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append("&amp;")
            case "<": out.append("&lt;")
            case ">": out.append("&gt;")
            case "\"": out.append("&quot;")
            case "'": out.append("&#39;")
            default:
                // Control characters other than tab and line breaks are not allowed in XML.
                if scalar.value < 0x20, scalar != "\t", scalar != "\n", scalar != "\r" {
                    out.append("\u{FFFD}")
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
