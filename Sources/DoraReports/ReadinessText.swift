import DoraMetrics

/// The wording of rollback readiness shared by the Markdown report and the HTML page.
enum ReadinessText {
    /// `Never exercised (2): cart, search.`, or `(0): none.`
    static func list(_ title: String, _ names: [String]) -> String {
        "\(title) (\(names.count)): " + (names.isEmpty ? "none." : names.map(Formatting.cell).joined(separator: ", ") + ".")
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
