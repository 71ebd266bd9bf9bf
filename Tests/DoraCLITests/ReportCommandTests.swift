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
}
