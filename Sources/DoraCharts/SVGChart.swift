/// Charts drawn as inline SVG, for reports that must open offline, in a mail client or in
/// print: no script, no font and no request of any kind.
///
/// Every chart has a visible title, axis labels with their units, a `role="img"` with an
/// `aria-label` and a `<title>`, and a `<title>` on each mark (a tooltip with its number).
/// Colours come from CSS classes (`series-0`, `series-1`, ..., `reference`), so the page's
/// style sheet chooses them for light and dark mode. Text is escaped: names are data.
public enum SVGChart {
    /// Lines over categories (weeks, say): one polyline per series, a gap where a value is
    /// missing, and an optional horizontal reference line (an objective).
    public static func lines(
        _ frame: ChartFrame, categories: [String], series: [ChartSeries], reference: ChartReference? = nil,
        format: @escaping (Double) -> String
    ) -> String {
        let top = niceMaximum(series.flatMap { $0.values.compactMap { $0 } } + (reference.map { [$0.value] } ?? []), frame.values)
        let plot = Plot(frame: frame, categories: categories, maximum: top, format: format)
        var body = plot.axes()
        for (s, item) in series.enumerated() {
            var path = ""
            var penDown = false
            for (i, value) in item.values.enumerated() {
                guard let value else {
                    penDown = false
                    continue
                }
                let (x, y) = (plot.x(i), plot.y(value))
                path += (penDown ? " L" : " M") + "\(fixed(x)) \(fixed(y))"
                penDown = true
            }
            body += "<path class=\"line series-\(s)\" d=\"\(path)\" fill=\"none\"/>"
            for (i, value) in item.values.enumerated() {
                guard let value else { continue }
                body += "<circle class=\"dot series-\(s)\" cx=\"\(fixed(plot.x(i)))\" cy=\"\(fixed(plot.y(value)))\" r=\"3\">"
                    + "<title>\(escape(item.name)), \(escape(categories[i])): \(escape(format(value)))</title></circle>"
            }
        }
        if let reference { body += plot.reference(reference) }
        body += plot.legend(series.map(\.name))
        return plot.svg(body)
    }

    /// Bars over categories: one bar per series side by side in each category (p50 and p95,
    /// say).
    public static func bars(
        _ frame: ChartFrame, categories: [String], series: [ChartSeries], format: @escaping (Double) -> String
    ) -> String {
        let top = niceMaximum(series.flatMap { $0.values.compactMap { $0 } }, frame.values)
        let plot = Plot(frame: frame, categories: categories, maximum: top, format: format)
        var body = plot.axes()
        let slot = plot.slotWidth * 0.8
        let width = slot / Double(max(series.count, 1))
        for (s, item) in series.enumerated() {
            for (i, value) in item.values.enumerated() {
                guard let value else { continue }
                let x = plot.x(i) - slot / 2 + Double(s) * width
                let y = plot.y(value)
                body += "<rect class=\"bar series-\(s)\" x=\"\(fixed(x))\" y=\"\(fixed(y))\" width=\"\(fixed(max(width - 1, 1)))\" "
                    + "height=\"\(fixed(plot.y(0) - y))\"><title>\(escape(item.name)), \(escape(categories[i])): \(escape(format(value)))</title></rect>"
            }
        }
        if series.count > 1 { body += plot.legend(series.map(\.name)) }
        return plot.svg(body)
    }

    /// Stacked bars over categories: each category's bar is the sum of the stacks (the phases
    /// of recovery, say), each stack a segment in order from the axis up.
    public static func stackedBars(
        _ frame: ChartFrame, categories: [String], stacks: [ChartSeries], format: @escaping (Double) -> String
    ) -> String {
        let sums = categories.indices.map { i in stacks.reduce(0.0) { $0 + ($1.values[i] ?? 0) } }
        let plot = Plot(frame: frame, categories: categories, maximum: niceMaximum(sums, frame.values), format: format)
        var body = plot.axes()
        let width = plot.slotWidth * 0.6
        for i in categories.indices {
            var base = 0.0
            for (s, stack) in stacks.enumerated() {
                guard let value = stack.values[i], value > 0 else { continue }
                let (y0, y1) = (plot.y(base), plot.y(base + value))
                body += "<rect class=\"bar series-\(s)\" x=\"\(fixed(plot.x(i) - width / 2))\" y=\"\(fixed(y1))\" "
                    + "width=\"\(fixed(width))\" height=\"\(fixed(y0 - y1))\"><title>\(escape(categories[i])), \(escape(stack.name)): "
                    + "\(escape(format(value)))</title></rect>"
                base += value
            }
        }
        body += plot.legend(stacks.map(\.name))
        return plot.svg(body)
    }

    /// The empirical cumulative distribution of `values`: the share of values at or below x,
    /// as a step line, with vertical markers (p50, p95) and an optional reference (an
    /// objective). The x axis is the value, the y axis the share from 0 to 100 %.
    public static func ecdf(
        _ frame: ChartFrame, values: [Double], markers: [ChartReference], reference: ChartReference? = nil,
        format: @escaping (Double) -> String
    ) -> String {
        // Values that come sorted (a report's samples, millions in a large log) are not copied.
        let sorted = zip(values, values.dropFirst()).allSatisfy { $0 <= $1 } ? values : values.sorted()
        let top = niceMaximum(Array(sorted.suffix(1)) + markers.map(\.value) + (reference.map { [$0.value] } ?? []), frame.values)
        let plot = Plot(frame: frame, categories: [], maximum: 1, format: { Plot.percent($0) })
        var body = plot.axes(xMaximum: top, xFormat: format)
        let n = Double(max(sorted.count, 1))
        var path = "M\(fixed(plot.xValue(0, top))) \(fixed(plot.y(0)))"
        // A step per distinct value; at most about one per pixel column, so that a large
        // sample does not make a large page.
        var last = -1.0
        for (i, v) in sorted.enumerated() where i == sorted.count - 1 || sorted[i + 1] != v {
            let x = plot.xValue(v, top)
            if x - last < 0.5 && i != sorted.count - 1 { continue }
            path += " H\(fixed(x)) V\(fixed(plot.y(Double(i + 1) / n)))"
            last = x
        }
        body += "<path class=\"line series-0\" d=\"\(path)\" fill=\"none\"><title>\(escape(frame.title)): \(sorted.count) values</title></path>"
        for (m, marker) in markers.enumerated() {
            let x = plot.xValue(marker.value, top)
            body += "<line class=\"marker marker-\(m)\" x1=\"\(fixed(x))\" x2=\"\(fixed(x))\" y1=\"\(fixed(plot.y(0)))\" y2=\"\(fixed(plot.y(1)))\">"
                + "<title>\(escape(marker.label)): \(escape(format(marker.value)))</title></line>"
                + "<text class=\"marker-label\" x=\"\(fixed(x + 3))\" y=\"\(fixed(plot.y(1) + 12 + Double(m) * 12))\">"
                + "\(escape(marker.label)) \(escape(format(marker.value)))</text>"
        }
        if let reference {
            let x = plot.xValue(reference.value, top)
            body += "<line class=\"reference\" x1=\"\(fixed(x))\" x2=\"\(fixed(x))\" y1=\"\(fixed(plot.y(0)))\" y2=\"\(fixed(plot.y(1)))\">"
                + "<title>\(escape(reference.label)): \(escape(format(reference.value)))</title></line>"
                + "<text class=\"reference-label\" x=\"\(fixed(x + 3))\" y=\"\(fixed(plot.y(0.05)))\">\(escape(reference.label))</text>"
        }
        return plot.svg(body)
    }

    /// A word-sized line without axes, for a table cell or a tile: its label and every value
    /// are in its `aria-label` and `<title>`.
    public static func sparkline(_ values: [Double?], label: String, format: @escaping (Double) -> String, width: Int = 96, height: Int = 24) -> String {
        let present = values.compactMap { $0 }
        let described = escape(label + ": " + values.map { $0.map(format) ?? "-" }.joined(separator: ", "))
        var svg = "<svg class=\"sparkline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(described)\"><title>\(described)</title>"
        guard let high = present.max(), values.count > 1 else { return svg + "</svg>" }
        let low = min(present.min() ?? 0, 0)
        let span = high - low > 0 ? high - low : 1
        let step = Double(width - 4) / Double(values.count - 1)
        var path = ""
        var penDown = false
        for (i, value) in values.enumerated() {
            guard let value else {
                penDown = false
                continue
            }
            let x = 2 + Double(i) * step
            let y = 2 + (1 - (value - low) / span) * Double(height - 4)
            path += (penDown ? " L" : " M") + "\(fixed(x)) \(fixed(y))"
            penDown = true
        }
        svg += "<path class=\"line series-0\" d=\"\(path)\" fill=\"none\"/>"
        if let i = values.lastIndex(where: { $0 != nil }), let value = values[i] {
            svg += "<circle class=\"dot series-0\" cx=\"\(fixed(2 + Double(i) * step))\" cy=\"\(fixed(2 + (1 - (value - low) / span) * Double(height - 4)))\" r=\"2\"/>"
        }
        return svg + "</svg>"
    }

    /// Durations whose multiples by four make readable ticks: seconds, minutes, hours, days.
    static let durationSteps: [Double] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 432_000,
        864_000, 1_728_000, 4_320_000, 8_640_000,
    ]

    /// The top of a value axis of four intervals: above the largest value, at a readable tick.
    static func niceMaximum(_ values: [Double], _ kind: ChartValues) -> Double {
        switch kind {
        case .plain:
            return niceMaximum(values)
        case .seconds:
            guard let high = values.max(), high > 0, high.isFinite else { return 1 }
            if let step = durationSteps.first(where: { $0 * 4 >= high }) { return step * 4 }
            return niceMaximum(values)
        }
    }

    /// The smallest "nice" number (1, 2 or 5 times a power of ten) at or above the largest
    /// value; 1 when there is nothing above 0.
    static func niceMaximum(_ values: [Double]) -> Double {
        guard let high = values.max(), high > 0, high.isFinite else { return 1 }
        var power = 1.0
        while power * 10 <= high { power *= 10 }
        while power > high { power /= 10 }
        for factor in [1.0, 2, 5, 10] where factor * power >= high { return factor * power }
        return 10 * power
    }

    /// Text escaped for SVG and HTML content and attributes.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A coordinate with one decimal: enough for a screen, and short.
    static func fixed(_ v: Double) -> String {
        let tenths = (v * 10).rounded()
        let whole = Int(tenths / 10)
        let rest = Int(abs(tenths.truncatingRemainder(dividingBy: 10)))
        return rest == 0 ? String(whole) : (tenths < 0 && whole == 0 ? "-" : "") + "\(whole).\(rest)"
    }
}

/// What frames a chart: its title, its axes' labels with their units, and what kind of
/// value its value axis holds (which decides where its ticks fall).
public struct ChartFrame: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var values: ChartValues
    public var width: Int
    public var height: Int

    public init(title: String, xLabel: String, yLabel: String, values: ChartValues = .plain, width: Int = 640, height: Int = 240) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.values = values
        self.width = width
        self.height = height
    }
}

/// The kind of value on a chart's value axis.
public enum ChartValues: Sendable {
    /// Counts and rates: ticks at 1, 2 or 5 times a power of ten.
    case plain
    /// Durations in seconds: ticks at whole minutes, hours or days where the values allow.
    case seconds
}

/// One named series of values, aligned with a chart's categories (nil: no value there).
public struct ChartSeries: Sendable {
    public var name: String
    public var values: [Double?]

    public init(name: String, values: [Double?]) {
        self.name = name
        self.values = values
    }
}

/// A value drawn across a chart: an objective, or a percentile's position.
public struct ChartReference: Sendable {
    public var label: String
    public var value: Double

    public init(label: String, value: Double) {
        self.label = label
        self.value = value
    }
}
