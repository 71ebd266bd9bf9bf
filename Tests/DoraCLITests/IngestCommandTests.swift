import DoraEventLog
import DoraEvents
import DoraGenerator
import DoraTestSupport
import Foundation
import Testing

@Suite(.enabled(if: Doralog.isBuilt, "needs the doralog binary: run `swift build` first"))
struct IngestCommandTests {
    @Test func ingestPrintsTheSummaryAndDuplicatesAreCaughtAcrossProcesses() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/events.jsonl"
            try TestFiles.write((EventJSON.specExample + ["oops"]).joined(separator: "\n"), to: input)
            let first = try Doralog.run(["ingest", "--file", input, "--log", dir + "/log"])
            #expect(first.status == 0)
            #expect(first.standardOutput == "read 6, stored 5, duplicates 0, rejected 1\n")
            let second = try Doralog.run(["ingest", "--file", input, "--log", dir + "/log"])
            #expect(second.standardOutput == "read 6, stored 0, duplicates 5, rejected 1\n")
        }
    }

    @Test func aConflictingDuplicateIsCountedApartInTheSummaryAndTheReport() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/events.jsonl"
            // The deploy again, re-spelled (a plain duplicate), then with another version.
            let respelled = EventJSON.specExample[0].replacingOccurrences(of: "\"type\":\"deploy\",", with: "\"type\": \"deploy\", ")
            let changed = EventJSON.specExample[0].replacingOccurrences(of: "\"v42\"", with: "\"v43\"")
            try TestFiles.write((EventJSON.specExample + [respelled, changed]).joined(separator: "\n"), to: input)
            let ingest = try Doralog.run(["ingest", "--file", input, "--log", dir + "/log"])
            #expect(ingest.standardOutput == "read 7, stored 5, duplicates 2 (1 conflicting), rejected 0\n")
            let json = try Doralog.run(["report", "--log", dir + "/log", "--format", "json"])
            let report = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
            let events = try #require(report?["events"] as? [String: Any])
            #expect(events["duplicates"] as? Int == 2 && events["conflicting_duplicates"] as? Int == 1)
            let deploys = (report?["totals"] as? [String: Any])?["deployments"] as? [String: Any]
            #expect(deploys?["count"] as? Int == 1, "the stored copy wins; the changed one adds no deploy")
            let markdown = try Doralog.run(["report", "--log", dir + "/log", "--format", "markdown"])
            #expect(markdown.standardOutput.contains("2 duplicates dropped (1 with content other than the stored copy"))
            let letters = try String(contentsOfFile: dir + "/log/dead-letters.jsonl", encoding: .utf8)
            #expect(letters.contains("\"reason\":\"conflicting_duplicate\"") && letters.contains("\"line\":7"))
        }
    }

    @Test func ingestReadsStandardInput() throws {
        try withTemporaryDirectory { dir in
            let result = try Doralog.run(["ingest", "--file", "-", "--log", dir + "/log"], input: EventJSON.specExample.joined(separator: "\n"))
            #expect(result.status == 0 && result.standardOutput.hasPrefix("read 5, stored 5"))
        }
    }

    @Test func badUsageExitsTwoAndFailuresExitOne() throws {
        try withTemporaryDirectory { dir in
            let missingOption = try Doralog.run(["ingest", "--log", dir])
            #expect(missingOption.status == 2)
            #expect(missingOption.standardError.contains("--file"))
            let badLevel = try Doralog.run(["ingest", "--file", "-", "--log", dir + "/l", "--zstd-level", "40"], input: "")
            #expect(badLevel.status == 2)
            let noInput = try Doralog.run(["ingest", "--file", dir + "/absent.jsonl", "--log", dir + "/l2"])
            #expect(noInput.status == 1)
            #expect(noInput.standardError.hasPrefix("doralog: error:"))
            #expect(try Doralog.run(["--help"]).status == 0)
            #expect(try Doralog.run(["ingest", "--help"]).standardOutput.contains("--log"))
        }
    }

    @Test func verifyExitsOneAndNamesTheDamagedBlock() throws {
        try withTemporaryDirectory { dir in
            let input = dir + "/events.jsonl"
            try TestFiles.write(LogTesting.deploys(50).joined(separator: "\n"), to: input)
            #expect(try Doralog.run(["ingest", "--file", input, "--log", dir + "/log"]).status == 0)
            #expect(try Doralog.run(["ingest", "--file", input, "--log", dir + "/log"]).status == 0)
            let clean = try Doralog.run(["verify", "--log", dir + "/log"])
            #expect(clean.status == 0 && clean.standardOutput.hasPrefix("ok:"))
            let block = try LogReader(directory: dir + "/log").blocks[0]
            var bytes = try TestFiles.read(dir + "/log/segment-00000001.zst")
            bytes[block.offset + block.totalBytes / 2] ^= 0xFF
            try TestFiles.write(bytes, to: dir + "/log/segment-00000001.zst")
            let damaged = try Doralog.run(["verify", "--log", dir + "/log"])
            #expect(damaged.status == 1)
            #expect(damaged.standardOutput.contains("segment-00000001.zst at byte \(block.offset)"))
        }
    }

    /// The acceptance test of the log's durability: SIGKILL mid-ingest, again and again, then
    /// a full run; the log holds exactly the input's distinct valid events.
    @Test(.timeLimit(.minutes(5)))
    func aKilledIngestRerunLeavesExactlyTheDistinctValidEvents() async throws {
        try await onOwnThread {
            try withTemporaryDirectory { dir in
                var configuration = GeneratorConfiguration()
                configuration.events = 60_000
                configuration.days = 30
                let lines = EventGenerator(configuration: configuration).lines()
                let input = dir + "/events.jsonl"
                try TestFiles.write(lines.joined(separator: "\n") + "\n", to: input)
                var expected = Set<String>()
                for line in lines { if let e = try? EventDecoder.decode(line) { expected.insert(e.id) } }

                let log = dir + "/log"
                var kills = 0
                for delay in [0.15, 0.4, 0.8, 1.3, 2.0] {
                    let process = try Doralog.start(["ingest", "--file", input, "--log", log, "--segment-size", "1"])
                    Thread.sleep(forTimeInterval: delay)
                    if process.isRunning {
                        kill(process.processIdentifier, SIGKILL)
                        kills += 1
                    }
                    process.waitUntilExit()
                }
                #expect(kills >= 2, "the ingest finished before it could be killed; enlarge the input")
                let final = try Doralog.run(["ingest", "--file", input, "--log", log, "--segment-size", "1"])
                #expect(final.status == 0)
                let stored = try LogTesting.storedIDs(log)
                #expect(stored.count == Set(stored).count, "no event stored twice")
                #expect(Set(stored) == expected, "none lost, none extra")
                #expect(try Doralog.run(["verify", "--log", log]).status == 0)
            }
        }
    }

    @Test func theSummaryCountsStoredEventsOfUnknownTypeApart() throws {
        try withTemporaryDirectory { dir in
            let lines = EventJSON.specExample + [
                #"{"id":"u-1","type":"Deploy","time":"2026-07-01T12:00:00Z","service":"checkout","version":"v1"}"#,
                #"{"id":"u-2","type":"incident_note","time":"2026-07-01T12:00:00Z","service":"checkout"}"#,
            ]
            let result = try Doralog.run(["ingest", "--file", "-", "--log", dir + "/log"], input: lines.joined(separator: "\n"))
            #expect(result.standardOutput == "read 7, stored 7 (2 of unknown type), duplicates 0, rejected 0\n")
        }
    }

    @Test func ingestRefusesANonEmptyDirectoryThatIsNotALogUnlessCreate() throws {
        try withTemporaryDirectory { dir in
            try TestFiles.write("my notes", to: dir + "/notes.txt")
            let refused = try Doralog.run(["ingest", "--file", "-", "--log", dir], input: EventJSON.specExample.joined(separator: "\n"))
            #expect(refused.status == 1)
            #expect(refused.standardError.contains("\(dir) is not empty and is not a doralog event log (it holds notes.txt)"), "\(refused.standardError)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["notes.txt"], "nothing was written")
            let created = try Doralog.run(["ingest", "--create", "--file", "-", "--log", dir], input: EventJSON.specExample.joined(separator: "\n"))
            #expect(created.status == 0 && created.standardOutput.hasPrefix("read 5, stored 5"))
            // Once it is a log, it is one: no --create needed to add to it.
            #expect(try Doralog.run(["ingest", "--file", "-", "--log", dir], input: "").status == 0)
        }
    }

    @Test func helpTextsHaveNoStrayBackslashes() throws {
        for command in ["ingest", "report", "verify", "broker", "produce", "generate", "slo", "run"] {
            let help = try Doralog.run([command, "--help"])
            #expect(help.status == 0)
            #expect(!help.standardOutput.contains("\\"), "\(command) --help: \(help.standardOutput)")
        }
    }

    @Test func generateSpansExactlyTheDaysAsked() throws {
        try withTemporaryDirectory { dir in
            for days in [7, 180] {
                let file = dir + "/g\(days).jsonl"
                // Starting early enough that the stream lies in the past (the default period stops a day from now).
                #expect(try Doralog.run(["generate", "--events", "20000", "--days", "\(days)", "--start", "2025-01-01", "--output", file]).status == 0)
                #expect(try Doralog.run(["ingest", "--file", file, "--log", dir + "/log\(days)"]).status == 0)
                let report = try Doralog.run(["report", "--log", dir + "/log\(days)", "--format", "json"])
                let object = try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any]
                let period = object?["period"] as? [String: Any]
                #expect(period?["days"] as? Double == Double(days), "\(period ?? [:])")
                #expect(period?["from"] as? String == "2025-01-01T00:00:00Z")
            }
        }
    }
}
