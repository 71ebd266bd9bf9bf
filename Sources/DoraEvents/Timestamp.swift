#if canImport(Glibc)
import Glibc
#endif

/// An instant in event time: whole microseconds since 1970-01-01T00:00:00Z (UTC).
///
/// Invariant: every time doralog compares or subtracts is one of these, an integer, so no
/// microsecond is lost to floating point (docs/events.md). Parsing truncates extra fractional
/// digits toward the past; formatting is RFC 3339 in UTC, in its shortest form.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Microseconds since the Unix epoch; negative before 1970.
    public var microseconds: Int64

    /// Wraps a count of microseconds since the Unix epoch.
    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microseconds < rhs.microseconds
    }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }

    public static let microsecondsPerSecond: Int64 = 1_000_000
    public static let microsecondsPerDay: Int64 = 86_400 * 1_000_000

    /// Seconds from `earlier` to `self`, as the floating-point seconds reports print.
    public func seconds(since earlier: Timestamp) -> Double {
        Double(microseconds - earlier.microseconds) / 1_000_000
    }

    /// This instant moved by a whole number of microseconds.
    public func advanced(byMicroseconds delta: Int64) -> Timestamp {
        Timestamp(microseconds: microseconds + delta)
    }

    /// The start (00:00 UTC) of this instant's day.
    public var startOfDay: Timestamp {
        let day = Self.floorDiv(microseconds, Self.microsecondsPerDay)
        return Timestamp(microseconds: day * Self.microsecondsPerDay)
    }

    public var description: String { rfc3339 }

    // MARK: - Parsing

    /// Parses `YYYY-MM-DD(T|t)hh:mm:ss[.digits](Z|z|+hh:mm|-hh:mm)` (docs/events.md).
    ///
    /// Years 0001-9999, real calendar days, hours 00-23, minutes and seconds 00-59, offsets up
    /// to 23:59. Returns nil for anything else.
    /// - Complexity: O(n) in the length of the text, no allocation.
    public static func parse(rfc3339 bytes: UnsafeRawBufferPointer) -> Timestamp? {
        let n = bytes.count
        var i = 0
        @inline(__always) func digits(_ count: Int) -> Int? {
            guard i + count <= n else { return nil }
            var value = 0
            for k in 0..<count {
                let d = bytes[i + k] &- 0x30
                guard d <= 9 else { return nil }
                value = value * 10 + Int(d)
            }
            i += count
            return value
        }
        @inline(__always) func expect(_ a: UInt8, _ b: UInt8? = nil) -> Bool {
            guard i < n, bytes[i] == a || bytes[i] == b else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), year >= 1, expect(0x2D),
            let month = digits(2), (1...12).contains(month), expect(0x2D),
            let day = digits(2), day >= 1, day <= daysIn(month: month, year: year),
            expect(0x54, 0x74),
            let hour = digits(2), hour <= 23, expect(0x3A),
            let minute = digits(2), minute <= 59, expect(0x3A),
            let second = digits(2), second <= 59
        else { return nil }
        var micros: Int64 = 0
        if i < n, bytes[i] == 0x2E {  // '.'
            i += 1
            var count = 0
            while i < n, bytes[i] &- 0x30 <= 9 {
                if count < 6 { micros = micros * 10 + Int64(bytes[i] - 0x30) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 6) { micros *= 10 }
        }
        guard i < n else { return nil }
        let zone = bytes[i]
        i += 1
        var offsetSeconds = 0
        switch zone {
        case 0x5A, 0x7A:  // Z z
            break
        case 0x2B, 0x2D:  // + -
            guard let oh = digits(2), oh <= 23, expect(0x3A), let om = digits(2), om <= 59 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (zone == 0x2B ? 1 : -1)
        default:
            return nil
        }
        guard i == n else { return nil }
        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return Timestamp(microseconds: seconds * microsecondsPerSecond + micros)
    }

    /// Parses a string in the RFC 3339 form above.
    public static func parse(rfc3339 text: String) -> Timestamp? {
        var text = text
        return text.withUTF8 { parse(rfc3339: UnsafeRawBufferPointer($0)) }
    }

    /// Parses a period bound as the command line and `/report.json` take it: `YYYY-MM-DD`
    /// (00:00 UTC of that day) or an RFC 3339 time.
    public static func parse(dateOrTime text: String) -> Timestamp? {
        if let t = parse(rfc3339: text) { return t }
        return text.utf8.count == 10 ? parse(rfc3339: text + "T00:00:00Z") : nil
    }

    // MARK: - Formatting

    /// RFC 3339 in UTC ending in `Z`, with fractional seconds only when not whole and
    /// without trailing zeros (the report contract's "shortest form").
    public var rfc3339: String {
        let seconds = Self.floorDiv(microseconds, Self.microsecondsPerSecond)
        var fraction = microseconds - seconds * Self.microsecondsPerSecond
        let days = Self.floorDiv(seconds, 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civilFromDays(Int(days))
        var out = ""
        out.reserveCapacity(32)
        func pad(_ value: Int, _ width: Int) {
            let s = String(value)
            if s.count < width { out += String(repeating: "0", count: width - s.count) }
            out += s
        }
        pad(year, 4); out += "-"; pad(month, 2); out += "-"; pad(day, 2); out += "T"
        pad(secondOfDay / 3600, 2); out += ":"; pad(secondOfDay / 60 % 60, 2); out += ":"
        pad(secondOfDay % 60, 2)
        if fraction != 0 {
            var width = 6
            while fraction % 10 == 0 { fraction /= 10; width -= 1 }
            out += "."
            pad(Int(fraction), width)
        }
        out += "Z"
        return out
    }

    // MARK: - Calendar arithmetic (proleptic Gregorian, days since 1970-01-01)

    static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since 1970-01-01.
    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `a / b` rounded toward negative infinity (the day of a time before 1970, say).
    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
