/// The plotting area of one chart: its margins, the mapping of values to coordinates, and
/// the pieces every chart shares (frame, axes, legend, reference line).
///
/// Invariant: y maps [0, maximum] onto the plot's height, bottom up; categories sit at the
/// centres of equal slots across its width.
struct Plot {
    let frame: ChartFrame
    let categories: [String]
    let maximum: Double
    let format: (Double) -> String

    let left = 64.0
    let right = 16.0
    let top = 34.0
    let bottom = 46.0

    var width: Double { Double(frame.width) - left - right }
    var height: Double { Double(frame.height) - top - bottom }
    var slotWidth: Double { width / Double(max(categories.count, 1)) }

    func x(_ category: Int) -> Double { left + (Double(category) + 0.5) * slotWidth }
    func y(_ value: Double) -> Double { top + height * (1 - min(max(value / maximum, 0), 1)) }
    /// x of a value on a value axis from 0 to `maximum`.
    func xValue(_ value: Double, _ maximum: Double) -> Double { left + width * min(max(value / maximum, 0), 1) }

    /// The y axis with five ticks, its label, and the x axis: category labels (thinned to
    /// about eight) or, with `xMaximum`, a value axis with five ticks.
    func axes(xMaximum: Double? = nil, xFormat: ((Double) -> String)? = nil) -> String {
        var out = ""
        for i in 0...4 {
            let v = maximum * Double(i) / 4
            let yy = SVGChart.fixed(y(v))
            out += "<line class=\"grid\" x1=\"\(SVGChart.fixed(left))\" x2=\"\(SVGChart.fixed(left + width))\" y1=\"\(yy)\" y2=\"\(yy)\"/>"
            out += "<text class=\"tick\" x=\"\(SVGChart.fixed(left - 6))\" y=\"\(yy)\" text-anchor=\"end\" dominant-baseline=\"middle\">"
                + "\(SVGChart.escape(format(v)))</text>"
        }
        let baseline = SVGChart.fixed(top + height + 16)
        if let xMaximum, let xFormat {
            for i in 0...4 {
                let v = xMaximum * Double(i) / 4
                out += "<text class=\"tick\" x=\"\(SVGChart.fixed(xValue(v, xMaximum)))\" y=\"\(baseline)\" text-anchor=\"middle\">"
                    + "\(SVGChart.escape(xFormat(v)))</text>"
            }
        } else {
            let every = max(1, (categories.count + 7) / 8)
            for (i, name) in categories.enumerated() where i % every == 0 {
                out += "<text class=\"tick\" x=\"\(SVGChart.fixed(x(i)))\" y=\"\(baseline)\" text-anchor=\"middle\">\(SVGChart.escape(name))</text>"
            }
        }
        out += "<line class=\"axis\" x1=\"\(SVGChart.fixed(left))\" x2=\"\(SVGChart.fixed(left + width))\" "
            + "y1=\"\(SVGChart.fixed(top + height))\" y2=\"\(SVGChart.fixed(top + height))\"/>"
        out += "<text class=\"axis-label\" x=\"\(SVGChart.fixed(left + width / 2))\" y=\"\(SVGChart.fixed(Double(frame.height) - 8))\" "
            + "text-anchor=\"middle\">\(SVGChart.escape(frame.xLabel))</text>"
        out += "<text class=\"axis-label\" transform=\"translate(14 \(SVGChart.fixed(top + height / 2))) rotate(-90)\" "
            + "text-anchor=\"middle\">\(SVGChart.escape(frame.yLabel))</text>"
        return out
    }

    /// A horizontal line at `reference.value`, labelled.
    func reference(_ reference: ChartReference) -> String {
        let yy = SVGChart.fixed(y(reference.value))
        return "<line class=\"reference\" x1=\"\(SVGChart.fixed(left))\" x2=\"\(SVGChart.fixed(left + width))\" y1=\"\(yy)\" y2=\"\(yy)\">"
            + "<title>\(SVGChart.escape(reference.label)): \(SVGChart.escape(format(reference.value)))</title></line>"
            + "<text class=\"reference-label\" x=\"\(SVGChart.fixed(left + width - 4))\" y=\"\(SVGChart.fixed(y(reference.value) - 4))\" "
            + "text-anchor=\"end\">\(SVGChart.escape(reference.label))</text>"
    }

    /// The series' names with their colours, along the top.
    func legend(_ names: [String]) -> String {
        var out = ""
        var x = left
        for (i, name) in names.enumerated() {
            out += "<rect class=\"bar series-\(i)\" x=\"\(SVGChart.fixed(x))\" y=\"22\" width=\"10\" height=\"10\"/>"
                + "<text class=\"legend\" x=\"\(SVGChart.fixed(x + 14))\" y=\"31\">\(SVGChart.escape(name))</text>"
            x += 24 + Double(name.count) * 6.5
        }
        return out
    }

    /// The whole `<svg>`: title, accessible name, and the body.
    func svg(_ body: String) -> String {
        let title = SVGChart.escape(frame.title)
        return "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(frame.width) \(frame.height)\" "
            + "role=\"img\" aria-label=\"\(title)\"><title>\(title)</title>"
            + "<text class=\"chart-title\" x=\"\(SVGChart.fixed(left))\" y=\"14\">\(title)</text>" + body + "</svg>"
    }

    /// A share (0 to 1) as a percentage.
    static func percent(_ share: Double) -> String {
        String(Int((share * 100).rounded())) + " %"
    }
}
