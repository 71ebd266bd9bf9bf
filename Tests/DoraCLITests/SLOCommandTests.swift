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
            // A gate: something is still firing at the end of the sample data.
            let gate = try Doralog.run(["slo", "--log", log, "--pipeline", pipeline, "--fail-on-firing"])
            #expect(gate.status == 3 && gate.standardError.contains("still firing"), "\(gate.standardError)")
            // --to before every sample: nothing to evaluate.
            let early = try Doralog.run(["slo", "--log", log, "--pipeline", pipeline, "--to", "2026-01-01"])
            #expect(early.status == 0 && early.standardOutput == "[]\n")
        } }
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
