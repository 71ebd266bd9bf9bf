import DoraTestSupport
import Foundation
import Testing

/// The endpoint as Prometheus, Grafana and operators see it: promtool-clean metrics of the
/// demo, a dashboard over series that exist, report periods, and readiness without a broker.
extension RunCommandTests {
    /// Starts the demo pipeline (embedded broker fed with sample-events/) on a free port and
    /// a fresh log, waits until every sample event is stored, and returns it running.
    /// - Parameter extra: YAML appended to the demo's pipeline file.
    func startDemo(in dir: String, extra: String = "", partitions: Int = 6) throws -> Running {
        var demo = String(decoding: try TestFiles.read(Repository.path("pipelines/demo.yaml")), as: UTF8.self) + extra
        demo = demo.replacingOccurrences(of: "partitions: 6", with: "partitions: \(partitions)")
        let port = TestBroker.freePort()
        demo = demo.replacingOccurrences(of: "127.0.0.1:9464", with: "127.0.0.1:\(port)")
            .replacingOccurrences(of: "feed: sample-events/", with: "feed: \(Repository.root)/sample-events/")
        try TestFiles.write(demo, to: dir + "/demo.yaml")
        let ingested = try Doralog.run(["ingest", "--file", Repository.path("sample-events/events.jsonl"), "--log", dir + "/file-log"])
        let stored = Int(ingested.standardOutput.split(separator: " ")[3].prefix { $0.isNumber }) ?? -1
        let run = try launchRun(["--pipeline", dir + "/demo.yaml", "--log", dir + "/log"], in: dir, port: port, readyWithin: 60)
        #expect(stored > 4000 && waitForStored(stored, at: run.http), "every sample event is live")
        return run
    }

    /// The families a text exposition declares, with a histogram's sample names.
    static func servedSeries(_ exposition: String) -> Set<String> {
        var names = Set<String>()
        for line in exposition.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            let name = String(parts[2])
            names.insert(name)
            if parts[3] == "histogram" { for suffix in ["_bucket", "_sum", "_count"] { names.insert(name + suffix) } }
        }
        return names
    }

    /// Every `expr` of a Grafana dashboard, at any depth.
    static func expressions(in value: Any) -> [String] {
        if let object = value as? [String: Any] {
            let own = (object["expr"] as? String).map { [$0] } ?? []
            return own + object.values.flatMap { expressions(in: $0) }
        }
        if let array = value as? [Any] { return array.flatMap { expressions(in: $0) } }
        return []
    }

    @Test(.enabled(if: installed("promtool"), "needs Debian's prometheus (promtool)"))
    func theDemosMetricsPassPromtoolAndTheDashboardNamesOnlyServedSeries() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let run = try startDemo(in: dir)
            // The lag gauges appear with the ingest loop's first report, about a second in.
            let metrics = HTTPTesting.poll(run.http + "/metrics", seconds: 15) { $0.body.contains("doralog_consumer_lag_messages{") }?.body ?? ""
            #expect(run.stop().status == 0)
            try TestFiles.write(metrics, to: dir + "/metrics.txt")
            let check = try Repository.run("/bin/sh", ["-c", "promtool check metrics < '\(dir)/metrics.txt'"])
            #expect(check.status == 0 && check.standardOutput.isEmpty && check.standardError.isEmpty,
                    "promtool: \(check.standardOutput)\(check.standardError)")
            // What the demo must show: histograms, exact percentiles, the breached SLO.
            #expect(metrics.contains("doralog_rollback_duration_seconds_bucket{service=\"auth\",team="))
            #expect(metrics.contains("doralog_rollback_duration_percentile_seconds{service=\"auth\""))
            #expect(metrics.contains("doralog_slo_firing{slo=\"tier1-rollback-p95\""))
            #expect(!metrics.contains("quantile="))

            let dashboard = try JSONSerialization.jsonObject(with: Data(try TestFiles.read(Repository.path("dashboards/doralog.json"))))
            let expressions = Self.expressions(in: dashboard).map {
                $0.replacingOccurrences(of: "$__rate_interval", with: "5m").replacingOccurrences(of: "$team", with: ".*")
            }
            #expect(expressions.count >= 20, "the dashboard's panels have their queries")
            let rules = "groups:\n  - name: dashboard\n    rules:\n" + expressions.enumerated().map { i, e in
                "      - record: dashboard:expression_\(i)\n        expr: '\(e.replacingOccurrences(of: "'", with: "''"))'\n"
            }.joined()
            try TestFiles.write(rules, to: dir + "/dashboard-rules.yml")
            let parsed = try Repository.run("promtool", ["check", "rules", dir + "/dashboard-rules.yml"])
            #expect(parsed.status == 0, "every dashboard expression parses: \(parsed.standardOutput)\(parsed.standardError)")
            let served = Self.servedSeries(metrics)
            let named = Set(expressions.flatMap { e in
                e.matches(of: /doralog_[a-z0-9_]+/).map { String($0.output) }
            })
            #expect(!named.isEmpty && named.isSubset(of: served), "not served: \(named.subtracting(served).sorted())")
        } }
    }

    @Test func theLiveReportTakesAPeriodAndComesAsMarkdownToo() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let run = try startDemo(in: dir)
            let period = HTTPTesting.request(run.http + "/report.json?from=2026-08-01&to=2026-09-01T12:00:00Z")?.body ?? ""
            let markdown = HTTPTesting.request(run.http + "/report.md")
            let bad = HTTPTesting.request(run.http + "/report.json?from=July")
            let empty = HTTPTesting.request(run.http + "/report.json?from=2026-09-01&to=2026-08-01")
            #expect(run.stop().status == 0)
            // The demo's pipeline file names a team (payments), so the report is asked with it too.
            let report = ["report", "--log", dir + "/log", "--pipeline", dir + "/demo.yaml"]
            let expected = try Doralog.run(report + ["--from", "2026-08-01", "--to", "2026-09-01T12:00:00Z", "--format", "json"])
            #expect(expected.status == 0 && period == expected.standardOutput, "the live report of a period is the report's")
            let expectedMarkdown = try Doralog.run(report + ["--format", "markdown"])
            #expect(markdown?.status == 200 && markdown?.body == expectedMarkdown.standardOutput)
            #expect(bad?.status == 400 && bad?.body.contains("from: 'July' is not a date") == true, "\(bad?.body ?? "")")
            #expect(empty?.status == 400 && empty?.body.contains("the period is empty") == true, "\(empty?.body ?? "")")
        } }
    }

    @Test func aRunWithARetentionReportsFromWhereItStartsAndAfterARestartToo() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            // The sample events end on September 28th: 56 days before, the retention starts on
            // August 3rd (the start of that day). The file ends with a late backfill of 200
            // older events, which arrive before or after the retention has moved past them
            // depending on how the appends fall into rounds, and a restart replays only from
            // the retention's start: what spans the start can differ (docs/run.md,
            // "Retention"), so the comparisons are made a week into it. One partition, so that
            // nothing else arrives out of the file's order.
            var run = try startDemo(in: dir, extra: "\nlive: {retention: 56d}\n", partitions: 1)
            let live = HTTPTesting.request(run.http + "/report.json")?.body ?? ""
            let later = HTTPTesting.request(run.http + "/report.json?from=2026-08-10&to=2026-09-29")?.body ?? ""
            let before = HTTPTesting.request(run.http + "/report.json?from=2026-07-01")
            let metrics = HTTPTesting.request(run.http + "/metrics")?.body ?? ""
            #expect(run.stop().status == 0)
            #expect(live.contains("\"from\": \"2026-08-03T00:00:00Z\""), "\(live.prefix(200))")
            #expect(before?.status == 400 && before?.body.contains("live.retention") == true, "\(before?.body ?? "")")
            #expect(metrics.contains("doralog_live_retention_start_seconds 1785715200"), "\(metrics.prefix(2000))")
            #expect(metrics.contains("# TYPE doralog_live_events_before_retention_total counter") && metrics.contains("doralog_live_retained_items "))
            // A week into the retention, the live report is the report of the whole log.
            let report = ["report", "--log", dir + "/log", "--pipeline", dir + "/demo.yaml", "--format", "json"]
            let expected = try Doralog.run(report + ["--from", "2026-08-10", "--to", "2026-09-29"])
            #expect(
                expected.status == 0 && later == expected.standardOutput,
                "the live report of a period in the retention is the report's: \(Self.firstDifference(later, expected.standardOutput))")
            // Restarted, it reads only the blocks that reach into the retention, and serves the same.
            let port = try #require(run.http.split(separator: ":").last.flatMap { UInt16($0) })
            run = try launchRun(["--pipeline", dir + "/demo.yaml", "--log", dir + "/log"], in: dir, port: port, readyWithin: 60)
            let again = HTTPTesting.request(run.http + "/report.json")?.body ?? ""
            let laterAgain = HTTPTesting.request(run.http + "/report.json?from=2026-08-10&to=2026-09-29")?.body ?? ""
            #expect(run.stop().status == 0)
            #expect(again.contains("\"from\": \"2026-08-03T00:00:00Z\""), "\(again.prefix(200))")
            #expect(laterAgain == expected.standardOutput, "\(Self.firstDifference(laterAgain, expected.standardOutput))")
        } }
    }

    /// The first line where two texts differ, with its number.
    static func firstDifference(_ a: String, _ b: String) -> String {
        let (x, y) = (a.split(separator: "\n", omittingEmptySubsequences: false), b.split(separator: "\n", omittingEmptySubsequences: false))
        guard let i = x.indices.first(where: { $0 >= y.count || x[$0] != y[$0] }) ?? (x.count < y.count ? x.count : nil) else { return "none" }
        return "line \(i + 1): \(i < x.count ? String(x[i]) : "(end)") | \(i < y.count ? String(y[i]) : "(end)")"
    }

    @Test func losingTheBrokerMakesReadyzAnswer503AndTheSourceGaugeZero() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            let run = try startRun(in: dir, brokers: brokers, slos: Self.slos)
            #expect(HTTPTesting.request(run.http + "/metrics")?.body.contains("doralog_source_connected 1\n") == true)
            broker.terminate()
            broker.waitUntilExit()
            let unready = HTTPTesting.poll(run.http + "/readyz", seconds: 60) { $0.status == 503 }
            #expect(unready?.body == "no Kafka broker is reachable\n", "\(unready?.body ?? "still ready")")
            #expect(HTTPTesting.request(run.http + "/metrics")?.body.contains("doralog_source_connected 0\n") == true)
            #expect(HTTPTesting.request(run.http + "/healthz")?.status == 200, "the process itself still answers")
            #expect(run.stop().status == 0, "a stop without brokers still ends cleanly")
        } }
    }
}
