import DoraTestSupport
import Foundation
import Testing

/// `report --compare`, `--series` and `--format csv` through the command line, with golden
/// files from sample-events/ (record them anew with DORALOG_RECORD_GOLDEN=1).
@Suite(.enabled(if: Doralog.isBuilt, "needs the doralog binary: run `swift build` first"))
struct ReportComparisonTests {
    static let golden = Repository.path("Tests/DoraCLITests/Golden")
    static var recording: Bool { ProcessInfo.processInfo.environment["DORALOG_RECORD_GOLDEN"] == "1" }

    /// The sample events in a log of their own.
    func sampleLog(_ dir: String) throws -> String {
        let log = dir + "/log"
        #expect(try Doralog.run(["ingest", "--file", Repository.path("sample-events/events.jsonl"), "--log", log]).status == 0)
        return log
    }

    /// Compares `text` with the golden file `name`, or writes it when recording.
    func expectGolden(_ text: String, _ name: String) throws {
        let path = Self.golden + "/" + name
        if Self.recording {
            try FileManager.default.createDirectory(atPath: Self.golden, withIntermediateDirectories: true)
            try TestFiles.write(text, to: path)
            return
        }
        let expected = String(decoding: try TestFiles.read(path), as: UTF8.self)
        if text != expected {
            // Lines by any line end: "\r\n" (the CSV's) is one Character, not a "\n".
            let got = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            let want = expected.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            let line = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want.count)
            Issue.record("\(name) differs from the golden file at line \(line + 1): got \(got.count > line ? String(got[line]) : "<end>"), expected \(want.count > line ? String(want[line]) : "<end>") (DORALOG_RECORD_GOLDEN=1 records it anew)")
        }
    }

    /// RFC 4180 fields of a CSV text (quoted fields may hold commas, quotes and line breaks).
    func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.unicodeScalars.append(chars.removeFirst()) } else { quoted = false }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\r" && chars.first == "\n" {
                chars.removeFirst()
                row.append(field)
                rows.append(row)
                (row, field) = ([], "")
            } else {
                field.unicodeScalars.append(c)
            }
        }
        return rows
    }

    @Test func theCSVOfTheSampleMatchesItsGoldenFileAndEveryRowHasSevenFields() throws {
        try withTemporaryDirectory { dir in
            let log = try sampleLog(dir)
            let result = try Doralog.run([
                "report", "--log", log, "--format", "csv", "--from", "2026-09-01", "--to", "2026-09-29", "--compare", "previous",
            ])
            #expect(result.status == 0)
            try expectGolden(result.standardOutput, "sample-report.csv")
            let rows = parseCSV(result.standardOutput)
            #expect(rows.first == ["period_from", "period_to", "scope_kind", "scope", "metric", "statistic", "value"])
            #expect(rows.allSatisfy { $0.count == 7 })
            // The weekly series (the default for csv) covers the period, and its first week's
            // deploys are what `report` says of that week alone.
            let weekDeploys = rows.first {
                $0[0] == "2026-09-01T00:00:00Z" && $0[1] == "2026-09-07T00:00:00Z" && $0[2] == "total" && $0[4] == "deployments" && $0[5] == "count"
            }
            let alone = try Doralog.run(["report", "--log", log, "--format", "json", "--from", "2026-09-01", "--to", "2026-09-07"])
            let totals = (try JSONSerialization.jsonObject(with: Data(alone.standardOutput.utf8)) as? [String: Any])?["totals"] as? [String: Any]
            #expect(weekDeploys?[6] == ((totals?["deployments"] as? [String: Any])?["count"] as? Int).map(String.init))
        }
    }

    @Test func theJSONSeriesAndComparisonOfTheSampleMatchTheirGoldenFile() throws {
        try withTemporaryDirectory { dir in
            let log = try sampleLog(dir)
            let result = try Doralog.run([
                "report", "--log", log, "--format", "json", "--from", "2026-09-01", "--to", "2026-09-29", "--compare", "previous",
                "--series", "week",
            ])
            #expect(result.status == 0)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
            let blocks: [String: Any] = ["series": report["series"] as Any, "comparison": report["comparison"] as Any]
            let text = String(decoding: try JSONSerialization.data(withJSONObject: blocks, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self)
            try expectGolden(text + "\n", "sample-series-and-comparison.json")
            // The comparison's totals are the report of the comparison period, by the same code.
            let previous = try Doralog.run(["report", "--log", log, "--format", "json", "--from", "2026-08-04", "--to", "2026-09-01"])
            let alone = try #require(try JSONSerialization.jsonObject(with: Data(previous.standardOutput.utf8)) as? [String: Any])
            let comparison = try #require(report["comparison"] as? [String: Any])
            #expect(NSDictionary(dictionary: comparison["totals"] as! [String: Any]).isEqual(to: alone["totals"] as! [String: Any]))
            #expect(NSArray(array: comparison["teams"] as! [Any]).isEqual(to: alone["teams"] as! [Any]))
            #expect(NSDictionary(dictionary: comparison["period"] as! [String: Any]).isEqual(to: alone["period"] as! [String: Any]))
        }
    }

    @Test func aMalformedComparisonIsAUsageErrorAndAnEmptyOneSaysSo() throws {
        try withTemporaryDirectory { dir in
            let log = try sampleLog(dir)
            for bad in ["2026-07-01", "2026-07-10..2026-07-01", "last month..now", "2026-07-01..", "previous..2026-07-01"] {
                let result = try Doralog.run(["report", "--log", log, "--compare", bad])
                #expect(result.status == 2, "\(bad)")
                #expect(result.standardError.hasPrefix("doralog: error:") && result.standardError.contains("--compare"), "\(result.standardError)")
                #expect(result.standardError.split(separator: "\n").count == 1, "one line: \(result.standardError)")
            }
            let empty = try Doralog.run(["report", "--log", log, "--format", "json", "--compare", "2025-01-01..2025-02-01"])
            #expect(empty.status == 0)
            #expect(empty.standardError.contains("no data for the comparison period"))
            let comparison = (try JSONSerialization.jsonObject(with: Data(empty.standardOutput.utf8)) as? [String: Any])?["comparison"] as? [String: Any]
            #expect(comparison?["no_data"] as? Bool == true && (comparison?["changes"] as? [Any])?.isEmpty == true)
            let markdown = try Doralog.run(["report", "--log", log, "--format", "markdown", "--compare", "2025-01-01..2025-02-01"])
            #expect(markdown.standardOutput.contains("No data for the comparison period"))
        }
    }

    @Test func markdownGainsTheComparisonColumnAndSection() throws {
        try withTemporaryDirectory { dir in
            let log = try sampleLog(dir)
            let result = try Doralog.run([
                "report", "--log", log, "--format", "markdown", "--from", "2026-08-15", "--to", "2026-09-29", "--compare", "2026-07-01..2026-08-15",
            ])
            #expect(result.status == 0)
            #expect(result.standardOutput.contains("| key | figure | band | vs 2026-07-01 to 2026-08-15 |"))
            #expect(result.standardOutput.contains("## Against 2026-07-01 to 2026-08-15"))
            #expect(result.standardOutput.contains("| rollbacks.duration.p95 | "))
            let plain = try Doralog.run(["report", "--log", log, "--format", "markdown"])
            #expect(!plain.standardOutput.contains(" vs ") && !plain.standardOutput.contains("## Against"))
        }
    }

    @Test func csvQuotesNamesAsRFC4180SaysAndTheyComeBackExactly() throws {
        try withTemporaryDirectory { dir in
            let names = ["pay,ments", "say \"hi\"", "two\r\nlines", "\u{05E9}\u{05DC}\u{05D5}\u{05DD} team", "rocket \u{1F680}", "=1+1"]
            let lines = names.enumerated().map { i, team in
                EventJSON.deploy("d-\(i)", at: "2026-07-01T10:00:00Z", service: "svc-\(i)", team: team)
            }
            try TestFiles.write(lines.joined(separator: "\n"), to: dir + "/events.jsonl")
            #expect(try Doralog.run(["ingest", "--file", dir + "/events.jsonl", "--log", dir + "/log"]).status == 0)
            let result = try Doralog.run(["report", "--log", dir + "/log", "--output", dir + "/r.csv"])
            #expect(result.status == 0)
            let text = String(decoding: try TestFiles.read(dir + "/r.csv"), as: UTF8.self)
            let rows = parseCSV(text)
            #expect(rows.allSatisfy { $0.count == 7 })
            let teams = Set(rows.filter { $0[2] == "team" }.map { $0[3] })
            #expect(teams == Set(names))
            #expect(text.hasSuffix("\r\n") && !text.contains("\n\n"))
        }
    }
}

/// `report --explain`: the samples behind a number recompute it.
@Suite(.enabled(if: Doralog.isBuilt, "needs the doralog binary: run `swift build` first"))
struct ReportExplainTests {
    /// The value at a dotted path of a JSON object.
    func value(_ object: [String: Any], _ path: String) -> Any? {
        var current: Any? = object
        for key in path.split(separator: ".") { current = (current as? [String: Any])?[String(key)] }
        return current
    }

    @Test func recomputingANumberFromItsListedSamplesAloneGivesTheReportsNumber() throws {
        try withTemporaryDirectory { dir in
            let log = dir + "/log"
            #expect(try Doralog.run(["ingest", "--file", Repository.path("sample-events/events.jsonl"), "--log", log]).status == 0)
            let period = ["--from", "2026-07-01", "--to", "2026-09-01"]
            let json = try Doralog.run(["report", "--log", log, "--format", "json"] + period)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
            let metrics = [
                "recovery.p95", "recovery.p50", "recovery.phases.act.p50", "recovery.phases.detect.p95", "lead_time.p50", "lead_time.p95",
                "change_failure.rate", "rework.rate", "time_to_restore.p95", "rollbacks.duration.p95", "rollbacks.duration.p50",
                "deployments.count", "deployments.per_day", "recovery.mean",
            ]
            let scopes: [(args: [String], block: [String: Any]?)] = [
                ([], report["totals"] as? [String: Any]),
                (["--team", "payments"], (report["teams"] as? [[String: Any]])?.first { $0["team"] as? String == "payments" }),
                (["--service", "checkout"], (report["services"] as? [[String: Any]])?.first { $0["service"] as? String == "checkout" }),
            ]
            for metric in metrics {
                for scope in scopes {
                    let result = try Doralog.run(["report", "--log", log, "--format", "json", "--explain", metric] + scope.args + period)
                    #expect(result.status == 0, "\(metric) \(scope.args): \(result.standardError)")
                    let e = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
                    let items = try #require(e["items"] as? [[String: Any]])
                    let values = items.compactMap { $0["value"] as? Double }
                    let path = metric
                    let expected = value(try #require(scope.block), path) as? Double
                    let recomputed: Double?
                    if metric.hasSuffix(".p50") || metric.hasSuffix(".p95") {
                        let p = metric.hasSuffix(".p50") ? 50.0 : 95.0
                        let sorted = values.sorted()
                        recomputed = sorted.isEmpty ? nil : sorted[Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1]
                        // The item marked as the rank's holds that value.
                        #expect(items.first { $0["rank"] as? Bool == true }?["value"] as? Double == recomputed, "\(metric) \(scope.args)")
                    } else if metric.hasSuffix(".rate") {
                        recomputed = items.isEmpty ? nil : Double(values.filter { $0 == 1 }.count) / Double(items.count)
                    } else if metric.hasSuffix(".mean") {
                        recomputed = values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
                    } else if metric == "deployments.per_day" {
                        recomputed = Double(items.count) / (value(e, "period.days") as? Double ?? .nan)
                    } else {
                        recomputed = Double(items.count)
                    }
                    let reported = expected ?? (value(scope.block!, path) as? Int).map(Double.init)
                    if let reported, let recomputed {
                        #expect(abs(reported - recomputed) <= 1e-9 * max(1, abs(reported)), "\(metric) \(scope.args): \(recomputed) against \(reported)")
                    } else {
                        #expect(reported == nil && recomputed == nil, "\(metric) \(scope.args): \(String(describing: recomputed)) against \(String(describing: reported))")
                    }
                }
            }
            // What is left out says why.
            let open = try Doralog.run(["report", "--log", log, "--explain", "recovery.p95"] + period)
            #expect(open.standardOutput.contains("left out:") && open.standardOutput.contains("open: not recovered yet"))
            let bad = try Doralog.run(["report", "--log", log, "--explain", "recovery.p96"])
            #expect(bad.status == 2 && bad.standardError.contains("recovery.p95"))
            #expect(try Doralog.run(["report", "--log", log, "--explain", "recovery.p95", "--team", "nobody"]).status == 2)
            #expect(try Doralog.run(["report", "--log", log, "--service", "checkout"]).status == 2, "--service goes with --explain")
        }
    }
}
