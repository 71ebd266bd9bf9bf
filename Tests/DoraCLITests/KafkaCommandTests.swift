import DoraEventLog
import DoraTestSupport
import Foundation
import Testing

@Suite(.enabled(if: Doralog.isBuilt, "needs the doralog binary: run `swift build` first"), .timeLimit(.minutes(3)))
struct KafkaCommandTests {
    /// Starts `doralog broker` and reads its bootstrap address.
    func startBroker() throws -> (Process, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Doralog.executable)
        process.arguments = ["broker", "--partitions", "4"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        return (process, String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func brokerProduceAndIngestUntilEndStoreTheFile() throws {
        try withTemporaryDirectory { dir in
            let (broker, address) = try startBroker()
            defer { broker.terminate(); broker.waitUntilExit() }
            #expect(address.hasPrefix("127.0.0.1:"))
            let input = dir + "/events.jsonl"
            try TestFiles.write((EventJSON.specExample + ["not json"]).joined(separator: "\n"), to: input)
            let produced = try Doralog.run(["produce", "--brokers", address, "--topic", "events", "--file", input])
            #expect(produced.status == 0 && produced.standardOutput.contains("delivered 6, failed 0"))
            let ingested = try Doralog.run(["ingest", "--brokers", address, "--topic", "events", "--group", "g", "--log", dir + "/log", "--until-end"])
            #expect(ingested.status == 0)
            #expect(ingested.standardOutput == "read 6, stored 5, duplicates 0, rejected 1\n")
        }
    }

    @Test func sigtermDuringIngestExitsZeroWithEverythingAcknowledgedDurable() throws {
        try withTemporaryDirectory { dir in
            let (broker, address) = try startBroker()
            defer { broker.terminate(); broker.waitUntilExit() }
            let input = dir + "/events.jsonl"
            try TestFiles.write(LogTesting.deploys(2000).joined(separator: "\n"), to: input)
            #expect(try Doralog.run(["produce", "--brokers", address, "--topic", "events", "--file", input]).status == 0)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Doralog.executable)
            process.arguments = ["ingest", "--brokers", address, "--topic", "events", "--group", "g", "--log", dir + "/log"]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            Thread.sleep(forTimeInterval: 8)
            process.terminate()  // SIGTERM
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
            let summary = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(summary.hasPrefix("read 2000, stored 2000"), "\(summary)")
            #expect(try LogTesting.storedIDs(dir + "/log").count == 2000)
        }
    }
}

extension KafkaCommandTests {
    /// SIGKILL a consuming `doralog ingest` twenty times while a producer keeps writing; after a
    /// final run to the end, the log holds every produced valid event exactly once.
    @Test(.timeLimit(.minutes(6)))
    func aCrashLoopOfKilledIngestsLosesAndDoublesNothing() throws {
        try withTemporaryDirectory { dir in
            let (broker, address) = try startBroker()
            defer { broker.terminate(); broker.waitUntilExit() }
            let all = LogTesting.deploys(40 * 250)
            let log = dir + "/log"
            let member = ["-X", "session.timeout.ms=2000", "-X", "heartbeat.interval.ms=300"]
            var kills = 0
            var progressed = 0  // rounds in which a member made events durable before being killed
            func storedCount() -> Int { (try? LogReader(directory: log).totals.stored) ?? 0 }
            for round in 0..<40 {
                // The producer keeps writing: 250 new events per round.
                let chunk = dir + "/chunk\(round).jsonl"
                try TestFiles.write(all[(round * 250)..<((round + 1) * 250)].joined(separator: "\n"), to: chunk)
                #expect(try Doralog.run(["produce", "--brokers", address, "--topic", "events", "--file", chunk]).status == 0)
                guard round % 2 == 0 else { continue }
                let before = storedCount()
                let process = try Doralog.start(["ingest", "--brokers", address, "--topic", "events", "--group", "g", "--log", log] + member)
                Thread.sleep(forTimeInterval: Double.random(in: 3.0...6.0))
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    kills += 1
                }
                process.waitUntilExit()
                if storedCount() > before { progressed += 1 }
            }
            #expect(kills >= 20)
            #expect(progressed >= 8, "killed members made progress in \(progressed) rounds")
            let final = try Doralog.run(["ingest", "--brokers", address, "--topic", "events", "--group", "g", "--log", log, "--until-end"] + member)
            #expect(final.status == 0)
            let stored = try LogTesting.storedIDs(log)
            #expect(stored.count == all.count && Set(stored).count == all.count)
            #expect(try Doralog.run(["verify", "--log", log]).status == 0)
        }
    }
}
