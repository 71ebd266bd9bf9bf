public import DoraMetrics

/// One SLO as slo.md defines it: an objective for a percentile of one duration metric over a
/// trailing event-time window, with optional regression detection.
///
/// Invariants (checked where definitions are read): `percentileTenths` in 500...999,
/// `objective` and `window` positive, `minSamples` at least 1, regression significance in (0, 1)
/// and min increase at least 0.
public struct SLODefinition: Sendable, Equatable {
    /// Which services an SLO covers.
    public enum Selection: Sendable, Equatable, Hashable {
        case all
        case services([String])
        case team(String)
        case tier(String)
    }

    /// One evaluation per selected service, or one over their pooled samples.
    public enum Aggregation: String, Sendable, Equatable {
        case service, group
    }

    /// The regression test's settings.
    public struct Regression: Sendable, Equatable {
        public var significance: Double
        public var minIncrease: Double
        public init(significance: Double = 0.01, minIncrease: Double = 0.2) {
            self.significance = significance
            self.minIncrease = minIncrease
        }
    }

    public var name: String
    public var metric: DurationMetric
    public var selection: Selection = .all
    public var per: Aggregation = .service
    /// The percentile in tenths (950 is p95, 999 is p99.9): exact nearest ranks need no floats.
    public var percentileTenths = 950
    /// Microseconds.
    public var objective: Int64
    /// Microseconds. Default 28 days.
    public var window: Int64 = 28 * 86_400_000_000
    public var minSamples = 5
    /// nil: regression detection off.
    public var regression: Regression? = Regression()

    public init(name: String, metric: DurationMetric, objective: Int64) {
        self.name = name
        self.metric = metric
        self.objective = objective
    }

    /// The nearest rank of this percentile among `count` sorted values (1-based):
    /// ceil(percentile / 100 * count).
    public func rank(among count: Int) -> Int {
        max(1, (percentileTenths * count + 999) / 1000)
    }
}

/// What one evaluation covers: one service (`per: service`) or the SLO's whole selection.
public enum SLOScope: Sendable, Hashable {
    case service(String)
    case selection(SLODefinition.Selection)
}

/// Tiers and teams given to services by name or glob pattern (`checkout*`), in a pipeline file.
///
/// Invariant: rules apply in order; for each attribute the first rule that matches and sets it
/// wins. A service's team falls back to the one its events name.
public struct ServiceAssignments: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var pattern: String
        public var tier: String?
        public var team: String?
        public init(pattern: String, tier: String? = nil, team: String? = nil) {
            self.pattern = pattern
            self.tier = tier
            self.team = team
        }
    }

    public var rules: [Rule]

    public init(_ rules: [Rule] = []) {
        self.rules = rules
    }

    public func tier(of service: String) -> String? {
        rules.first { $0.tier != nil && Glob.matches($0.pattern, service) }?.tier
    }

    public func team(of service: String, fromEvents: String?) -> String? {
        rules.first { $0.team != nil && Glob.matches($0.pattern, service) }?.team ?? fromEvents
    }
}

/// Shell-style patterns: `*` any run of characters, `?` one character; anything else literal.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let t = Array(text.unicodeScalars)
        var (i, j) = (0, 0)
        var star = -1
        var mark = 0
        while j < t.count {
            if i < p.count && (p[i] == "?" || p[i] == t[j]) {
                i += 1
                j += 1
            } else if i < p.count && p[i] == "*" {
                star = i
                mark = j
                i += 1
            } else if star >= 0 {
                i = star + 1
                mark += 1
                j = mark
            } else {
                return false
            }
        }
        while i < p.count && p[i] == "*" { i += 1 }
        return i == p.count
    }
}
