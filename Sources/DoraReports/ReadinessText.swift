import DoraEvents
import DoraMetrics

/// The wording of rollback readiness shared by the Markdown report and the HTML page.
enum ReadinessText {
    /// `Never exercised (2): cart, search.`, or `(0): none.`
    static func list(_ title: String, _ names: [String]) -> String {
        "\(title) (\(names.count)): " + (names.isEmpty ? "none." : names.map(Formatting.cell).joined(separator: ", ") + ".")
    }

    /// `A service is stale when ... 30 d old or more.`
    static func staleRule(_ r: Readiness) -> String {
        "A service is stale when its last successful rollback, real or drill, in any environment, is "
            + "\(Formatting.duration(Double(r.objective) / 1_000_000)) old or more."
    }

    /// `Drills started in the period: 3 (1 completed, ...); success rate 50 %; duration p50 ..., p95 ....`
    static func drills(_ r: Readiness) -> String {
        let d = r.drills
        return "Drills started in the period: \(d.count) (\(d.completed) completed, \(d.failed) failed, \(d.inProgress) in progress); "
            + "success rate \(Formatting.percent(d.successRate)); duration p50 \(Formatting.duration(d.duration.p50)), "
            + "p95 \(Formatting.duration(d.duration.p95))."
    }

    /// One exercised service's row, as both reports show it (names not yet escaped).
    struct Row {
        var service, rollback, kind, environment, outcome, duration, daysSince, lastSuccess: String
        var isStale: Bool
    }

    /// The exercised services' rows, stale ones first.
    static func rows(_ r: Readiness) -> [Row] {
        staleFirst(r.services.filter { $0.lastExercise != nil }).map { s in
            let e = s.lastExercise!
            return Row(
                service: s.service, rollback: e.rollbackID, kind: e.isDrill ? "drill" : "real", environment: e.environment,
                outcome: outcome(e.outcome), duration: Formatting.duration(e.duration.map { Double($0) / 1_000_000 }),
                daysSince: Formatting.number(Readiness.days(r.asOf.microseconds - e.at)),
                lastSuccess: s.lastSuccess.map { Formatting.day(Timestamp(microseconds: $0)) } ?? "never", isStale: s.isStale)
        }
    }

    static func outcome(_ outcome: Exercise.Outcome) -> String {
        switch outcome {
        case .completed: return "completed"
        case .failed: return "failed"
        case .inProgress: return "in progress"
        }
    }

    /// Stale services first, then by name (UTF-8 bytes).
    static func staleFirst(_ services: [Readiness.Service]) -> [Readiness.Service] {
        services.sorted { a, b in a.isStale != b.isStale ? a.isStale : a.service.utf8.lexicographicallyPrecedes(b.service.utf8) }
    }
}
