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
}
