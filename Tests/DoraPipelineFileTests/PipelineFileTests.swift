import DoraMetrics
import DoraPipelineFile
import DoraSLO
import Foundation
import Testing

@Suite struct PipelineFileTests {
    /// The repository's pipelines/ folder, found from this source file.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("pipelines").path

    static let minimal = """
        source:
          kafka: {brokers: "127.0.0.1:9092", topics: [events], group: g}
        log: {directory: /tmp/log}
        """

    @Test func everyPipelineFileOfTheRepositoryIsValid() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.contains("demo.yaml") && files.contains("production.example.yaml"))
        for file in files {
            #expect(throws: Never.self, "\(file)") { _ = try PipelineFile.load(Self.folder + "/" + file) }
        }
    }

    @Test func theDemoHasATierOneRollbackSLOOnTheEmbeddedBroker() throws {
        let demo = try PipelineFile.load(Self.folder + "/demo.yaml")
        #expect(demo.kafka.brokers == "embedded" && demo.embedded?.feed == "sample-events/events.jsonl")
        let slo = try #require(demo.slos.first { $0.metric == .rollbackTime })
        #expect(slo.selection == .tier("tier-1") && slo.objective == 300_000_000 && slo.percentileTenths == 950)
        #expect(demo.assignments.tier(of: "payments") == "tier-1" && demo.assignments.tier(of: "media") == "tier-2")
        #expect(demo.listen == "127.0.0.1:9464")
    }

    @Test func aRollbackExercisedEntryIsAReadinessObjective() throws {
        let d = try PipelineFile.parse(Self.minimal + """

            slos:
              - {name: p95, metric: rollback_time, objective: 5m}
              - {name: drilled, metric: rollback_exercised, objective: 30d, select: {tier: tier-1}}
              - {name: quiet, metric: rollback_exercised, objective: 7d, rollback_failed: false}
            """, file: "p.yaml")
        #expect(d.slos.map(\.name) == ["p95"])
        #expect(d.readiness.map(\.name) == ["drilled", "quiet"])
        #expect(d.readiness[0].maxAge == 30 * 86_400_000_000 && d.readiness[0].selection == .tier("tier-1") && d.readiness[0].alertsOnFailure)
        #expect(d.readiness[1].selection == .all && !d.readiness[1].alertsOnFailure)
        #expect(d.evaluation.readiness == d.readiness)
    }

    @Test(arguments: [
        ("  - {name: r, metric: rollback_exercised, objective: 30d, percentile: 95}", "percentile"),
        ("  - {name: r, metric: rollback_exercised}", "objective"),
        ("  - {name: r, metric: rollback_exercised, objective: soon}", "duration"),
        ("  - {name: r, metric: act, objective: 5m}\n  - {name: r, metric: rollback_exercised, objective: 30d}", "used twice"),
    ])
    func aBadReadinessObjectiveIsRefusedWithItsField(entry: String, message: String) {
        #expect {
            _ = try PipelineFile.parse(Self.minimal + "\nslos:\n" + entry + "\n", file: "p.yaml")
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func inputsAndTheirSettingsAreRead() throws {
        let d = try PipelineFile.parse("""
            source:
              kafka: {brokers: "127.0.0.1:9092", topics: [events], group: g, format: auto}
            log: {directory: /tmp/log}
            http: {listen: "0.0.0.0:9464", idle_timeout: 90s, read_timeout: 5s, tls: {certificate: c.pem, key: k.pem}}
            inputs:
              - {kind: alertmanager, token_env: AM, max_body_bytes: 1000, max_events: 50, labels: {service: [app], severity: level}}
              - {kind: pagerduty, secret_env: PD, service_field: id}
              - {kind: cdevents, failed_pipelines_are_failed_deploys: true}
              - {kind: argo-rollouts}
            """, file: "p.yaml")
        #expect(d.kafka.format == .auto)
        #expect(d.http.idleTimeout == .seconds(90) && d.http.readTimeout == .seconds(5))
        #expect(d.http.tls?.certificate == "c.pem" && d.http.tls?.key == "k.pem")
        #expect(d.inputs.map(\.kind) == [.alertmanager, .pagerduty, .cdevents, .argoRollouts])
        let am = d.inputs[0]
        #expect(am.tokenVariable == "AM" && am.maxBodyBytes == 1000 && am.maxEvents == 50)
        #expect(am.alertmanagerLabels.service == ["app"] && am.alertmanagerLabels.severity == "level" && am.alertmanagerLabels.team == "team")
        #expect(d.inputs[1].secretVariable == "PD" && d.inputs[1].pagerDutyServiceField == .id)
        #expect(d.inputs[2].failedPipelinesAreFailedDeploys)
    }

    @Test(arguments: [
        ("inputs: [{kind: alertmanager}]", "http.listen"),
        ("http: {listen: \"127.0.0.1:1\"}\ninputs: [{kind: jenkins}]", "unknown input kind"),
        ("http: {listen: \"127.0.0.1:1\"}\ninputs: [{kind: pagerduty}]", "secret_env"),
        ("http: {listen: \"127.0.0.1:1\"}\ninputs: [{kind: events}, {kind: events}]", "given twice"),
        ("http: {listen: \"127.0.0.1:1\"}\ninputs: [{kind: events, labels: {severity: s}}]", "alertmanager input only"),
        ("http: {listen: \"127.0.0.1:1\", tls: {certificate: c.pem}}", "`certificate` and `key`"),
    ])
    func aBadInputSettingIsRefusedWithItsField(extra: String, message: String) {
        #expect {
            _ = try PipelineFile.parse(Self.minimal + "\n" + extra + "\n", file: "p.yaml")
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func aLiveRetentionIsReadAndAbsentMeansTheWholeHistory() throws {
        let d = try PipelineFile.parse(Self.minimal + "\nlive: {retention: 60d}\nslos:\n  - {name: a, metric: act, objective: 5m}\n", file: "p.yaml")
        #expect(d.retention == .seconds(60 * 86_400))
        #expect(try PipelineFile.parse(Self.minimal, file: "p.yaml").retention == nil)
    }

    @Test func aKafkaSourceFormatMustBeKnown() {
        #expect {
            _ = try PipelineFile.parse(Self.minimal.replacingOccurrences(of: "group: g}", with: "group: g, format: json}"), file: "p.yaml")
        } throws: { error in
            "\(error)".contains("doralog, cdevents, auto")
        }
    }

    @Test func omittedSLOFieldsTakeTheSpecsDefaults() throws {
        let d = try PipelineFile.parse(Self.minimal + "\nslos:\n  - {name: a, metric: act, objective: 2h}\n", file: "p.yaml")
        let slo = try #require(d.slos.first)
        #expect(slo.selection == .all && slo.per == .service && slo.percentileTenths == 950)
        #expect(slo.window == 28 * 86_400_000_000 && slo.minSamples == 5)
        #expect(slo.regression == SLODefinition.Regression(significance: 0.01, minIncrease: 0.2))
        #expect(d.metrics == MetricsConfiguration())
        #expect(d.alerts.stdout && d.alerts.kafkaTopic == nil && d.listen == nil)
    }

    @Test(arguments: [
        ("slos:\n  - {name: a, metric: act, objective: soon}\n", 5, "slos[0].objective", "expected a duration"),
        ("slos:\n  - {name: a, metric: rollback, objective: 5m}\n", 5, "slos[0].metric", "unknown metric"),
        ("slos:\n  - {name: a, metric: act, objective: 5m, percentile: 97.25}\n", 5, "slos[0].percentile", "one decimal"),
        ("slos:\n  - {name: a, metric: act, objective: 5m, percentil: 99}\n", 5, "slos[0].percentil", "unknown field"),
        ("slos:\n  - {name: a, metric: act, objective: 5m, select: {team: x, tier: y}}\n", 5, "slos[0].select", "exactly one"),
        ("slos:\n  - {name: a, metric: act, objective: 5m}\n  - {name: a, metric: act, objective: 5m}\n", 6, "slos[1]", "used twice"),
        ("services:\n  - {match: api}\n", 5, "services[0]", "tier"),
        ("alerts:\n  alertmanager: {url: localhost:9093}\n", 5, "alerts.alertmanager.url", "http://"),
        ("http: {listen: nowhere}\n", 4, "http.listen", "HOST:PORT"),
        ("live: {retention: 20d}\nslos:\n  - {name: a, metric: act, objective: 5m, window: 14d}\n", 4, "live.retention", "twice the longest SLO window (2419200s here)"),
        ("live: {retention: 12h}\n", 4, "live.retention", "at least 1d"),
        ("live: {retain: 60d}\n", 4, "live.retain", "unknown field"),
    ] as [(String, Int, String, String)])
    func aBadFieldIsNamedWithItsFileAndLine(_ yaml: String, line: Int, field: String, message: String) {
        do {
            _ = try PipelineFile.parse(Self.minimal + "\n" + yaml, file: "p.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.file == "p.yaml" && error.line == line && error.field == field, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            #expect(error.description.hasPrefix("p.yaml:\(line):"))
        }
    }

    @Test func brokenYAMLAndMissingSectionsAreClearErrors() {
        #expect(throws: PipelineFileError.self) { try PipelineFile.parse("source: [unclosed\n", file: "p.yaml") }
        do {
            _ = try PipelineFile.parse("log: {directory: x}\n", file: "p.yaml")
        } catch {
            #expect(error.message.contains("`source` is required"))
        }
        do {
            _ = try PipelineFile.load("/nonexistent/p.yaml")
        } catch {
            #expect(error.description == "/nonexistent/p.yaml: cannot read the file (does it exist?)")
        }
    }

    @Test func globsAssignTiersAndTheFirstMatchingRuleWins() {
        let a = ServiceAssignments([
            .init(pattern: "checkout-?", tier: "tier-1"), .init(pattern: "checkout*", tier: "tier-2", team: "shop"),
            .init(pattern: "*", tier: "tier-3"),
        ])
        #expect(a.tier(of: "checkout-1") == "tier-1" && a.tier(of: "checkout-12") == "tier-2" && a.tier(of: "api") == "tier-3")
        #expect(a.team(of: "checkout-1", fromEvents: nil) == "shop" && a.team(of: "api", fromEvents: "core") == "core")
    }

    @Test func aBacktestReadsAFileWithoutSourceOrLogButRunNeedsThem() throws {
        try withTemporaryFile("services:\n  - {match: checkout, tier: tier-1}\nslos:\n  - {name: a, metric: act, objective: 2h, select: {tier: tier-1}}\n") { path in
            let evaluation = try PipelineFile.loadEvaluation(path)
            #expect(evaluation.slos.map(\.name) == ["a"] && evaluation.assignments.tier(of: "checkout") == "tier-1")
            #expect(throws: PipelineFileError.self) { _ = try PipelineFile.load(path) }
        }
        // A source that is given is still checked.
        try withTemporaryFile("source: {kafka: {brokers: x}}\nslos: []\n") { path in
            #expect(throws: PipelineFileError.self) { _ = try PipelineFile.loadEvaluation(path) }
        }
    }

    @Test func aSelectionOfAnUnknownTierOrTeamIsAWarningThatNamesIt() throws {
        let yaml = Self.minimal + """

            services:
              - {match: checkout, tier: tier-1, team: payments}
            slos:
              - {name: known, metric: act, objective: 2h, select: {tier: tier-1}}
              - {name: typo-tier, metric: act, objective: 2h, select: {tier: tier1}}
              - {name: log-team, metric: act, objective: 2h, select: {team: search}}
              - {name: typo-team, metric: act, objective: 2h, select: {team: paymnets}}
            """
        let evaluation = try PipelineFile.parse(yaml, file: "p.yaml").evaluation
        let warnings = evaluation.selectionWarnings(eventTeams: ["search"])
        #expect(warnings == [
            "p.yaml: slos[1] (typo-tier): select.tier 'tier1' is no tier of the file's services (tiers: tier-1); the SLO selects nothing",
            "p.yaml: slos[3] (typo-team): select.team 'paymnets' is no team of the file's services or of the log's events (teams: payments, search); the SLO selects nothing",
        ])
    }

    func withTemporaryFile(_ text: String, _ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }
}
