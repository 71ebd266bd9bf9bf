/// Durations as people write them in options and pipeline files: a number and a unit,
/// `250ms`, `300s`, `5m`, `2h`, `1d`, `1w` (fractions allowed: `1.5h`).
public enum DurationText {
    /// The duration, rounded to whole microseconds; nil when `text` is not one.
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s" && number.hasSuffix("m") { continue }
            guard let value = Double(number), value >= 0, value.isFinite, value * scale < 9e12 else { return nil }
            return .microseconds(Int64((value * scale * 1_000_000).rounded()))
        }
        return nil
    }
}
