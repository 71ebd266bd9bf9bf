import DoraTestSupport
import Foundation
import Testing

@Suite(.enabled(if: Doralog.isBuilt, "needs the doralog binary: run `swift build` first"))
struct SLOCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func theDemoPipelinesTierOneRollbackSLOIsBreachedByTheSampleEvents() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            #expect(try Doralog.run(["ingest", "--file", Self.repository + "/sample-events/events.jsonl", "--log", log]).status == 0)
            let pipeline = Self.repository + "/pipelines/demo.yaml"
            let result = try Doralog.run(["slo", "--log", log, "--pipeline", pipeline, "--format", "json"])
            #expect(result.status == 0, "\(result.standardError)")
            let alerts = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]] ?? []
            let breaches = alerts.filter { $0["slo"] as? String == "tier1-rollback-p95" && $0["alert"] as? String == "SLOBreach" }
            #expect(breaches.contains { $0["state"] as? String == "firing" })
            for a in alerts {
                #expect(a["schema"] as? String == "doralog.alert/v1")
                #expect((a["exemplars"] as? [String])?.isEmpty == false)
            }
            let times = alerts.compactMap { $0["at"] as? String }
            #expect(times == times.sorted(), "ordered by time first")
            // A gate: something is still firing at the end of the sample data (September 28th)...
            let gate = try Doralog.run(["slo", "--log", log, "--pipeline", pipeline, "--fail-on-firing", "--to", "2026-09-29"])
            #expect(gate.status == 3 && gate.standardError.contains("still firing"), "\(gate.standardError)")
            // ...and months later no breach is: the slow rollbacks have aged out of the windows.
            // What still fires are three rollbacks the sample data started and never ended.
            let now = try Doralog.run(["slo", "--log", log, "--pipeline", pipeline, "--fail-on-firing"])
            #expect(now.status == 3 && now.standardError.contains("3 alert(s) still firing"), "\(now.standardError)")
            #expect(now.standardError.components(separatedBy: "RollbackStuck").count == 4 && !now.standardError.contains("SLOBreach"))
            // --to before every sample: nothing to evaluate.
            let early = try Doralog.run(["slo", "--log", log, "--pipeline", pipeline, "--to", "2026-01-01"])
            #expect(early.status == 0 && early.standardOutput == "[]\n")
        } }
    }

    @Test func aReadinessObjectiveGatesOnAServiceThatDidNotRehearseItsRollbackInTime() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let log = dir + "/log"
            let events = [
                EventJSON.deploy("d-a", at: "2026-07-01T00:00:00Z", service: "a"),
                EventJSON.deploy("d-b", at: "2026-07-01T00:00:00Z", service: "b"),
                EventJSON.rollback("x-c", at: "2026-07-20T00:00:00Z", rollbackID: "x", status: "completed", service: "a",
                                   environment: "staging", exercise: "drill"),
            ].joined(separator: "\n")
            #expect(try Doralog.run(["ingest", "--file", "-", "--log", log], input: events).status == 0)
            let pipeline = dir + "/p.yaml"
            try TestFiles.write("slos:\n  - {name: drilled, metric: rollback_exercised, objective: 30d}\n", to: pipeline)
            // b never rehearsed: it fires 30 days after it was first seen; a rehearsed on July 20.
            let result = try Doralog.run(["slo", "--log", log, "--pipeline", pipeline, "--to", "2026-08-15", "--fail-on-firing"])
            #expect(result.status == 3, "\(result.standardError)")
            #expect(result.standardError.contains("1 alert(s) still firing at the end: drilled RollbackUnexercised service=b"), "\(result.standardError)")
            let alerts = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]] ?? []
            #expect(alerts.map { $0["at"] as? String } == ["2026-07-31T00:00:00Z"])
            #expect(alerts.first?["metric"] as? String == "rollback_exercised")
            // The report's readiness uses the pipeline's objective.
            let report = try Doralog.run(["report", "--log", log, "--pipeline", pipeline, "--format", "json", "--to", "2026-08-15"])
            let json = try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any] ?? [:]
            let readiness = json["readiness"] as? [String: Any] ?? [:]
            #expect(readiness["objective_seconds"] as? Double == 2_592_000)
            #expect(readiness["never_exercised"] as? [String] == ["b"])
        } }
    }

    @Test func aBreachResolvesWhenItsFirstSlowRollbackLeavesTheWindowAndTheGateOpens() throws {
        try withTemporaryDirectory { dir in
            let log = dir + "/log"
            // Three 10-minute rollbacks of checkout on July 1st, completed at 08:10, 09:10, 10:10.
            let events = EventJSON.rollbacks(day: 1, minutes: 10).joined(separator: "\n")
            #expect(try Doralog.run(["ingest", "--file", "-", "--log", log], input: events).status == 0)
            let pipeline = dir + "/p.yaml"
            try TestFiles.write(
                "slos:\n  - {name: rb, metric: rollback_time, objective: 5m, window: 7d, min_samples: 3, regression: false}\n",
                to: pipeline)
            func backtest(to: String) throws -> (status: Int32, alerts: [[String: Any]]) {
                let r = try Doralog.run(["slo", "--log", log, "--pipeline", pipeline, "--to", to, "--fail-on-firing"])
                let all = (try? JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [[String: Any]]) ?? []
                // (Each rollback was also stuck past 5 minutes while it ran, and resolved.)
                return (r.status, all.filter { $0["alert"] as? String == "SLOBreach" })
            }
            // The third sample fires the breach at 10:10 (p95 of three 600 s values is 600 s).
            // On July 8th at 08:10, seven days after the first, it leaves the window: two samples
            // are fewer than min_samples, so the breach resolves there, with no new event.
            let before = try backtest(to: "2026-07-08T08:10:00Z")  // --to is exclusive
            #expect(before.status == 3 && before.alerts.count == 1)
            #expect(before.alerts.first?["at"] as? String == "2026-07-01T10:10:00Z")
            let after = try backtest(to: "2026-07-08T08:10:00.000001Z")
            #expect(after.status == 0 && after.alerts.count == 2)
            if let resolved = after.alerts.last {
                #expect(resolved["state"] as? String == "resolved" && resolved["at"] as? String == "2026-07-08T08:10:00Z")
                #expect(resolved["value"] as? Double == 600 && resolved["samples"] as? Int == 2)
                #expect(resolved["exemplars"] as? [String] == ["checkout-1-1", "checkout-1-2"])
            }
        }
    }

    @Test func aBadPipelineFileIsAUsageErrorNamingItsLine() throws {
        try withTemporaryDirectory { dir in
            let file = dir + "/p.yaml"
            try TestFiles.write("source:\n  kafka: {brokers: embedded, topics: [e], group: g}\nlog: {directory: x}\nslos:\n  - {name: a, metric: act, objective: 5 minutes}\n", to: file)
            _ = try Doralog.run(["ingest", "--file", "-", "--log", dir + "/log"], input: "")
            let result = try Doralog.run(["slo", "--log", dir + "/log", "--pipeline", file])
            #expect(result.status == 2)
            #expect(result.standardError.contains("p.yaml:5:") && result.standardError.contains("slos[0].objective"), "\(result.standardError)")
        }
    }

    @Test func anOfflineBacktestNeedsNoSourceAndWarnsOfASelectionThatMatchesNothing() throws {
        try withTemporaryDirectory { dir in
            let log = dir + "/log"
            #expect(try Doralog.run(["ingest", "--file", "-", "--log", log], input: EventJSON.rollbacks(day: 1, minutes: 10).joined(separator: "\n")).status == 0)
            let pipeline = dir + "/p.yaml"
            try TestFiles.write("""
                services: [{match: checkout, tier: tier-1}]
                slos:
                  - {name: rb, metric: rollback_time, objective: 5m, min_samples: 3, select: {tier: tier-1}, regression: false}
                  - {name: typo, metric: rollback_time, objective: 5m, select: {tier: tier-one}}
                """, to: pipeline)
            let result = try Doralog.run(["slo", "--log", log, "--pipeline", pipeline])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("\"slo\": \"rb\"") && result.standardOutput.contains("\"state\": \"firing\""))
            #expect(result.standardError == "doralog: warning: \(pipeline): slos[1] (typo): select.tier 'tier-one' is no tier of the file's services (tiers: tier-1); the SLO selects nothing\n", "\(result.standardError)")
        }
    }
}
