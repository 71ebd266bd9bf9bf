import DoraEvents
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"),
        ("2026-07-01t12:00:00z", "2026-07-01T12:00:00Z"),
        ("2026-07-01T14:00:00.250+02:00", "2026-07-01T12:00:00.25Z"),
        ("2026-07-01T07:00:00-05:00", "2026-07-01T12:00:00Z"),
        ("2026-07-01T12:00:00.1234567899Z", "2026-07-01T12:00:00.123456Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
        ("2000-02-29T23:59:59+23:59", "2000-02-29T00:00:59Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
        ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z"),
    ])
    func validTimesParseAndPrintInTheirShortestUTCForm(input: String, expected: String) throws {
        let t = try #require(Timestamp.parse(rfc3339: input))
        #expect(t.rfc3339 == expected)
        #expect(Timestamp.parse(rfc3339: t.rfc3339) == t)
    }

    @Test(arguments: [
        "2026-07-01T12:00:00", "2026-07-01 12:00:00Z", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-07-01T24:00:00Z", "2026-07-01T12:60:00Z",
        "2026-07-01T12:00:60Z", "2026-07-01T12:00:00+24:00", "2026-07-01T12:00:00+01:60", "0000-01-01T00:00:00Z",
        "2026-07-01T12:00:00.Z", "2026-07-01T12:00:00+0100", "26-07-01T12:00:00Z", "2026-7-01T12:00:00Z",
        "2026-07-01T12:00:00Zjunk", "", "２０２６-07-01T12:00:00Z", "2026-07-01T12:00:00 Z",
    ])
    func malformedTimesAreRejected(input: String) {
        #expect(Timestamp.parse(rfc3339: input) == nil)
    }

    @Test func fractionalDigitsAreTruncatedNotRounded() throws {
        let t = try #require(Timestamp.parse(rfc3339: "2026-07-01T00:00:00.9999999Z"))
        #expect(t.microseconds % 1_000_000 == 999_999)
    }

    @Test func civilDateConversionRoundTripsOverFourCenturies() {
        for days in stride(from: -719_162, through: 2_932_896, by: 997) {
            let (y, m, d) = Timestamp.civilFromDays(days)
            #expect(Timestamp.daysFromCivil(year: y, month: m, day: d) == days)
        }
    }

    @Test func aPeriodBoundIsADayOrAnRFC3339Time() {
        #expect(Timestamp.parse(dateOrTime: "2026-07-02") == Timestamp.parse(rfc3339: "2026-07-02T00:00:00Z"))
        #expect(Timestamp.parse(dateOrTime: "2026-07-02T12:00:00+02:00") == Timestamp.parse(rfc3339: "2026-07-02T10:00:00Z"))
        #expect(Timestamp.parse(dateOrTime: "July 2") == nil)
        #expect(Timestamp.parse(dateOrTime: "2026-02-30") == nil)
    }
}
