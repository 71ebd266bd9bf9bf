import DoraTestSupport
import Foundation
import Testing

@Suite(.enabled(if: Doralog.isBuilt, "needs the doralog binary: run `swift build` first"))
struct ReportCommandTests {
    func ingestExample(_ dir: String) throws -> String {
        let input = dir + "/events.jsonl"
        try TestFiles.write(EventJSON.specExample.joined(separator: "\n"), to: input)
        #expect(try Doralog.run(["ingest", "--file", input, "--log", dir + "/log"]).status == 0)
        return dir + "/log"
    }

    @Test func reportPrintsJSONWhenNotOnATerminalAndWritesAnOutputFile() throws {
        try withTemporaryDirectory { dir in
            let log = try ingestExample(dir)
            let result = try Doralog.run(["report", "--log", log])
            #expect(result.status == 0)
            let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            #expect(object?["schema"] as? String == "doralog.report/v1")
            #expect(try Doralog.run(["report", "--log", log, "--format", "markdown", "--output", dir + "/r.md"]).status == 0)
            let markdown = String(decoding: try TestFiles.read(dir + "/r.md"), as: UTF8.self)
            #expect(markdown.contains("| Change failure rate | 100 % (1 of 1 deploys) | low |"))
        }
    }

    @Test func reportOptionsAreValidatedWithTheContractsExitCodes() throws {
        try withTemporaryDirectory { dir in
            let log = try ingestExample(dir)
            #expect(try Doralog.run(["report", "--log", log, "--from", "July 1st"]).status == 2)
            #expect(try Doralog.run(["report", "--log", log, "--from", "2026-07-02", "--to", "2026-07-01"]).status == 2)
            #expect(try Doralog.run(["report", "--log", log, "--format", "pdf"]).status == 2)
            #expect(try Doralog.run(["report", "--log", log, "--attribution-window", "soon"]).status == 2)
            let period = try Doralog.run(["report", "--log", log, "--from", "2026-07-01", "--to", "2026-07-01T12:00:00Z"])
            #expect(period.status == 0 && period.standardOutput.contains("\"days\": 0.5"))
            try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
            _ = try Doralog.run(["ingest", "--file", "-", "--log", dir + "/empty/log"], input: "")
            let empty = try Doralog.run(["report", "--log", dir + "/empty/log"])
            #expect(empty.status == 1 && empty.standardError.contains("--from"))
            #expect(try Doralog.run(["report", "--log", dir + "/absent"]).status == 1)
        }
    }

    @Test func aReportInPartitionsPrintsWhatOnePassPrintsAndItsOptionsAreChecked() throws {
        try withTemporaryDirectory { dir in
            let log = try ingestExample(dir)
            for format in ["json", "markdown", "csv"] {
                let one = try Doralog.run(["report", "--log", log, "--format", format, "--partition-events", "0"])
                // Five events, partitions of two: three partitions, set aside in the given directory.
                let partitioned = try Doralog.run(
                    ["report", "--log", log, "--format", format, "--partition-events", "2", "--partition-above", "0", "--spill-dir", dir])
                #expect(one.status == 0 && partitioned.status == 0)
                #expect(partitioned.standardOutput == one.standardOutput, "\(format)")
            }
            let missing = try Doralog.run(
                ["report", "--log", log, "--partition-events", "2", "--partition-above", "0", "--spill-dir", dir + "/absent"])
            #expect(missing.status == 2 && missing.standardError.contains("--spill-dir") && missing.standardError.contains("/absent"))
            let negative = try Doralog.run(["report", "--log", log, "--partition-events", "-1"])
            #expect(negative.status == 2 && negative.standardError.contains("--partition-events"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasPrefix("doralog-spill") },
                    "the spill's files have no name")
        }
    }

    @Test func aDirectoryThatIsNotALogIsNamedSoAndReadingItWritesNothing() throws {
        try withTemporaryDirectory { dir in
            let foreign = dir + "/etc"
            try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
            try TestFiles.write("127.0.0.1 localhost", to: foreign + "/hosts")
            let pipeline = dir + "/p.yaml"
            try TestFiles.write("slos:\n  - {name: a, metric: act, objective: 5m}\nsource:\n  kafka: {brokers: embedded, topics: [e], group: g}\nlog: {directory: x}\n", to: pipeline)
            for arguments in [["report", "--log", foreign], ["verify", "--log", foreign], ["slo", "--log", foreign, "--pipeline", pipeline]] {
                let result = try Doralog.run(arguments)
                #expect(result.status == 1, "\(arguments[0])")
                #expect(result.standardError == "doralog: error: not a doralog event log (no segment files in \(foreign))\n", "\(arguments[0]): \(result.standardError)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: foreign) == ["hosts"], "reading created no file")
            // An empty log says it is empty, and reading it writes nothing either.
            let empty = dir + "/empty"
            #expect(try Doralog.run(["ingest", "--file", "-", "--log", empty], input: "").status == 0)
            let before = try FileManager.default.contentsOfDirectory(atPath: empty).sorted()
            let report = try Doralog.run(["report", "--log", empty])
            #expect(report.status == 1 && report.standardError.contains("the log \(empty) is empty (no events stored yet)"), "\(report.standardError)")
            let verify = try Doralog.run(["verify", "--log", empty])
            #expect(verify.status == 0 && verify.standardOutput.hasPrefix("ok: the log is empty"), "\(verify.standardOutput)")
            let slo = try Doralog.run(["slo", "--log", empty, "--pipeline", pipeline])
            #expect(slo.status == 1 && slo.standardError.contains("is empty (no events stored yet): there is nothing to backtest"), "\(slo.standardError)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: empty).sorted() == before)
        }
    }

    @Test func anEnvironmentTheLogLacksIsAnErrorNamingTheOnesItHas() throws {
        try withTemporaryDirectory { dir in
            let log = try ingestExample(dir)
            let staging = #"{"id":"s-1","type":"deploy","time":"2026-07-01T12:00:00Z","service":"checkout","environment":"staging","version":"v1"}"#
            #expect(try Doralog.run(["ingest", "--file", "-", "--log", log], input: staging).status == 0)
            let result = try Doralog.run(["report", "--log", log, "--environment", "prod"])
            #expect(result.status == 1)
            #expect(result.standardError.contains("the log has no events of environment 'prod'; it has: production, staging"), "\(result.standardError)")
            #expect(try Doralog.run(["report", "--log", log, "--environment", "staging"]).status == 0)
        }
    }

    @Test func theOutputFilesExtensionChoosesTheFormat() throws {
        try withTemporaryDirectory { dir in
            let log = try ingestExample(dir)
            #expect(try Doralog.run(["report", "--log", log, "--output", dir + "/r.md"]).status == 0)
            #expect(String(decoding: try TestFiles.read(dir + "/r.md"), as: UTF8.self).hasPrefix("# DORA report"))
            #expect(try Doralog.run(["report", "--log", log, "--output", dir + "/r.json"]).status == 0)
            #expect(String(decoding: try TestFiles.read(dir + "/r.json"), as: UTF8.self).hasPrefix("{"))
            // --format wins over the extension.
            #expect(try Doralog.run(["report", "--log", log, "--output", dir + "/r2.md", "--format", "json"]).status == 0)
            #expect(String(decoding: try TestFiles.read(dir + "/r2.md"), as: UTF8.self).hasPrefix("{"))
            for (name, start) in [("r.html", "<!DOCTYPE html>"), ("r.htm", "<!DOCTYPE html>"), ("r.csv", "period_from,")] {
                #expect(try Doralog.run(["report", "--log", log, "--output", dir + "/" + name]).status == 0)
                #expect(String(decoding: try TestFiles.read(dir + "/" + name), as: UTF8.self).hasPrefix(start), "\(name)")
            }
        }
    }

    @Test func aPipelineFilesTeamsAndSettingsApplyToTheReport() throws {
        try withTemporaryDirectory { dir in
            let log = try ingestExample(dir)
            let staging = #"{"id":"s-1","type":"deploy","time":"2026-07-01T12:00:00Z","service":"checkout","environment":"staging","version":"v1"}"#
            #expect(try Doralog.run(["ingest", "--file", "-", "--log", log], input: staging).status == 0)
            let pipeline = dir + "/p.yaml"
            try TestFiles.write("environment: staging\nservices:\n  - {match: check*, team: checkout-crew}\n", to: pipeline)
            let result = try Doralog.run(["report", "--log", log, "--pipeline", pipeline, "--format", "json"])
            #expect(result.status == 0, "\(result.standardError)")
            let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            #expect(object?["environment"] as? String == "staging", "the file's environment is the default")
            let services = object?["services"] as? [[String: Any]]
            #expect(services?.first?["team"] as? String == "checkout-crew")
            #expect((object?["teams"] as? [[String: Any]])?.first?["team"] as? String == "checkout-crew")
            // An option given still wins over the file.
            let production = try Doralog.run(["report", "--log", log, "--pipeline", pipeline, "--environment", "production", "--format", "json"])
            #expect(production.standardOutput.contains("\"environment\": \"production\"") && production.standardOutput.contains("\"team\": \"checkout-crew\""))
        }
    }

    @Test func aRecurringAlertIDIsADataQualityWarning() throws {
        try withTemporaryDirectory { dir in
            let log = try ingestExample(dir)
            let again = #"{"id":"a-77-f2","type":"alert","time":"2026-07-01T15:00:00Z","service":"checkout","alert_id":"a-77","status":"firing"}"#
            #expect(try Doralog.run(["ingest", "--file", "-", "--log", log], input: again).status == 0)
            let json = try Doralog.run(["report", "--log", log, "--format", "json"])
            #expect(json.standardError.contains("warning: 1 alert id(s) of the period fire again after they resolved"), "\(json.standardError)")
            let markdown = try Doralog.run(["report", "--log", log, "--format", "markdown"])
            #expect(markdown.standardOutput.contains("Data quality: 1 alert id(s) fire again after they resolved"))
        }
    }

    @Test func aRollbackCompletedBeforeItStartedIsListedAsClockSkewWithoutChangingTheJSON() throws {
        try withTemporaryDirectory { dir in
            let log = try ingestExample(dir)
            let before = try Doralog.run(["report", "--log", log, "--format", "json"]).standardOutput
            // A second rollback of checkout whose completion is dated 90 s before its start.
            let skewed = [
                #"{"id":"r-10-s","type":"rollback","time":"2026-07-01T12:00:00Z","service":"checkout","rollback_id":"r-10","status":"started","from_version":"v42"}"#,
                #"{"id":"r-10-c","type":"rollback","time":"2026-07-01T11:58:30Z","service":"checkout","rollback_id":"r-10","status":"completed"}"#,
            ]
            #expect(try Doralog.run(["ingest", "--file", "-", "--log", log], input: skewed.joined(separator: "\n")).status == 0)
            let json = try Doralog.run(["report", "--log", log, "--format", "json"])
            let warning = "1 rollback(s) completed only before they started (a producer's clock is off); they stay open, as the "
                + "definitions say: checkout rollback r-10 (1.5 min early)"
            #expect(json.standardError.contains("doralog: warning: " + warning), "\(json.standardError)")
            #expect(!json.standardOutput.contains("clock") && json.standardOutput != before, "the JSON has no new field")
            let markdown = try Doralog.run(["report", "--log", log, "--format", "markdown"])
            #expect(markdown.standardOutput.contains("Data quality: " + warning + "."), "\(markdown.standardOutput.prefix(800))")
        }
    }
}
