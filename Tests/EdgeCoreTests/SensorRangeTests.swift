import EdgeCore
import Testing

/// `SensorRange.excludes`, the one out-of-range test of the poller, the data alerts, scoring and
/// the offline commands: the `Double` the poller decodes and the `Float` a calibration table
/// holds of it get the same answer, also within a rounding of a limit.
@Suite struct SensorRangeTests {
    @Test("a Double and its Float are judged alike at a limit's rounding edge", arguments: [
        // (value, min, max, out of range)
        (16.000000016, nil, 16.0, false),  // 16 as a Float
        (16.001, nil, 16.0, true),
        (0.999999999, 1.0, nil, false),  // 1 as a Float
        (0.999, 1.0, nil, true),
        (0.1000000001, nil, 0.1, false),  // a limit no Float holds: both round to the same Float
        (0.10000001, nil, 0.1, true),
        (65535, 0.0, 400.0, true),
        (-32768, 0.0, 400.0, true),
        (400, 0.0, 400.0, false),
        (1e39, nil, 1e38, true),  // infinite as a Float, beyond any finite limit
    ] as [(Double, Double?, Double?, Bool)])
    func doubleAndFloatAgree(value: Double, minimum: Double?, maximum: Double?, outside: Bool) {
        let range = SensorRange(minimum: minimum, maximum: maximum)
        #expect(range.excludes(value) == outside)
        #expect(range.excludes(Float(value)) == outside)
    }

    @Test func nanAndNoLimitsAreNeverOutOfRange() {
        #expect(!SensorRange(minimum: 0, maximum: 1).excludes(Double.nan))
        #expect(!SensorRange(minimum: 0, maximum: 1).excludes(Float.outOfRangeMark))
        #expect(!SensorRange(minimum: nil, maximum: nil).excludes(65535.0))
    }

    @Test func theOutOfRangeMarkIsANaNToldApartFromOthers() {
        let copied = [Float.outOfRangeMark, .nan, 1][0]
        #expect(copied.isNaN && copied.isOutOfRangeMark)
        #expect(!Float.nan.isOutOfRangeMark && !Float(1).isOutOfRangeMark)
        #expect(!Float(Double.nan).isOutOfRangeMark)
    }
}
