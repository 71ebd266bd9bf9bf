public import DoraEvents
#if canImport(Glibc)
import Glibc
#endif

/// Settings of a generated stream, with defaults that look like a mid-size organisation.
///
/// The stream is a pure function of these values: the same settings give the same bytes.
public struct GeneratorConfiguration: Sendable, Equatable {
    /// Seed of the pseudo-random sequence.
    public var seed: UInt64 = 42
    /// Exactly this many lines are written (valid events, duplicates and malformed lines).
    public var events: Int = 10_000
    /// Days the stream spans (the rate adapts so that `events` fit in them).
    public var days: Int = 90
    /// The first day (00:00 UTC).
    public var start = Timestamp(microseconds: Int64(Timestamp.daysFromCivil(year: 2026, month: 7, day: 1)) * Timestamp.microsecondsPerDay)
    public var services: Int = 24
    public var teams: Int = 6
    /// Share of lines that repeat an earlier event's id (exact redelivery).
    public var duplicateRate = 0.01
    /// Share of lines that are malformed (each class of docs/events.md "Bad input").
    public var malformedRate = 0.005
    /// Share of events carrying fields schema v1 does not know.
    public var unknownFieldRate = 0.05
    /// Share of events of an unknown `type`.
    public var unknownTypeRate = 0.002
    /// Events are emitted out of time order within windows of about this many events.
    public var shuffleWindow = 32

    public init() {}
}

/// A deterministic, seeded generator of realistic event streams of any size.
///
/// It walks day by day through many services and teams in production and staging, shipping
/// deploys with commits, and gives some deploys a recovery episode of every shape that
/// docs/metrics.md distinguishes: alert then rollback; auto-rollback without alert;
/// roll-forward with an unplanned hotfix; an incident left open; a rollback that failed then a
/// second that completed; a rollback never completed; an alert that resolves by itself. Around
/// them: unrelated and warning alerts, re-notified firings, resolved-only alerts, failed-status
/// deploys, commits shipped twice, commits newer than their deploy, unknown fields and types,
/// duplicates, malformed lines, and shuffled arrival. Memory stays bounded by one day's events.
public struct EventGenerator {
    public let configuration: GeneratorConfiguration

    public init(configuration: GeneratorConfiguration) {
        self.configuration = configuration
    }

    /// The service names, teams and tiers the stream uses (service i has team i % teams,
    /// except every 11th service, which names no team; services 0, 1, 2, 5 are tier-1).
    public static func serviceName(_ i: Int) -> String {
        let names = [
            "checkout", "payments", "search", "catalog", "cart", "auth", "profile", "orders", "shipping", "inventory",
            "pricing", "reviews", "notifications", "recommendations", "gateway", "billing", "ledger", "media", "analytics",
            "ads", "fraud", "loyalty", "support", "geo",
        ]
        return i < names.count ? names[i] : names[i % names.count] + "-\(i / names.count)"
    }

    public static func teamName(_ i: Int) -> String {
        let names = ["payments", "discovery", "platform", "fulfilment", "growth", "identity", "data", "core"]
        return i < names.count ? names[i] : "team-\(i)"
    }

    /// Writes the stream, one line (with its `\n`) per call of `sink`, in chunks.
    public func generate(_ sink: (UnsafeRawBufferPointer) -> Void) {
        var state = GeneratorState(configuration: configuration)
        state.run(sink)
    }

    /// The whole stream as an array of lines (for tests; use `generate` for large streams).
    public func lines() -> [String] {
        var out: [String] = []
        generate { chunk in
            var start = 0
            for i in 0..<chunk.count where chunk[i] == 0x0A {
                out.append(String(decoding: UnsafeRawBufferPointer(rebasing: chunk[start..<i]), as: UTF8.self))
                start = i + 1
            }
        }
        return out
    }
}

/// xoshiro256** seeded by SplitMix64: fast, deterministic, no global state.
struct SeededRandom: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    mutating func chance(_ p: Double) -> Bool { unit() < p }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    /// Log-normal with the given median, in microseconds; `spread` is sigma.
    mutating func lognormal(medianSeconds: Double, spread: Double) -> Int64 {
        let u1 = max(unit(), 1e-12)
        let u2 = unit()
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        return Int64(medianSeconds * exp(spread * z) * 1_000_000)
    }
}

