@testable import Detection
import Simulator
import Testing

/// A compressor's duty prior describes what calibration leaves of each sensor after the
/// two-state compensation (its approach fit) and the discharge temperature's judging over the
/// oil (`LoadPriorLearning.preparedAsCalibration`). Learned on raw readings, it gave the discharge
/// temperature an elasticity of 0.255 per unit of duty on top of the approach, which already
/// follows the shorter loaded phases of a lower duty: a compressor calibrated at a high demand
/// and then run at a lower one alerted on its discharge temperature for as long as the demand
/// stayed low (the seed-8 export's compressor-1 at 1 s polls: 85.8 % of its normal rows).
@Suite struct DutyPriorTests {
    /// Compressor `seed`, polled every second, settled at load `calibratedLoad` and calibrated on
    /// its next 10 minutes with the shipped prior, then run 10 minutes more at that load and 50
    /// at `laterLoad`: the discharge temperature's highest contribution over those 60 minutes
    /// relative to the threshold, and the rows alerted.
    static func dischargeTemperaturePeak(seed: UInt64, calibratedLoad: Double, laterLoad: Double) throws -> (peak: Float, alerted: Int) {
        var compressor = SettledCompressorCalibration(seed: seed, stepMilliseconds: 1000, load: calibratedLoad, rows: 600)
        let names = compressor.names, detector = compressor.detector
        var row: [Double] = []
        let dischargeTemperature = try #require(names.firstIndex(of: "discharge_temperature"))
        try #require(detector.state?.approachRows != nil && detector.overReference?.sensor == dischargeTemperature,
                     "the approach is fitted and the discharge temperature judged over the oil")
        var stream = detector.makeStream()
        var peak: Float = 0, alerted = 0
        for step in 0..<3600 {
            if step == 600 { compressor.sim.setOperatingPoint(running: true, load: laterLoad) }
            _ = compressor.sim.step(into: &row)
            let (_, alert) = stream.process(row: row.map(Float.init))
            if alert { alerted += 1 }
            let contribution = stream.contributions[dischargeTemperature]
            if contribution.isFinite { peak = max(peak, contribution / detector.threshold) }
        }
        return (peak, alerted)
    }

    /// With the prior learned on raw readings, seeds 2–6 alerted on 2,003–2,864 of these rows,
    /// led by the discharge temperature on 585–2,679 of them.
    @Test("a compressor calibrated at a high demand: its discharge temperature stays inside its tolerance when the demand falls",
          arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func lowerDemandAfterAHighOne(seed: UInt64) throws {
        let result = try Self.dischargeTemperaturePeak(seed: seed, calibratedLoad: 0.7, laterLoad: 0.35)
        #expect(result.peak < 1, "seed \(seed): discharge temperature at \(result.peak)× the threshold (\(result.alerted) rows alerted)")
    }

    @Test("the shipped prior gives the discharge temperature over the oil no duty elasticity")
    func noDutyRoleOnTheDischargeTemperature() throws {
        let kind = try #require(LoadPrior.shipped?.kinds.first { $0.duty })
        let role = kind.roles.first { $0.sensor == "discharge_temperature" }
        #expect(role == nil || role!.elasticity == 0, "\(String(describing: role))")
    }
}
