import EdgeCore

/// The HTML summary: one self-contained page (inline CSS, inline SVG charts, no script, no
/// external font or request) that reads well on a phone and on a desktop.
///
/// The markup is also well-formed XML (XHTML-compatible), so tools can parse it.
public enum SummaryHTML {
    /// Buckets per chart at most (fewer when the period holds fewer readings).
    static let maximumBuckets = 160

    /// The HTML page of the summary of `input` (statistics computed by the caller).
    public static func render(_ input: SummaryInput, statistics: SummaryStatistics) -> String {
        var page = Page(input: input, statistics: statistics)
        return page.render()
    }
}

/// Builds the page text; one instance per render.
private struct Page {
    let input: SummaryInput
    let statistics: SummaryStatistics
    var out = ""

    init(input: SummaryInput, statistics: SummaryStatistics) {
        self.input = input
        self.statistics = statistics
        out.reserveCapacity(64 * 1024 + input.sensors.count * 16 * 1024)
    }

    private static let css = """
        :root{--bg:#f4f5f7;--card:#fff;--ink:#1c2430;--muted:#667085;--line:#e4e7ec;--grid:#eef0f3;\
        --data:#2f6fdf;--band:#2f6fdf;--normal:#12a150;--alert:#d92d20;--warn:#dc6803;--gap:#98a2b3}
        @media (prefers-color-scheme:dark){:root{--bg:#0f1419;--card:#182029;--ink:#e6e9ee;--muted:#98a2b3;\
        --line:#2a3440;--grid:#222b35;--data:#6ea1ff;--band:#6ea1ff;--normal:#32d583;--alert:#f97066;--warn:#fdb022;--gap:#667085}}
        *{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%}
        body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,\
        "Helvetica Neue",Arial,sans-serif;font-variant-numeric:tabular-nums}
        main{max-width:1180px;margin:0 auto;padding:16px 14px 32px}
        header{padding:8px 2px 14px}
        .eyebrow{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:var(--muted);font-weight:600}
        h1{font-size:28px;line-height:1.15;margin:4px 0 2px;font-weight:700;letter-spacing:-.01em}
        h2{font-size:17px;margin:0 0 10px;font-weight:650}
        h3{font-size:15px;margin:0;font-weight:600}
        .sub{color:var(--muted);margin:0}
        .period{margin:6px 0 0;font-weight:500}
        .pill{display:inline-block;border-radius:999px;padding:2px 10px;font-size:13px;font-weight:600;vertical-align:middle}
        .ok{background:color-mix(in srgb,var(--normal) 15%,transparent);color:var(--normal)}
        .crit{background:color-mix(in srgb,var(--alert) 14%,transparent);color:var(--alert)}
        .warn{background:color-mix(in srgb,var(--warn) 16%,transparent);color:var(--warn)}
        .kpis{display:grid;grid-template-columns:repeat(2,1fr);gap:10px;margin:0 0 14px}
        .kpi{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:10px 12px}
        .kpi .k{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.05em}
        .kpi .v{font-size:22px;font-weight:650;margin-top:2px}
        .kpi .d{font-size:12.5px;color:var(--muted)}
        .card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px;margin:0 0 14px}
        .grid{display:grid;grid-template-columns:1fr;gap:12px;margin:0 0 14px}
        .grid .card{margin:0}
        .head{display:flex;justify-content:space-between;align-items:baseline;gap:8px;flex-wrap:wrap;margin-bottom:6px}
        .unit{color:var(--muted);font-weight:500}
        .facts{font-size:12.5px;color:var(--muted)}
        .facts b{color:var(--ink);font-weight:600}
        .chart{margin:4px 0 0}
        .plot{position:relative}
        .plot svg{display:block;width:100%;overflow:visible}
        .yl{position:absolute;left:2px;font-size:11px;line-height:13px;color:var(--muted);\
        background:color-mix(in srgb,var(--card) 80%,transparent);padding:0 2px;border-radius:3px;white-space:nowrap}
        .xaxis{position:relative;height:18px;font-size:11px;color:var(--muted);border-top:1px solid var(--line)}
        .xaxis span{position:absolute;top:2px;transform:translateX(-50%);white-space:nowrap}
        .xaxis span.first{transform:none}
        .xaxis span.last{transform:translateX(-100%)}
        .legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12.5px;color:var(--muted);margin:0 0 6px}
        .sw{display:inline-block;width:14px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
        .grid-line{stroke:var(--grid);stroke-width:1}
        .normal{fill:var(--normal);fill-opacity:.10}
        .alert-span{fill:var(--alert);fill-opacity:.10}
        .gap{fill:var(--gap);fill-opacity:.12}
        .band{fill:var(--band);fill-opacity:.22;stroke:none}
        .mean{fill:none;stroke:var(--data);stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
        .score-area{fill:var(--data);fill-opacity:.12}
        .score-line{fill:none;stroke:var(--data);stroke-width:1.6;stroke-linejoin:round}
        .score-hot{fill:none;stroke:var(--alert);stroke-width:2;stroke-linejoin:round}
        .threshold{stroke:var(--alert);stroke-width:1.4;stroke-dasharray:6 4}
        .table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
        table{border-collapse:collapse;width:100%;font-size:13.5px}
        th,td{text-align:left;padding:7px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em;white-space:nowrap}
        td.n,th.n{text-align:right;white-space:nowrap}
        tr:last-child td{border-bottom:none}
        .empty{color:var(--muted);margin:0}
        .ts{white-space:nowrap}
        ul.events{margin:0;padding-left:18px}
        ul.events li{margin:2px 0}
        footer{color:var(--muted);font-size:12px;text-align:center;margin-top:18px}
        .sticky td:first-child,.sticky th:first-child{position:sticky;left:0;background:var(--card)}
        @media (max-width:699px){table.stack thead{display:none}table.stack tr{display:block;padding:6px 0;\
        border-bottom:1px solid var(--line)}table.stack tr:last-child{border-bottom:none}\
        table.stack td{display:flex;gap:10px;border:none;padding:3px 0;text-align:left;white-space:normal}\
        table.stack td::before{content:attr(data-label);flex:0 0 76px;font-size:11.5px;line-height:20px;color:var(--muted);\
        font-weight:600;text-transform:uppercase;letter-spacing:.04em}}
        @media (min-width:700px){.kpis{grid-template-columns:repeat(4,1fr)}.grid{grid-template-columns:repeat(2,1fr)}\
        h1{font-size:32px}main{padding:24px 20px 40px}}
        @media (min-width:1100px){.grid{grid-template-columns:repeat(3,1fr)}}
        """

    mutating func render() -> String {
        let title = "\(input.machine) · \(TimeText.date(input.start)) \(TimeText.hourMinute(input.start))–\(TimeText.hourMinute(input.end)) UTC"
        out.append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n")
        out.append("<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
        out.append("<meta name=\"generator\" content=\"edge-agent \(EdgeAgentVersion.string)\"/>\n")
        out.append("<title>\(e(title))</title>\n<style>\n\(Page.css)\n</style>\n</head>\n<body>\n<main>\n")
        header()
        kpis()
        scoreSection()
        alertsSection()
        sensorsSection()
        statisticsTable()
        dataQualitySection()
        out.append("<footer>Generated \(e(input.generated.iso8601)) by edge-agent \(e(EdgeAgentVersion.string)). All times UTC.</footer>\n")
        out.append("</main>\n</body>\n</html>\n")
        return out
    }

    private func e(_ text: String) -> String { HTMLText.escape(text) }

    private func num(_ value: Double?) -> String { NumberText.display(value) }

    /// `12.5 bar` or `12.5` without a unit.
    private func withUnit(_ value: Double?, _ unit: String) -> String {
        unit.isEmpty ? num(value) : "\(num(value))\u{00A0}\(e(unit))"
    }

    private func timeText(_ t: Timestamp) -> String {
        TimeText.sameDay(t, input.start) ? TimeText.clock(t) : "\(TimeText.dayMonth(t)) \(TimeText.clock(t))"
    }

    private mutating func header() {
        let duration = NumberText.duration(milliseconds: input.durationMilliseconds)
        let endText = TimeText.sameDay(input.start, Timestamp(millisecondsSinceEpoch: input.end.millisecondsSinceEpoch - 1))
            ? TimeText.hourMinute(input.end) : "\(TimeText.date(input.end)) \(TimeText.hourMinute(input.end))"
        out.append("<header>\n<div class=\"eyebrow\">Machine summary</div>\n")
        out.append("<h1>\(e(input.machine)) ")
        let raised = statistics.raised.count
        let open = statistics.openAtEnd.count
        if raised == 0 && open == 0 {
            out.append("<span class=\"pill ok\">No alerts</span>")
        } else {
            let critical = statistics.alerts.contains { $0.severity == "critical" }
            let count = max(raised, open)
            out.append("<span class=\"pill \(critical ? "crit" : "warn")\">\(count) alert\(count == 1 ? "" : "s")</span>")
        }
        out.append("</h1>\n")
        if !input.machineDescription.isEmpty { out.append("<p class=\"sub\">\(e(input.machineDescription))</p>\n") }
        out.append("<p class=\"period\">\(e(TimeText.date(input.start))) · \(e(TimeText.hourMinute(input.start)))–\(e(endText)) UTC · \(e(duration))</p>\n")
        out.append("</header>\n")
    }

    private mutating func kpi(_ key: String, _ value: String, _ detail: String) {
        out.append("<div class=\"kpi\"><div class=\"k\">\(e(key))</div><div class=\"v\">\(value)</div><div class=\"d\">\(detail)</div></div>\n")
    }

    private mutating func kpis() {
        out.append("<section class=\"kpis\">\n")
        if let s = statistics.scores {
            let hot = s.maximum >= s.threshold
            kpi("Peak score", "<span style=\"color:var(--\(hot ? "alert" : "ink"))\">\(num(s.maximum))</span>",
                "threshold \(num(s.threshold)) · p95 \(num(s.p95))")
            kpi("Above threshold", "\(NumberText.fixed(100 * s.fractionAboveThreshold, decimals: 1))\u{00A0}%",
                e(NumberText.duration(milliseconds: s.millisecondsAboveThreshold)) + " of scored time")
        } else {
            kpi("Peak score", "–", "no scores in this period")
            kpi("Above threshold", "–", "no scores in this period")
        }
        kpi("Alerts", "\(statistics.raised.count)",
            "raised · \(statistics.cleared.count) cleared · \(statistics.openAtEnd.count) open at end")
        let completeness = statistics.meanCompletenessPercent
        let totalBad = statistics.sensors.reduce(0) { $0 + $1.badReadings }
        kpi("Data completeness", "\(NumberText.fixed(completeness, decimals: 1))\u{00A0}%",
            "\(totalBad) bad reading\(totalBad == 1 ? "" : "s") · \(input.sensors.count) sensors")
        out.append("</section>\n")
    }

    // MARK: Charts

    private static let plotWidth: Double = 1000

    private func x(ofBucket i: Int, of count: Int, edge: Double = 0.5) -> Double {
        (Double(i) + edge) / Double(count) * Page.plotWidth
    }

    private func xPercent(_ t: Timestamp) -> Double {
        let d = Double(max(1, input.durationMilliseconds))
        return min(100, max(0, Double(t.millisecondsSinceEpoch - input.start.millisecondsSinceEpoch) / d * 100))
    }

    private func coordinate(_ v: Double) -> String { NumberText.fixed(v, decimals: 1) }

    /// A polyline through bucket centres of `run`, stretched to the run's outer edges.
    private func points(_ values: [Double], run: Range<Int>, count: Int, y: (Double) -> Double) -> [(Double, Double)] {
        var pts: [(Double, Double)] = []
        for i in run {
            let edge = i == run.lowerBound ? 0.0 : (i == run.upperBound - 1 ? 1.0 : 0.5)
            if run.count == 1 {
                pts.append((x(ofBucket: i, of: count, edge: 0), y(values[i])))
                pts.append((x(ofBucket: i, of: count, edge: 1), y(values[i])))
            } else {
                pts.append((x(ofBucket: i, of: count, edge: edge), y(values[i])))
            }
        }
        return pts
    }

    private func path(_ pts: [(Double, Double)], close: Bool = false) -> String {
        var d = ""
        for (k, p) in pts.enumerated() {
            d.append(k == 0 ? "M" : "L")
            d.append(coordinate(p.0))
            d.append(" ")
            d.append(coordinate(p.1))
        }
        if close { d.append("Z") }
        return d
    }

    /// Opens a chart: the plot wrapper and the `<svg>`, sized `height` CSS pixels (the viewBox's
    /// vertical unit is one pixel; horizontally it stretches to the card's width).
    private mutating func openChart(height: Double, label: String) {
        out.append("<figure class=\"chart\" style=\"margin:0\">\n<div class=\"plot\" style=\"height:\(Int(height))px\">\n")
        out.append("<svg class=\"chart-svg\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(Page.plotWidth)) \(Int(height))\" ")
        out.append("preserveAspectRatio=\"none\" style=\"height:\(Int(height))px\" role=\"img\" aria-label=\"\(e(label))\">\n")
        out.append("<title>\(e(label))</title>\n")
    }

    /// Horizontal grid lines at `ticks`, the alert periods shaded.
    private mutating func gridAndAlerts(ticks: [Double], y: (Double) -> Double, height: Double, shadeAlerts: Bool) {
        if shadeAlerts {
            for alert in statistics.alerts where alert.kind == "anomaly" {
                let a = xPercent(max(alert.started, input.start)) * Page.plotWidth / 100
                let b = xPercent(min(alert.ended ?? input.end, input.end)) * Page.plotWidth / 100
                out.append("<rect class=\"alert-span\" x=\"\(coordinate(a))\" y=\"0\" width=\"\(coordinate(max(2, b - a)))\" height=\"\(Int(height))\"/>\n")
            }
        }
        for t in ticks {
            let yy = coordinate(y(t))
            out.append("<line class=\"grid-line\" x1=\"0\" x2=\"\(Int(Page.plotWidth))\" y1=\"\(yy)\" y2=\"\(yy)\" vector-effect=\"non-scaling-stroke\"/>\n")
        }
    }

    /// Closes the svg, adds the y labels (HTML, so text keeps its size at any width) and the time axis.
    private mutating func closeChart(ticks: [Double], decimals: Int, unit: String, y: (Double) -> Double, height: Double) {
        out.append("</svg>\n")
        // Each label sits just above its grid line; a line too close to the top for that gets no
        // label (unless that would leave fewer than two). The highest label carries the unit.
        var labelled = ticks.filter { y($0) - 14 >= 0 && y($0) <= height }
        if labelled.count < 2 { labelled = ticks.filter { y($0) >= 0 && y($0) <= height } }
        for (k, t) in labelled.enumerated() {
            let line = y(t)
            let top = line - 14 >= 0 ? line - 14 : line + 1
            let label = NumberText.fixed(t, decimals: decimals) + (k == labelled.count - 1 && !unit.isEmpty ? "\u{00A0}" + unit : "")
            out.append("<span class=\"yl\" style=\"top:\(coordinate(top))px\">\(e(label))</span>\n")
        }
        out.append("</div>\n<div class=\"xaxis\">")
        let days = input.durationMilliseconds > 36 * 3_600_000
        let fmt: (Timestamp) -> String = { days ? TimeText.dayMonth($0) : TimeText.hourMinute($0) }
        out.append("<span class=\"first\" style=\"left:0%\">\(e(fmt(input.start)))</span>")
        for t in AxisTicks.times(start: input.start, end: input.end) {
            let p = xPercent(t)
            guard p > 12, p < 88 else { continue }
            out.append("<span style=\"left:\(NumberText.fixed(p, decimals: 2))%\">\(e(fmt(t)))</span>")
        }
        out.append("<span class=\"last\" style=\"left:100%\">\(e(fmt(input.end)))</span>")
        out.append("</div>\n</figure>\n")
    }

    private mutating func scoreSection() {
        out.append("<section class=\"card\">\n<div class=\"head\"><h2>Anomaly score</h2>")
        guard let series = input.scores, let stats = statistics.scores else {
            out.append("</div>\n<p class=\"empty\">No anomaly scores in this period")
            out.append(input.model == nil ? " (the machine is not calibrated yet).</p>\n" : ".</p>\n")
            out.append("</section>\n")
            return
        }
        out.append("<span class=\"facts\">mean <b>\(num(stats.mean))</b> · p95 <b>\(num(stats.p95))</b> · max <b>\(num(stats.maximum))</b></span></div>\n")
        out.append("<div class=\"legend\"><span><span class=\"sw\" style=\"background:var(--data)\"></span>score (highest per interval)</span>")
        out.append("<span><span class=\"sw\" style=\"background:repeating-linear-gradient(90deg,var(--alert) 0 6px,transparent 6px 9px);height:3px;vertical-align:3px\"></span>threshold \(num(series.threshold))</span>")
        out.append("<span><span class=\"sw\" style=\"background:var(--alert);opacity:.25\"></span>anomaly alert</span></div>\n")
        var buckets = Buckets(count: max(1, min(SummaryHTML.maximumBuckets, stats.count)), start: input.start, end: input.end)
        for p in series.points { buckets.add(p.score, at: p.time) }
        let height: Double = 150
        let top = max(stats.maximum, series.threshold) * 1.1
        let axis = AxisTicks.values(low: 0, high: top > 0 ? top : 1)
        let pad: Double = 6
        let y: (Double) -> Double = { v in pad + (1 - (v - axis.low) / (axis.high - axis.low)) * (height - 2 * pad) }
        openChart(height: height, label: "Anomaly score of \(input.machine) with threshold \(num(series.threshold))")
        gridAndAlerts(ticks: axis.ticks, y: y, height: height, shadeAlerts: true)
        for run in buckets.emptyRuns {
            out.append("<rect class=\"gap\" x=\"\(coordinate(x(ofBucket: run.lowerBound, of: buckets.count, edge: 0)))\" y=\"0\" width=\"\(coordinate(Double(run.count) / Double(buckets.count) * Page.plotWidth))\" height=\"\(Int(height))\"/>\n")
        }
        let threshold = y(series.threshold)
        out.append("<clipPath id=\"above-threshold\"><rect x=\"0\" y=\"0\" width=\"\(Int(Page.plotWidth))\" height=\"\(coordinate(threshold))\"/></clipPath>\n")
        for run in buckets.filledRuns {
            let line = points(buckets.maximum, run: run, count: buckets.count, y: y)
            guard let first = line.first, let last = line.last else { continue }
            let area = [(first.0, y(axis.low))] + line + [(last.0, y(axis.low))]
            out.append("<path class=\"score-area\" d=\"\(path(area, close: true))\"/>\n")
            let d = path(line)
            out.append("<path class=\"score-line\" d=\"\(d)\" vector-effect=\"non-scaling-stroke\"/>\n")
            out.append("<path class=\"score-hot\" d=\"\(d)\" clip-path=\"url(#above-threshold)\" vector-effect=\"non-scaling-stroke\"/>\n")
        }
        out.append("<line class=\"threshold\" x1=\"0\" x2=\"\(Int(Page.plotWidth))\" y1=\"\(coordinate(threshold))\" y2=\"\(coordinate(threshold))\" vector-effect=\"non-scaling-stroke\"/>\n")
        closeChart(ticks: axis.ticks, decimals: AxisTicks.decimals(forStep: axis.step), unit: "", y: y, height: height)
        out.append("</section>\n")
    }

    private mutating func sensorChart(_ series: SensorSeries, _ digest: SensorDigest) {
        let buckets = digest.chartBuckets()
        let height: Double = 112
        let bounded = series.normalHigh != nil
        var low = buckets.range?.low ?? (bounded ? series.normalLow : nil) ?? 0
        var high = buckets.range?.high ?? series.normalHigh ?? 1
        // A range without an upper end (a compensated speed: normal from the load prior's
        // minimum up) is shaded from its low end up, without stretching the axis down to it.
        if let n = series.normalLow, bounded { low = min(low, n) }
        if let n = series.normalHigh { high = max(high, n) }
        // The data's range with a margin (not widened to round ticks: the band gets the height).
        let span = high > low ? high - low : max(abs(high) * 0.05, 1)
        let nice = AxisTicks.values(low: low, high: high, target: 4)
        let axis = (ticks: nice.ticks.filter { $0 >= low - span * 0.1 && $0 <= high + span * 0.1 },
                    low: low - span * 0.1, high: high + span * 0.1, step: nice.step)
        let pad: Double = 6
        let y: (Double) -> Double = { v in pad + (1 - (v - axis.low) / (axis.high - axis.low)) * (height - 2 * pad) }
        let unitText = series.unit.isEmpty ? "" : " (\(series.unit))"
        let stateText = series.normalState.map { "; shaded: its normal range while \($0)" } ?? ""
        openChart(height: height, label: "\(series.name)\(unitText): minimum, mean and maximum per interval\(stateText)")
        if let lo = series.normalLow, let hi = series.normalHigh, hi >= lo {
            out.append("<rect class=\"normal\" x=\"0\" y=\"\(coordinate(y(hi)))\" width=\"\(Int(Page.plotWidth))\" height=\"\(coordinate(max(1, y(lo) - y(hi))))\"/>\n")
        } else if let lo = series.normalLow, series.normalHigh == nil, lo.isFinite {
            out.append("<rect class=\"normal\" x=\"0\" y=\"0\" width=\"\(Int(Page.plotWidth))\" height=\"\(coordinate(max(1, min(height, y(lo)))))\"/>\n")
        }
        gridAndAlerts(ticks: axis.ticks, y: y, height: height, shadeAlerts: true)
        for run in buckets.emptyRuns {
            out.append("<rect class=\"gap\" x=\"\(coordinate(x(ofBucket: run.lowerBound, of: buckets.count, edge: 0)))\" y=\"0\" width=\"\(coordinate(Double(run.count) / Double(buckets.count) * Page.plotWidth))\" height=\"\(Int(height))\"/>\n")
        }
        for run in buckets.filledRuns {
            let top = points(buckets.maximum, run: run, count: buckets.count, y: y)
            let bottom = points(buckets.minimum, run: run, count: buckets.count, y: y)
            out.append("<path class=\"band\" d=\"\(path(top + bottom.reversed(), close: true))\"/>\n")
            out.append("<path class=\"mean\" d=\"\(path(points(buckets.mean, run: run, count: buckets.count, y: y)))\" vector-effect=\"non-scaling-stroke\"/>\n")
        }
        closeChart(ticks: axis.ticks, decimals: AxisTicks.decimals(forStep: axis.step), unit: series.unit, y: y, height: height)
    }

    // MARK: Sections

    private mutating func alertsSection() {
        out.append("<section class=\"card\">\n<h2>Alerts</h2>\n")
        guard !statistics.alerts.isEmpty else {
            out.append("<p class=\"empty\">No alert was open during this period.</p>\n</section>\n")
            return
        }
        out.append("<div class=\"table-wrap\"><table class=\"stack\">\n<thead><tr><th>Severity</th><th>Kind</th><th>Started</th><th>Ended</th>")
        out.append("<th class=\"n\">Peak / threshold</th><th>Top sensors</th><th>Message</th></tr></thead>\n<tbody>\n")
        for alert in statistics.alerts {
            let pill = alert.severity == "critical" ? "crit" : "warn"
            out.append(alert.scoredBy.map { "<tr data-scored-by=\"\($0.rawValue)\">" } ?? "<tr>")
            out.append("<td data-label=\"Severity\"><div><span class=\"pill \(pill)\">\(e(alert.severity))</span></div></td>")
            out.append("<td data-label=\"Kind\"><div>\(e(alert.kind.replacingUnderscores()))</div></td>")
            out.append("<td class=\"ts\" data-label=\"Started\"><div>\(e(timeText(alert.started)))</div></td>")
            if let ended = alert.ended {
                let length = NumberText.duration(milliseconds: ended.millisecondsSinceEpoch - alert.started.millisecondsSinceEpoch)
                out.append("<td class=\"ts\" data-label=\"Ended\"><div>\(e(timeText(ended))) <span class=\"facts\">after \(e(length))</span></div></td>")
            } else {
                out.append("<td class=\"ts\" data-label=\"Ended\"><div><span class=\"pill crit\">open</span></div></td>")
            }
            if alert.kind == "anomaly" || alert.peakScore > 0 {
                let scorer = alert.scoredBy.map { " <span class=\"facts\">\($0 == .network ? "int8 network" : "window deviation")</span>" } ?? ""
                out.append("<td class=\"n\" data-label=\"Peak\"><div>\(num(alert.peakScore)) / \(num(alert.threshold))\(scorer)</div></td>")
            } else {
                out.append("<td class=\"n\" data-label=\"Peak\"><div>–</div></td>")
            }
            out.append("<td data-label=\"Sensors\"><div>")
            for (k, s) in alert.topSensors.prefix(3).enumerated() {
                if k > 0 { out.append("<br/>") }
                if let rise = s.risePerMinute, let limit = s.normalRisePerMinute {
                    // Judged by how fast it rose (a temperature's rise check), not by its level.
                    let perMinute = s.unit.isEmpty ? "/min" : " \(s.unit)/min"
                    out.append("<b>\(e(s.sensor))</b> \(withUnit(s.value, s.unit)) rising \(e(NumberText.short(rise) + perMinute)) <span class=\"facts ts\">(normal ≤ \(e(NumberText.short(limit))) at this speed)</span>")
                } else {
                    // What it was judged against, as the alert log's message quotes it: the
                    // calibration's range for the network, the range expected in the machine's
                    // state, or its normal range.
                    let range = s.judgedRange(network: alert.scoredBy == .network, separator: "–") { NumberText.short($0) }
                    out.append("<b>\(e(s.sensor))</b> \(withUnit(s.value, s.unit)) <span class=\"facts ts\">(\(e(range)))</span>")
                }
            }
            if alert.topSensors.isEmpty { out.append("–") }
            out.append("</div></td><td data-label=\"Message\"><div>\(e(alert.message))</div></td></tr>\n")
        }
        out.append("</tbody>\n</table></div>\n</section>\n")
    }

    private mutating func sensorsSection() {
        out.append("<h2 style=\"margin:18px 2px 10px\">Sensors</h2>\n<div class=\"grid\">\n")
        for ((series, stats), digest) in zip(zip(input.sensors, statistics.sensors), statistics.digests) {
            out.append("<section class=\"card\">\n<div class=\"head\"><h3>\(e(series.name))")
            if !series.unit.isEmpty { out.append(" <span class=\"unit\">\(e(series.unit))</span>") }
            out.append("</h3><span class=\"facts\">last <b>\(withUnit(stats.last, series.unit))</b></span></div>\n")
            out.append("<div class=\"facts\">mean <b>\(num(stats.mean))</b> · min <b>\(num(stats.minimum))</b> · max <b>\(num(stats.maximum))</b> · σ <b>\(num(stats.standardDeviation))</b> · ")
            let lowCompleteness = stats.completenessPercent < 95
            out.append("<span\(lowCompleteness ? " style=\"color:var(--warn)\"" : "")>\(stats.completenessPercent >= 100 ? "100" : NumberText.fixed(stats.completenessPercent, decimals: 1))% complete</span>")
            if let state = series.normalState, let low = series.normalLow, let high = series.normalHigh {
                out.append(" · normal <b>\(num(low))–\(num(high))</b> while \(e(state))")
            } else if let low = series.normalLow, series.normalHigh == nil {
                out.append(" · normal <b>≥ \(num(low))</b>")
            }
            out.append("</div>\n")
            sensorChart(series, digest)
            out.append("</section>\n")
        }
        out.append("</div>\n")
        out.append("<div class=\"legend\" style=\"margin:-4px 2px 14px\"><span><span class=\"sw\" style=\"background:var(--data)\"></span>mean</span>")
        out.append("<span><span class=\"sw\" style=\"background:var(--band);opacity:.3\"></span>min–max per interval</span>")
        out.append("<span><span class=\"sw\" style=\"background:var(--normal);opacity:.25\"></span>normal range (calibration)</span>")
        out.append("<span><span class=\"sw\" style=\"background:var(--alert);opacity:.2\"></span>anomaly alert</span>")
        out.append("<span><span class=\"sw\" style=\"background:var(--gap);opacity:.3\"></span>no data</span></div>\n")
    }

    private mutating func statisticsTable() {
        out.append("<section class=\"card\">\n<h2>Sensor statistics</h2>\n<div class=\"table-wrap\"><table class=\"sticky\">\n<thead><tr>")
        out.append("<th>Sensor</th><th>Unit</th><th class=\"n\">Count</th><th class=\"n\">Complete</th><th class=\"n\">Min</th>")
        out.append("<th class=\"n\">Mean</th><th class=\"n\">Max</th><th class=\"n\">Std dev</th><th class=\"n\">Last</th><th class=\"n\">Bad</th></tr></thead>\n<tbody>\n")
        for s in statistics.sensors {
            out.append("<tr><td><b>\(e(s.name))</b></td><td>\(e(s.unit))</td><td class=\"n\">\(s.count)</td>")
            out.append("<td class=\"n\">\(NumberText.fixed(s.completenessPercent, decimals: 1))%</td><td class=\"n\">\(num(s.minimum))</td>")
            out.append("<td class=\"n\">\(num(s.mean))</td><td class=\"n\">\(num(s.maximum))</td><td class=\"n\">\(num(s.standardDeviation))</td>")
            out.append("<td class=\"n\">\(num(s.last))</td><td class=\"n\">\(s.badReadings)</td></tr>\n")
        }
        out.append("</tbody>\n</table></div>\n</section>\n")
    }

    private mutating func dataQualitySection() {
        let events = input.dataQualityEvents.filter { $0.time >= input.start && $0.time < input.end }
        out.append("<section class=\"card\">\n<h2>Data quality &amp; model</h2>\n")
        if let model = input.model {
            out.append("<p class=\"facts\" style=\"margin:0 0 8px\">Model <b>\(e(model.name))</b>")
            if let calibrated = model.calibrated { out.append(", calibrated <b>\(e(TimeText.date(calibrated))) \(e(TimeText.hourMinute(calibrated))) UTC</b>") }
            if model.calibrationWindows > 0 { out.append(" on \(model.calibrationWindows) windows") }
            out.append(", threshold <b>\(num(model.threshold))</b>.</p>\n")
        } else {
            out.append("<p class=\"facts\" style=\"margin:0 0 8px\">No model: the machine is not calibrated, so it was not scored.</p>\n")
        }
        if events.isEmpty {
            out.append("<p class=\"empty\">No data-quality events in this period.</p>\n")
        } else {
            out.append("<ul class=\"events\">\n")
            for event in events {
                out.append("<li><span class=\"ts\">\(e(timeText(event.time)))</span> · <b>\(e(event.kind.replacingUnderscores()))</b>")
                if !event.subject.isEmpty { out.append(" · \(e(event.subject))") }
                out.append(" — \(e(event.message))</li>\n")
            }
            out.append("</ul>\n")
        }
        out.append("</section>\n")
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? " " : $0 })
    }
}
