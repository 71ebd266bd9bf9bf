import DoraEvents
import DoraInputs
import Foundation
import Testing

/// CDEvents v0.4.x and v0.5.x to doralog's events, in structured and binary mode and in batches.
@Suite struct CDEventsMappingTests {
    /// One real-shaped CDEvent of a spec version, and the official schema it must satisfy.
    struct Sample: Sendable {
        var tag: String
        var schema: String
        var json: String
    }

    static func context(_ tag: String, _ id: String, _ type: String, _ time: String) -> String {
        let version = tag == "v0.4.1" ? #""version":"0.4.1""# : #""specversion":"0.5.1""#
        let major = tag == "v0.4.1" ? "0.2.0" : "0.3.0"
        return #"{\#(version),"id":"\#(id)","source":"/ci/argo","type":"dev.cdevents.\#(type).\#(major)","timestamp":"\#(time)"}"#
    }

    static func subject(_ tag: String, _ id: String, _ type: String, _ content: String) -> String {
        tag == "v0.4.1"
            ? #"{"id":"\#(id)","source":"/ci/argo","type":"\#(type)","content":\#(content)}"#
            : #"{"id":"\#(id)","source":"/ci/argo","content":\#(content)}"#
    }

    static func samples(_ tag: String) -> [Sample] {
        let env = #""environment":{"id":"production","source":"/clusters/prod"}"#
        return [
            Sample(tag: tag, schema: "servicedeployed", json: #"{"context":\#(context(tag, "e-1", "service.deployed", "2026-07-01T10:00:00Z")),"subject":\#(subject(tag, "checkout", "service", "{\(env),\"artifactId\":\"pkg:oci/checkout@v42\"}")),"customData":{"commits":[{"sha":"a1","time":"2026-06-30T15:00:00Z"}]},"customDataContentType":"application/json"}"#),
            Sample(tag: tag, schema: "serviceupgraded", json: #"{"context":\#(context(tag, "e-2", "service.upgraded", "2026-07-02T10:00:00Z")),"subject":\#(subject(tag, "checkout", "service", "{\(env),\"artifactId\":\"pkg:oci/checkout@v43\"}"))}"#),
            Sample(tag: tag, schema: "incidentdetected", json: #"{"context":\#(context(tag, "e-3", "incident.detected", "2026-07-02T10:04:00Z")),"subject":\#(subject(tag, "inc-7", "incident", "{\(env),\"service\":{\"id\":\"checkout\"},\"description\":\"5xx\"}")),"customData":{"severity":"critical"}}"#),
            Sample(tag: tag, schema: "servicerolledback", json: #"{"context":\#(context(tag, "e-4", "service.rolledback", "2026-07-02T10:08:30Z")),"subject":\#(subject(tag, "checkout", "service", "{\(env),\"artifactId\":\"pkg:oci/checkout@v42\"}")),"customData":{"startedAt":"2026-07-02T10:06:00Z","fromVersion":"pkg:oci/checkout@v43","trigger":"auto"}}"#),
            Sample(tag: tag, schema: "incidentresolved", json: #"{"context":\#(context(tag, "e-5", "incident.resolved", "2026-07-02T10:11:00Z")),"subject":\#(subject(tag, "inc-7", "incident", "{\(env),\"service\":{\"id\":\"checkout\"}}"))}"#),
            Sample(tag: tag, schema: "pipelinerunfinished", json: #"{"context":\#(context(tag, "e-6", "pipelinerun.finished", "2026-07-02T11:00:00Z")),"subject":\#(subject(tag, "run-9", "pipelineRun", "{\"pipelineName\":\"deploy-cart\",\"outcome\":\"failure\"}")),"customData":{"service":"cart","version":"v7"}}"#),
            Sample(tag: tag, schema: "servicepublished", json: #"{"context":\#(context(tag, "e-7", "service.published", "2026-07-02T12:00:00Z")),"subject":\#(subject(tag, "checkout", "service", "{\(env)}"))}"#),
        ]
    }

    static let all = samples("v0.4.1") + samples("v0.5.1")

    /// The CloudEvent (structured mode) around a CDEvent.
    static func structured(_ cdevent: String, id: String) -> String {
        #"{"specversion":"1.0","id":"\#(id)","source":"/ci/argo","type":"dev.cdevents.x","datacontenttype":"application/json","data":\#(cdevent),"unknownext":"kept"}"#
    }

    static func decoded(_ events: [MappedEvent]) throws -> [Event] { try events.map { try EventDecoder.decode($0.json) } }

    @Test(arguments: ["v0.4.1", "v0.5.1"])
    func eachVersionsEventsMapAsDocumented(tag: String) throws {
        let mapping = CDEventsMapping()
        let s = Self.samples(tag)
        let deployed = try Self.decoded(try mapping.map(Array(s[0].json.utf8)))
        #expect(deployed.map(\.id) == ["cde:/ci/argo#e-1"])
        #expect(deployed[0].service == "checkout" && deployed[0].environment == "production")
        #expect(deployed[0].details == .deploy(Event.Deploy(
            version: "pkg:oci/checkout@v42", commits: [Event.Commit(sha: "a1", time: Timestamp.parse(rfc3339: "2026-06-30T15:00:00Z")!)])))
        let upgraded = try Self.decoded(try mapping.map(Array(s[1].json.utf8)))
        #expect(upgraded[0].details == .deploy(Event.Deploy(version: "pkg:oci/checkout@v43")))
        let detected = try Self.decoded(try mapping.map(Array(s[2].json.utf8)))
        #expect(detected[0].service == "checkout")
        #expect(detected[0].details == .alert(Event.Alert(alertID: "cde-incident:inc-7", status: .firing, severity: "critical")))
        let rolledBack = try Self.decoded(try mapping.map(Array(s[3].json.utf8)))
        #expect(rolledBack.map(\.id) == ["cde:/ci/argo#e-4-started", "cde:/ci/argo#e-4-completed"])
        #expect(rolledBack[0].time == Timestamp.parse(rfc3339: "2026-07-02T10:06:00Z"))
        #expect(rolledBack[0].details == .rollback(Event.Rollback(
            rollbackID: "cde:/ci/argo#e-4", status: .started, fromVersion: "pkg:oci/checkout@v43", toVersion: "pkg:oci/checkout@v42", trigger: .auto)))
        #expect(rolledBack[1].details == .rollback(Event.Rollback(rollbackID: "cde:/ci/argo#e-4", status: .completed, toVersion: "pkg:oci/checkout@v42")))
        let resolved = try Self.decoded(try mapping.map(Array(s[4].json.utf8)))
        #expect(resolved[0].details == .alert(Event.Alert(alertID: "cde-incident:inc-7", status: .resolved)))
        // A failed pipeline run is a failed deploy only when asked; otherwise an unknown type.
        let pipeline = try Self.decoded(try mapping.map(Array(s[5].json.utf8)))
        #expect(pipeline[0].type == "cdevents.pipelinerun.finished")
        var deploys = mapping
        deploys.failedPipelinesAreFailedDeploys = true
        let failed = try Self.decoded(try deploys.map(Array(s[5].json.utf8)))
        #expect(failed[0].service == "cart" && failed[0].details == .deploy(Event.Deploy(version: "v7", status: .failed)))
        // Unknown types are kept as unknown types, not rejected.
        let published = try Self.decoded(try mapping.map(Array(s[6].json.utf8)))
        #expect(published[0].type == "cdevents.service.published" && published[0].service == "checkout")
    }

    @Test func aRollbackWithoutItsStartIsACompletionWithoutDuration() throws {
        let json = #"{"context":\#(Self.context("v0.5.1", "r-1", "service.rolledback", "2026-07-02T10:08:30Z")),"subject":\#(Self.subject("v0.5.1", "checkout", "service", #"{"environment":{"id":"staging"},"artifactId":"v41"}"#))}"#
        let events = try Self.decoded(try CDEventsMapping().map(Array(json.utf8)))
        #expect(events.map(\.id) == ["cde:/ci/argo#r-1-completed"])
        #expect(events[0].environment == "staging")
    }

    @Test func structuredAndBareFormsGiveTheSameEventsAndABatchMapsItemByItem() throws {
        let mapping = CDEventsMapping()
        for sample in Self.all {
            let bare = try mapping.map(Array(sample.json.utf8))
            let wrapped = try mapping.map(Array(Self.structured(sample.json, id: "ce-1").utf8))
            #expect(bare == wrapped, "\(sample.tag) \(sample.schema)")
        }
        let batch = "[" + Self.structured(Self.all[0].json, id: "a") + ",{\"specversion\":\"1.0\"}," + Self.structured(Self.all[2].json, id: "b") + "]"
        let mapped = try mapping.mapBatch(Array(batch.utf8))
        #expect(mapped.events.count == 2)
        #expect(mapped.rejections == [ItemRejection(index: 1, reason: "the CloudEvent has no data (the CDEvent)")])
    }

    @Test(arguments: [
        (#"{"specversion":"0.3","data":{}}"#, "specversion must be \"1.0\""),
        (#"{"specversion":"1.0","data_base64":"e30="}"#, "data_base64"),
        (#"{"hello":"world"}"#, "not a CDEvent"),
        (#"{"context":{"id":"1","source":"s","type":"com.example.x","timestamp":"2026-07-01T00:00:00Z"},"subject":{"id":"x"}}"#, "not a CDEvents type"),
        (#"{"context":{"id":"1","source":"s","type":"dev.cdevents.service.deployed.0.2.0","timestamp":"noon"},"subject":{"id":"x"}}"#, "timestamp"),
        (#"{"context":{"id":"1","source":"s","type":"dev.cdevents.service.deployed.0.2.0","timestamp":"2026-07-01T00:00:00Z"},"subject":{"id":"x","content":{}}}"#, "artifactId"),
        (#"{"context":{"id":"1","source":"s","type":"dev.cdevents.incident.detected.0.2.0","timestamp":"2026-07-01T00:00:00Z"},"subject":{"id":"i","content":{"environment":{"id":"p"}}}}"#, "names no service"),
    ])
    func aCDEventThatCannotBeMappedSaysWhy(json: String, message: String) {
        #expect {
            _ = try CDEventsMapping().map(Array(json.utf8))
        } throws: { error in
            (error as? InputError)?.message.contains(message) == true
        }
    }

    /// The samples are valid CDEvents: checked against the official JSON schemas of
    /// cdevents/spec at the tags v0.4.1 and v0.5.1, with a JSON Schema validator. Needs a clone
    /// of the spec (`CDEVENTS_SPEC_GIT`, a git directory).
    @Test(.enabled(if: CDEventsMappingTests.specDirectory != nil, "set CDEVENTS_SPEC_GIT to a clone of github.com/cdevents/spec"))
    func theSamplesConformToTheOfficialSchemas() throws {
        let samples = try Self.all.map { s -> [String: Any] in
            ["tag": s.tag, "schema": s.schema, "event": try JSONSerialization.jsonObject(with: Data(s.json.utf8))]
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cdevents-samples-\(getpid()).json").path
        try JSONSerialization.data(withJSONObject: samples).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/check-cdevents.py").path
        process.arguments = ["python3", script, Self.specDirectory!, file]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.components(separatedBy: "\nok ").count + (output.hasPrefix("ok ") ? 1 : 0) - 1 == Self.all.count, "\(output)")
    }

    static var specDirectory: String? {
        if let dir = ProcessInfo.processInfo.environment["CDEVENTS_SPEC_GIT"], !dir.isEmpty { return dir }
        return nil
    }
}
