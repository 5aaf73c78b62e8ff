import EdgeCore
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
        (Int64(1_583_748_873_123), "2020-03-09T10:14:33.123Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
        (Int64(4_102_444_799_999), "2099-12-31T23:59:59.999Z"),
    ])
    func formatsISO8601(ms: Int64, text: String) {
        #expect(Timestamp(millisecondsSinceEpoch: ms).iso8601 == text)
        #expect(Timestamp(iso8601: Substring(text)) == Timestamp(millisecondsSinceEpoch: ms))
    }

    @Test func parsesVariants() {
        #expect(Timestamp(iso8601: "2020-03-09 10:14:33")?.millisecondsSinceEpoch == 1_583_748_873_000)
        #expect(Timestamp(iso8601: "2020-03-09T10:14:33.5Z")?.millisecondsSinceEpoch == 1_583_748_873_500)
        #expect(Timestamp(iso8601: "2020-03-09")?.millisecondsSinceEpoch == 1_583_712_000_000)
        #expect(Timestamp(iso8601: "2020-13-09") == nil)
        #expect(Timestamp(iso8601: "yesterday") == nil)
        #expect(Timestamp(iso8601: "2020-03-09T10:14:33+02:00") == nil)
    }

    @Test func roundTripsEveryDayForFourCenturies() {
        // Independent check of the civil-date arithmetic: consecutive days never skip or repeat.
        var previous = Timestamp.civilFromDays(-146_097)
        for day in Int64(-146_096)...Int64(146_097) {
            let date = Timestamp.civilFromDays(day)
            #expect(Timestamp.daysFromCivil(date.year, date.month, date.day) == day)
            let advanced = date.day == previous.day + 1 || (date.day == 1 && (date.month == previous.month % 12 + 1))
            if !advanced { Issue.record("day \(day): \(previous) → \(date)") }
            previous = date
        }
    }
}
