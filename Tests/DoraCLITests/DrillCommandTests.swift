import DoraEventLog
import DoraEvents
import DoraTestSupport
import Foundation
import Testing

/// `doralog drill` with real child processes: what it records and how it exits.
@Suite(.enabled(if: Doralog.isBuilt, "needs the doralog binary: run `swift build` first"), .timeLimit(.minutes(3)))
struct DrillCommandTests {
    /// The drill events stored in `log`, with their raw JSON, in log order.
    static func events(_ log: String) throws -> [(event: Event, raw: [String: Any])] {
        var out: [(Event, [String: Any])] = []
        try LogReader(directory: log).forEachEventWithRawBytes { event, raw in
            let object = (try? JSONSerialization.jsonObject(with: Data(raw))) as? [String: Any] ?? [:]
            out.append((event, object))
        }
        return out
    }

    /// Whether `pid` has ended within two seconds (a zombie whose parent is gone counts: in a
    /// container, nothing may reap it).
    static func hasEnded(_ pid: Int32) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(2))
        repeat {
            if kill(pid, 0) != 0 && errno == ESRCH { return true }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            if let close = stat.lastIndex(of: ")"), stat[close...].dropFirst(2).first == "Z" { return true }
            usleep(20_000)
        } while ContinuousClock.now < deadline
        return false
    }

    static func rollback(_ e: Event) -> Event.Rollback? {
        if case .rollback(let r) = e.details { return r }
        return nil
    }

    @Test func aSuccessfulDrillRecordsAStartedAndACompletedDrillWhoseDurationIsTheMeasuredActPlusVerify() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            let result = try Doralog.run([
                "drill", "--service", "checkout", "--environment", "staging", "--from-version", "v2", "--to-version", "v1",
                "--rollback", "sh -c 'echo rolling back; sleep 0.3'", "--verify", "test -d \(dir)", "--id", "d-1", "--log", log,
            ], timeLimit: .seconds(30))
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("drill d-1: checkout (staging) rolled back in"))
            #expect(result.standardError.contains("rolling back"), "the step's output is passed on")
            let stored = try Self.events(log)
            try #require(stored.count == 2)
            let (started, completed) = (stored[0], stored[1])
            #expect(started.event.id == "d-1-started" && completed.event.id == "d-1-completed")
            let s = try #require(Self.rollback(started.event))
            let c = try #require(Self.rollback(completed.event))
            #expect(s.status == .started && s.isDrill && s.trigger == .manual && s.fromVersion == "v2" && s.toVersion == "v1")
            #expect(c.status == .completed && c.isDrill && c.rollbackID == "d-1")
            #expect(started.event.environment == "staging" && started.event.service == "checkout")
            // The recorded duration is the measured one: act (the 0.3 s rollback) plus verify.
            let drill = try #require(completed.raw["drill"] as? [String: Any])
            let act = try #require(drill["act_seconds"] as? Double)
            let verify = try #require(drill["verify_seconds"] as? Double)
            #expect(act >= 0.3)
            #expect(drill["verify_attempts"] as? Int == 1)
            let recorded = Double(completed.event.time.microseconds - started.event.time.microseconds) / 1e6
            #expect(abs(recorded - (act + verify)) < 0.002, "\(recorded) vs \(act) + \(verify)")
            // The stored records are what their raw bytes say (verify re-reads every one).
            let verified = try Doralog.run(["verify", "--log", log])
            #expect(verified.status == 0, "\(verified.standardOutput)\(verified.standardError)")
        } }
    }

    @Test func aFailingRollbackCommandRecordsAFailedDrillWithItsExitStatusAndOutputAndExitsOne() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            let result = try Doralog.run([
                "drill", "--service", "checkout", "--rollback", "sh -c 'echo first; echo cannot reach cluster >&2; exit 3'",
                "--verify", "true", "--id", "d-2", "--log", log,
            ], timeLimit: .seconds(30))
            #expect(result.status == 1)
            #expect(result.standardError.contains("FAILED at the rollback step: exited with status 3"), "\(result.standardError)")
            let stored = try Self.events(log)
            try #require(stored.count == 2)
            let f = try #require(Self.rollback(stored[1].event))
            #expect(f.status == .failed && f.isDrill && stored[1].event.id == "d-2-failed")
            let drill = try #require(stored[1].raw["drill"] as? [String: Any])
            #expect(drill["step"] as? String == "rollback")
            #expect(drill["exit_status"] as? Int == 3)
            #expect(drill["output_tail"] as? [String] == ["first", "cannot reach cluster"])
            #expect(drill["verify_attempts"] as? Int == 0, "verification never runs after a failed rollback")
        } }
    }

    @Test func aCommandThatDoesNotExistFailsTheDrillAndNeverCompletesIt() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            let result = try Doralog.run(
                ["drill", "--service", "cart", "--rollback", "no-such-command-here --now", "--id", "d-3", "--log", log], timeLimit: .seconds(30))
            #expect(result.status == 1)
            #expect(result.standardError.contains("could not be started: no-such-command-here"), "\(result.standardError)")
            let statuses = try Self.events(log).compactMap { Self.rollback($0.event)?.status }
            #expect(statuses == [.started, .failed])
        } }
    }

    @Test func aVerificationThatNeverSucceedsFailsAtTheTimeoutAfterRetryingWithBackOff() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            let began = ContinuousClock.now
            let result = try Doralog.run([
                "drill", "--service", "checkout", "--rollback", "true", "--verify", "test -e \(dir)/never",
                "--retry-delay", "100ms", "--timeout", "1500ms", "--id", "d-4", "--log", log,
            ], timeLimit: .seconds(30))
            let took = began.duration(to: .now)
            #expect(result.status == 1)
            #expect(result.standardError.contains("FAILED at the verify step: did not succeed within the timeout"), "\(result.standardError)")
            #expect(took >= .milliseconds(1500), "it keeps trying until the timeout")
            let stored = try Self.events(log)
            let drill = try #require(stored.last?.raw["drill"] as? [String: Any])
            #expect(drill["step"] as? String == "verify")
            // Pauses of 0.1, 0.2, 0.4, 0.8 s: attempts at about 0, 0.1, 0.3, 0.7 and 1.5 s.
            let attempts = try #require(drill["verify_attempts"] as? Int)
            #expect((4...5).contains(attempts), "\(attempts)")
            #expect(Self.rollback(stored.last!.event)?.status == .failed)
        } }
    }

    @Test func aRollbackThatHangsIsStoppedAtTheTimeoutWithItsWholeProcessGroup() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            let result = try Doralog.run([
                "drill", "--service", "checkout", "--shell", "--rollback", "sleep 60 & echo $! > \(dir)/grandchild; wait",
                "--timeout", "1s", "--id", "d-5", "--log", log,
            ], timeLimit: .seconds(30))
            #expect(result.status == 1)
            #expect(result.standardError.contains("still running after the timeout"), "\(result.standardError)")
            let grandchild = try #require(Int32(String(contentsOfFile: dir + "/grandchild", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(Self.hasEnded(grandchild), "the rollback's background process was stopped too")
            #expect(try Self.events(log).compactMap { Self.rollback($0.event)?.status } == [.started, .failed])
        } }
    }

    @Test func sigintMidDrillRecordsItAsInterruptedStopsTheChildAndExits130() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Doralog.executable)
            process.arguments = [
                "drill", "--service", "checkout", "--rollback", "sh -c 'echo $$ > \(dir)/child; exec sleep 60'", "--id", "d-6",
                "--log", log,
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = ContinuousClock.now.advanced(by: .seconds(20))
            while !FileManager.default.fileExists(atPath: dir + "/child") && ContinuousClock.now < deadline { usleep(20_000) }
            usleep(100_000)  // the pid is written before the exec: let it happen
            let child = try #require(Int32(String(contentsOfFile: dir + "/child", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            process.interrupt()
            process.waitUntilExit()
            #expect(process.terminationStatus == 130)
            #expect(Self.hasEnded(child), "the rollback's process was stopped")
            let stored = try Self.events(log)
            #expect(stored.compactMap { Self.rollback($0.event)?.status } == [.started, .failed])
            let drill = try #require(stored.last?.raw["drill"] as? [String: Any])
            #expect(drill["reason"] as? String == "interrupted")
        } }
    }

    @Test func aFailedBadDeployFailsTheDrillBeforeAnyRollbackRuns() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            let result = try Doralog.run([
                "drill", "--service", "checkout", "--bad", "false", "--rollback", "touch \(dir)/rolled-back", "--id", "d-7", "--log", log,
            ], timeLimit: .seconds(30))
            #expect(result.status == 1)
            #expect(result.standardError.contains("FAILED at the bad step"), "\(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/rolled-back"))
            let stored = try Self.events(log)
            #expect(stored.compactMap { Self.rollback($0.event)?.status } == [.started, .failed])
        } }
    }

    @Test func recordingTheSameDrillTwiceStoresItsEventsOnce() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            for _ in 0..<2 {
                let result = try Doralog.run(
                    ["drill", "--service", "checkout", "--rollback", "true", "--id", "d-8", "--log", log], timeLimit: .seconds(30))
                #expect(result.status == 0, "\(result.standardError)")
            }
            let totals = try LogReader(directory: log).totals
            #expect(totals.stored == 2)
            #expect(totals.duplicates == 2)
        } }
    }

    @Test func aDrillRecordedToKafkaIsStoredByTheConsumerGroupLikeAnyEvent() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, address) = try TestBroker.start()
            defer { broker.terminate(); broker.waitUntilExit() }
            let result = try Doralog.run([
                "drill", "--service", "checkout", "--rollback", "true", "--id", "d-9", "--brokers", address, "--topic", "events",
            ], timeLimit: .seconds(60))
            #expect(result.status == 0, "\(result.standardError)")
            let log = dir + "/log"
            let ingested = try Doralog.run(["ingest", "--brokers", address, "--topic", "events", "--group", "g", "--log", log, "--until-end"])
            #expect(ingested.standardOutput == "read 2, stored 2, duplicates 0, rejected 0\n", "\(ingested.standardError)")
            #expect(try Self.events(log).map(\.event.id) == ["d-9-started", "d-9-completed"])
        } }
    }

    @Test func anUnreachableBrokerFailsTheDrillLoudlyButPrintsItsMeasuredNumbers() async throws {
        try await onOwnThread {
            let port = TestBroker.freePort()  // nothing listens there
            let result = try Doralog.run([
                "drill", "--service", "checkout", "--rollback", "true", "--timeout", "1s", "--id", "d-10",
                "--brokers", "127.0.0.1:\(port)", "--topic", "events",
            ], timeLimit: .seconds(60))
            #expect(result.status == 1)
            #expect(result.standardOutput.contains("drill d-10: checkout (staging) rolled back in"), "\(result.standardOutput)")
            #expect(result.standardError.contains("the drill's events were not recorded"), "\(result.standardError)")
        }
    }

    @Test(arguments: [
        (["--rollback", "true", "--log", "x", "--brokers", "b"], "--brokers and --topic go together"),
        (["--rollback", "true"], "give either --brokers and --topic, or --log"),
        (["--rollback", "echo 'open", "--log", "x"], "unterminated"),
        (["--rollback", "true", "--timeout", "soon", "--log", "x"], "--timeout"),
    ])
    func badUsageExitsTwoAndRunsNothing(arguments: [String], message: String) async throws {
        try await onOwnThread {
            let result = try Doralog.run(["drill", "--service", "s"] + arguments, timeLimit: .seconds(30))
            #expect(result.status == 2)
            #expect(result.standardError.contains(message), "\(result.standardError)")
        }
    }
}
