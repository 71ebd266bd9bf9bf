import DoraCharts
import Foundation
import Testing

@Suite struct SVGChartTests {
    static let frame = ChartFrame(title: "Rollback time <per> week", xLabel: "ISO week (UTC)", yLabel: "duration (s)")

    @Test func everyChartHasItsTitleAnAccessibleNameAndItsAxisLabels() {
        let series = [ChartSeries(name: "p50", values: [60, nil, 120]), ChartSeries(name: "p95", values: [300, 200, 600])]
        let charts = [
            SVGChart.lines(Self.frame, categories: ["w1", "w2", "w3"], series: series, reference: ChartReference(label: "objective", value: 300), format: { "\(Int($0)) s" }),
            SVGChart.bars(Self.frame, categories: ["w1", "w2", "w3"], series: series, format: { "\(Int($0)) s" }),
            SVGChart.stackedBars(Self.frame, categories: ["w1", "w2", "w3"], stacks: series, format: { "\(Int($0)) s" }),
            SVGChart.ecdf(Self.frame, values: [5, 1, 3, 3, 9], markers: [ChartReference(label: "p50", value: 3)], format: { "\(Int($0)) s" }),
        ]
        for svg in charts {
            #expect(svg.hasPrefix("<svg class=\"chart\""))
            #expect(svg.contains("role=\"img\" aria-label=\"Rollback time &lt;per&gt; week\""))
            #expect(svg.contains("<title>Rollback time &lt;per&gt; week</title>"))
            #expect(svg.contains(">duration (s)</text>") && (svg.contains(">ISO week (UTC)</text>")))
            #expect(!svg.contains("<per>"), "text is escaped")
        }
        // Each mark's number is its tooltip; a missing value makes no mark and breaks the line.
        #expect(charts[0].contains("<title>p95, w3: 600 s</title>") && !charts[0].contains("p50, w2"))
        #expect(charts[0].components(separatedBy: " M").count - 1 == 3, "p50 is drawn in two pieces, p95 in one")
        #expect(charts[0].contains("<title>objective: 300 s</title>"))
        #expect(charts[2].contains("<title>w3, p95: 600 s</title>"))
    }

    @Test func theValueAxisEndsAtANiceNumberAboveTheLargestValue() {
        let svg = SVGChart.lines(Self.frame, categories: ["a", "b"], series: [ChartSeries(name: "x", values: [3.2, 7.1])], format: { String($0) })
        #expect(svg.contains(">10.0</text>") && svg.contains(">2.5</text>") && svg.contains(">0.0</text>"))
        let empty = SVGChart.bars(Self.frame, categories: [], series: [], format: { String($0) })
        #expect(empty.contains("<title>Rollback time &lt;per&gt; week</title>"), "an empty chart still renders")
    }

    @Test func aSparklineDescribesEveryValue() {
        let svg = SVGChart.sparkline([1, nil, 3], label: "team \"a\"", format: { String(Int($0)) })
        #expect(svg.contains("aria-label=\"team &quot;a&quot;: 1, -, 3\""))
        #expect(SVGChart.sparkline([], label: "none", format: { String($0) }).hasSuffix("</svg>"))
    }

    @Test func theCumulativeLineEndsAtOneHundredPercentAndStepsAtEachDistinctValue() {
        let svg = SVGChart.ecdf(Self.frame, values: [1, 2, 2, 4], markers: [], format: { String(Int($0)) })
        // Four values, three distinct: three steps, the last to the top of the plot.
        let path = svg.components(separatedBy: "d=\"")[1].components(separatedBy: "\"")[0]
        #expect(path.components(separatedBy: " H").count == 4)
        #expect(path.hasSuffix("V34"), "the plot's top is y = 34: \(path)")
    }
}

extension SVGChartTests {
    @Test func aDurationAxisTicksAtWholeMinutesHoursOrDays() {
        let hours = ChartFrame(title: "t", xLabel: "x", yLabel: "y", values: .seconds)
        let svg = SVGChart.lines(hours, categories: ["a"], series: [ChartSeries(name: "s", values: [70_000])], format: { "\(Int($0) / 3600) h" })
        // 70,000 s is under 24 h: ticks every 6 h.
        #expect(svg.contains(">24 h</text>") && svg.contains(">6 h</text>") && svg.contains(">18 h</text>"))
        let minutes = SVGChart.bars(hours, categories: ["a"], series: [ChartSeries(name: "s", values: [290])], format: { "\(Int($0) / 60) min" })
        // 290 s: ticks every 2 minutes, to 8.
        #expect(minutes.contains(">8 min</text>") && minutes.contains(">2 min</text>") && !minutes.contains(">10 min</text>"))
    }
}
