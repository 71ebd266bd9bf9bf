import DoraTestSupport
import Foundation
import Testing

/// `report --format html`, opened in a real headless browser (Debian's chromium, which
/// scripts/test.sh installs) through scripts/check-html-page.py: what a reader gets, with and
/// without JavaScript, and that the page asks the network for nothing.
@Suite(.enabled(if: Doralog.isBuilt, "needs the doralog binary: run `swift build` first"))
struct HTMLReportTests {
    /// What the browser saw (scripts/check-html-page.py's JSON).
    struct Seen: Decodable {
        struct Chart: Decodable {
            var title: String?
            var label: String?
        }
        var requests: [String]
        var failed: [String?]
        var console: [String]
        var text: String
        var headings: [String]
        var charts: [Chart]
        var elements: [String: Int]
        var probe: String?
        var sortable: Bool
    }

    /// Opens `page` in chromium; the screenshot (when asked) goes to `screenshot`.
    func open(_ page: String, javaScript: Bool = true, screenshot: String? = nil) throws -> Seen {
        var arguments = [Repository.path("scripts/check-html-page.py"), page]
        if !javaScript { arguments.append("--no-javascript") }
        if let screenshot { arguments += ["--screenshot", screenshot, "--scale", "0.5"] }
        let result = try Repository.run("/usr/bin/env", ["python3"] + arguments)
        try #require(result.status == 0, "chromium (Debian's chromium; scripts/test.sh installs it): \(result.standardError)")
        return try JSONDecoder().decode(Seen.self, from: Data(result.standardOutput.utf8))
    }

    func expectSelfContained(_ seen: Seen, _ page: String) {
        let itself = URL(fileURLWithPath: page).standardizedFileURL.absoluteString
        #expect(seen.requests.map { URL(string: $0)?.standardizedFileURL.absoluteString } == [itself], "the page itself and nothing else")
        #expect(seen.failed.isEmpty && seen.console.isEmpty, "\(seen.failed) \(seen.console)")
    }

    @Test func theSamplesPageReadsTheSameWithAndWithoutJavaScriptAndAsksForNothing() throws {
        try withTemporaryDirectory { dir in
            let log = dir + "/log"
            #expect(try Doralog.run(["ingest", "--file", Repository.path("sample-events/events.jsonl"), "--log", log]).status == 0)
            let page = dir + "/report.html"
            let args = ["--log", log, "--from", "2026-08-15", "--to", "2026-09-29", "--compare", "previous", "--pipeline", Repository.path("pipelines/demo.yaml")]
            let made = try Doralog.run(["report"] + args + ["--output", page])
            #expect(made.status == 0, "\(made.standardError)")
            let json = try Doralog.run(["report", "--format", "json"] + args)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
            let totals = try #require(report["totals"] as? [String: Any])

            let output = Repository.path(".build/test-output")
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let seen = try open(page, screenshot: output + "/html-report.png")
            expectSelfContained(seen, page)
            #expect(seen.headings.starts(with: [
                "DORA report: production", "The five DORA metrics", "Weekly trends", "Recovery, phase by phase", "Rollbacks: automation",
                "Distributions", "Rollback readiness", "Teams, worst recovery p95 first", "Services",
            ]), "\(seen.headings)")
            // The numbers are the report's.
            let deploys = try #require((totals["deployments"] as? [String: Any])?["count"] as? Int)
            #expect(seen.text.contains("\(deploys) deploys"))
            let failed = try #require((totals["change_failure"] as? [String: Any])?["failed_changes"] as? Int)
            #expect(seen.text.contains("\(failed) of \(deploys) deploys"))
            #expect(seen.text.contains("Period 2026-08-15 to 2026-09-29 (45 days, UTC)"))
            #expect(seen.text.contains("Changes are against 2026-07-01 to 2026-08-15"))
            #expect(seen.text.contains("doralog report --log "), "the footer names the command")
            // Every chart is titled and named for assistive technology.
            #expect(seen.charts.count >= 10)
            #expect(seen.charts.allSatisfy { ($0.title ?? "").count > 3 && $0.title == $0.label }, "\(seen.charts)")
            // The pipeline's rollback SLO is drawn on the rollback charts.
            let html = String(decoding: try TestFiles.read(page), as: UTF8.self)
            #expect(html.contains("<title>objective tier1-rollback-p95: 5 min</title>"))
            #expect(seen.sortable, "the script only adds sorting")
            #expect(FileManager.default.fileExists(atPath: output + "/html-report.png"))

            // The SLO status is the backtest's at the period's end: the same SLO breaches and
            // regressions fire as `doralog slo --to` leaves firing.
            #expect(seen.headings.suffix(2) == ["The longest recoveries", "SLO status at the end of the period"])
            let backtest = try Doralog.run(["slo", "--log", log, "--pipeline", Repository.path("pipelines/demo.yaml"), "--to", "2026-09-29"])
            let transitions = try #require(try JSONSerialization.jsonObject(with: Data(backtest.standardOutput.utf8)) as? [[String: Any]])
            var last: [String: String] = [:]
            for t in transitions where ["SLOBreach", "SLORegression"].contains(t["alert"] as? String ?? "") {
                let scope = (t["scope"] as? [String: Any] ?? [:]).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")
                last["\(t["slo"]!) \(scope.isEmpty ? "all" : scope)"] = t["state"] as? String
            }
            let firingInBacktest = Set(last.filter { $0.value == "firing" }.keys)
            let firingOnPage = Set(seen.text.components(separatedBy: "\n").compactMap { line -> String? in
                let cells = line.components(separatedBy: "\t")
                return cells.count == 7 && cells[6].hasSuffix("firing") ? "\(cells[0]) \(cells[1])" : nil
            })
            #expect(!firingInBacktest.isEmpty && firingOnPage == firingInBacktest, "\(firingOnPage) against \(firingInBacktest)")
            #expect(seen.text.contains("Rollback alert firing: tier1-rollback-p95 RollbackStuck"))

            let plain = try open(page, javaScript: false)
            expectSelfContained(plain, page)
            #expect(plain.text == seen.text && plain.headings == seen.headings && plain.charts.count == seen.charts.count)
            #expect(!plain.sortable)
        }
    }

    @Test func namesWithMarkupQuotesRightToLeftTextAndEmojiRenderAsText() throws {
        try withTemporaryDirectory { dir in
            let names = [
                "<img src=x onerror=\"window.__doralog_probe=1\">", "</script><script>window.__doralog_probe=2</script>",
                "\"quoted\" & 'single'", "\u{05E9}\u{05DC}\u{05D5}\u{05DD}-team", "rocket \u{1F680}",
            ]
            var lines: [String] = []
            for (i, name) in names.enumerated() {
                lines.append(EventJSON.deploy("d-\(i)", at: "2026-07-0\(i + 1)T10:00:00Z", service: name + " svc", team: name, version: "v\(i)"))
                lines.append(EventJSON.rollback("r-\(i)-s", at: "2026-07-0\(i + 1)T10:05:00Z", rollbackID: "r-\(i)", status: "started", service: name + " svc", from: "v\(i)", trigger: i % 2 == 0 ? "auto" : nil))
                lines.append(EventJSON.rollback("r-\(i)-c", at: "2026-07-0\(i + 1)T10:09:00Z", rollbackID: "r-\(i)", status: "completed", service: name + " svc"))
            }
            try TestFiles.write(lines.joined(separator: "\n"), to: dir + "/events.jsonl")
            #expect(try Doralog.run(["ingest", "--file", dir + "/events.jsonl", "--log", dir + "/log"]).status == 0)
            let page = dir + "/report.html"
            #expect(try Doralog.run(["report", "--log", dir + "/log", "--output", page]).status == 0)
            let seen = try open(page)
            expectSelfContained(seen, page)
            #expect(seen.probe == nil, "no injected script ran")
            #expect(seen.elements["img"] == 0 && seen.elements["script"] == 1 && seen.elements["iframe"] == 0)
            for name in names {
                #expect(seen.text.contains(name), "\(name) is shown as text")
            }
        }
    }

    @Test(arguments: [0, 1, 5000])
    func aPageWithThisManyServicesRenders(services: Int) throws {
        try withTemporaryDirectory { dir in
            let log = dir + "/log"
            if services == 0 {
                _ = try Doralog.run(["ingest", "--file", "-", "--log", log], input: EventJSON.specExample.joined(separator: "\n"))
            } else if services == 1 {
                _ = try Doralog.run(["ingest", "--file", "-", "--log", log], input: EventJSON.specExample.joined(separator: "\n"))
            } else {
                let generated = try Doralog.run([
                    "generate", "--events", "40000", "--services", "\(services)", "--teams", "40", "--days", "30", "--start", "2025-03-01",
                    "--output", dir + "/events.jsonl",
                ])
                #expect(generated.status == 0)
                #expect(try Doralog.run(["ingest", "--file", dir + "/events.jsonl", "--log", log]).status == 0)
            }
            let page = dir + "/report.html"
            // Zero services: a period without events.
            let period = services == 0 ? ["--from", "2025-01-01", "--to", "2025-01-08"] : []
            let made = try Doralog.run(["report", "--log", log, "--format", "html", "--output", page] + period)
            #expect(made.status == 0, "\(made.standardError)")
            let seen = try open(page, javaScript: false)
            expectSelfContained(seen, page)
            if services == 0 {
                #expect(seen.text.contains("No service has an event of this environment in the period."))
            } else if services == 1 {
                #expect(seen.text.contains("checkout") && seen.text.contains("payments"))
            } else {
                let size = try FileManager.default.attributesOfItem(atPath: page)[.size] as? Int ?? 0
                #expect(size < 3 << 20, "\(size) bytes")
                // Rows of the services table (ten cells, tab-separated in the rendered text): one per
                // service the JSON report lists, and the heading.
                let json = try Doralog.run(["report", "--log", log, "--format", "json"])
                let listed = (try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])?["services"] as? [Any]
                let rows = seen.text.components(separatedBy: "\n").filter { $0.components(separatedBy: "\t").count == 10 }
                #expect((listed?.count ?? 0) > services * 9 / 10 && rows.count == (listed?.count ?? 0) + 1, "\(rows.count) rows")
            }
        }
    }
}
