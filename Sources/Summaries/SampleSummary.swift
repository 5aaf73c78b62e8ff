import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A made-up but realistic hour of a centrifugal pump (five sensors at 1 s, a bearing fault
/// with an anomaly alert, a short Modbus outage on one sensor), for trying the report without
/// a plant: `edge-agent summarize --sample` and `make report-screenshot` render it.
public enum SampleSummary {
    /// The sample input for the hour starting at `start` (deterministic for a given `seed`);
    /// with `hours` > 1 the same story is stretched over a longer period (for benchmarks).
    public static func input(
        start: Timestamp = Timestamp(iso8601: "2026-11-29T01:00:00Z") ?? Timestamp(millisecondsSinceEpoch: 0), seed: UInt64 = 7,
        hours: Int = 1
    ) -> SummaryInput {
        let h = max(1, hours)
        var random = SplitMix64(seed: seed)
        let t0 = start.millisecondsSinceEpoch
        let seconds = 3600 * h
        let faultStart = 2280 * h, faultPeak = 2700 * h, faultEnd = 2940 * h  // 01:38 … 01:45 … 01:49
        let outage = (720 * h)..<(845 * h)  // 01:12:00 … 01:14:05: flow meter unit does not answer
        func fault(_ s: Int) -> Double {
            guard s >= faultStart, s < faultEnd else { return 0 }
            if s < faultPeak { return Double(s - faultStart) / Double(faultPeak - faultStart) }
            return Double(faultEnd - s) / Double(faultEnd - faultPeak)
        }
        func load(_ s: Int) -> Double {
            let phase: Double = Double(s) / Double(seconds) * 2 * Double.pi * 1.5
            return 0.5 + 0.5 * sin(phase)
        }
        // name, unit, normal range, base value, gain with load, gain with the fault, noise, gap.
        typealias Recipe = (name: String, unit: String, low: Double, high: Double, base: Double, load: Double, fault: Double, noise: Double, gap: Range<Int>?)
        let recipes: [Recipe] = [
            ("discharge_pressure", "bar", 5.6, 6.6, 6.0, 0.25, -0.35, 0.05, nil),
            ("flow", "m³/h", 38, 47, 41, 4, -3, 0.6, outage),
            ("motor_current", "A", 20.5, 24.5, 22, 1.5, 2.2, 0.25, nil),
            ("bearing_temperature", "°C", 52, 61, 55, 2, 11, 0.3, nil),
            ("vibration_rms", "mm/s", 1.2, 2.8, 1.9, 0.3, 3.4, 0.15, nil),
        ]
        var sensors: [SensorSeries] = []
        for recipe in recipes {
            var samples: [Sample] = []
            samples.reserveCapacity(seconds)
            for s in 0..<seconds {
                let time = Timestamp(millisecondsSinceEpoch: t0 + Int64(s) * 1000)
                if let gap = recipe.gap, gap.contains(s) {
                    samples.append(Sample(time: time, value: .nan, quality: .timeout))
                    continue
                }
                // Vibration grows with the square of the bearing damage.
                let damage: Double = recipe.name == "vibration_rms" ? fault(s) * fault(s) : fault(s)
                let noise: Double = recipe.name == "vibration_rms" ? abs(random.sampleGaussian()) : random.sampleGaussian()
                var value: Double = recipe.base + recipe.load * load(s)
                value += recipe.fault * damage + recipe.noise * noise
                samples.append(Sample(time: time, value: value, quality: .good))
            }
            sensors.append(SensorSeries(name: recipe.name, unit: recipe.unit, samples: samples, normalLow: recipe.low, normalHigh: recipe.high))
        }
        var points: [ScorePoint] = []
        for s in stride(from: 31, to: seconds, by: 2) {
            let noise: Double = abs(random.sampleGaussian()) * 0.35
            let score: Double = 1.1 + 0.25 * load(s) + noise + 5.2 * fault(s)
            points.append(ScorePoint(time: Timestamp(millisecondsSinceEpoch: t0 + Int64(s) * 1000), score: score))
        }
        let threshold = 3.0
        let alertStart = Timestamp(millisecondsSinceEpoch: t0 + Int64(2448 * h) * 1000)
        let alertEnd = Timestamp(millisecondsSinceEpoch: t0 + Int64(2862 * h) * 1000)
        let outageStart = t0 + Int64(725 * h) * 1000, outageEnd = t0 + Int64(845 * h) * 1000
        let alert = SummaryAlert(
            id: "pump-1-\(alertStart.millisecondsSinceEpoch)", kind: "anomaly", severity: "critical", started: alertStart,
            ended: alertEnd, peakScore: 6.41, threshold: threshold,
            topSensors: [
                SummaryAlertSensor(sensor: "bearing_temperature", value: 67.9, unit: "°C", contribution: 2.9, normalLow: 52, normalHigh: 61),
                SummaryAlertSensor(sensor: "vibration_rms", value: 5.6, unit: "mm/s", contribution: 2.1, normalLow: 1.2, normalHigh: 2.8),
                SummaryAlertSensor(sensor: "motor_current", value: 25.4, unit: "A", contribution: 0.8, normalLow: 20.5, normalHigh: 24.5),
            ],
            message: "pump-1 anomalous: bearing_temperature 67.9 °C (normal 52–61), vibration_rms 5.6 mm/s (normal 1.2–2.8)")
        let offline = SummaryAlert(
            id: "pump-1-\(outageStart)", kind: "unit_offline", severity: "warning",
            started: Timestamp(millisecondsSinceEpoch: outageStart), ended: Timestamp(millisecondsSinceEpoch: outageEnd),
            message: "Modbus unit plant-bus/7 (flow) does not answer: timeout")
        let events = [
            DataQualityEvent(time: Timestamp(millisecondsSinceEpoch: outageStart), kind: "unit_offline", subject: "plant-bus/7",
                             message: "flow meter stopped answering (timeout after 3 cycles)"),
            DataQualityEvent(time: Timestamp(millisecondsSinceEpoch: outageEnd), kind: "recovered", subject: "plant-bus/7",
                             message: "flow meter answers again"),
        ]
        let model = ModelInfo(name: "pump-1 model 3", calibrated: Timestamp(iso8601: "2026-11-27T14:20:00Z"), calibrationWindows: 4096, threshold: threshold)
        return SummaryInput(
            machine: "pump-1", machineDescription: "Cooling water pump, hall B", start: start,
            end: Timestamp(millisecondsSinceEpoch: t0 + Int64(seconds) * 1000), pollIntervalMilliseconds: 1000,
            sensors: sensors, scores: ScoreSeries(points: points, threshold: threshold), alerts: [offline, alert],
            dataQualityEvents: events, model: model)
    }
}

extension SplitMix64 {
    /// A standard normal value from two uniforms in (0, 1), each the middle of one of 2^53 equal
    /// cells (Box–Muller). Not EdgeCore's `gaussian()`, whose uniforms start at 0: the sample's
    /// numbers (and the report screenshot) stay exactly what they were before the generator
    /// moved to EdgeCore.
    mutating func sampleGaussian() -> Double {
        func uniformInOpenUnitInterval() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }
        return (-2 * log(uniformInOpenUnitInterval())).squareRoot() * cos(2 * .pi * uniformInOpenUnitInterval())
    }
}
