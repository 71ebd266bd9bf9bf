import DoraEvents
import DoraInputs
import Testing

/// Flagger's event webhook and Argo Rollouts' notifications (doralog's template).
@Suite struct RolloutControllersMappingTests {
    static func flagger(_ phase: String, _ message: String, ms: Int64, metadata: String = "") -> [UInt8] {
        Array(#"{"name":"podinfo","namespace":"test","phase":"\#(phase)","checksum":"6d5b4d7f","metadata":{"eventMessage":"\#(message)","eventType":"Warning","timestamp":"\#(ms)"\#(metadata)}}"#.utf8)
    }

    @Test func aFailedCanaryIsAnAutomaticRollbackAndAPromotionADeploy() throws {
        let m = FlaggerMapping()
        let started = try m.map(Self.flagger("Progressing", "Rolling back podinfo.test failed checks threshold reached 5", ms: 1_782_900_000_000))
        let failed = try m.map(Self.flagger("Failed", "Canary failed! Scaling down podinfo.test", ms: 1_782_900_045_500))
        let events = try (started.events + failed.events).map { try EventDecoder.decode($0.json) }
        #expect(events.map(\.id) == ["flagger:test/podinfo#6d5b4d7f-rollback-started", "flagger:test/podinfo#6d5b4d7f-rollback-completed"])
        #expect(events[0].details == .rollback(Event.Rollback(rollbackID: "flagger:test/podinfo#6d5b4d7f", status: .started, fromVersion: "6d5b4d7f", trigger: .auto)))
        #expect(events[1].time.microseconds - events[0].time.microseconds == 45_500_000 && events[0].service == "podinfo")
        let promoted = try m.map(Self.flagger("Succeeded", "Promotion completed! Scaling down podinfo.test", ms: 1_782_900_000_000,
                                              metadata: #","service":"checkout","environment":"staging","version":"v42""#))
        let deploy = try EventDecoder.decode(promoted.events[0].json)
        #expect(deploy.service == "checkout" && deploy.environment == "staging" && deploy.details == .deploy(Event.Deploy(version: "v42")))
        let progressing = try m.map(Self.flagger("Progressing", "Advance podinfo.test canary weight 10", ms: 1_782_900_000_000))
        #expect(progressing.events.isEmpty && progressing.ignored == 1)
    }

    @Test func aFlaggerBodyWithoutItsFieldsIsRefused() {
        #expect(throws: InputError.self) { _ = try FlaggerMapping().map(Array(#"{"name":"x"}"#.utf8)) }
        #expect(throws: InputError.self) {
            _ = try FlaggerMapping().map(Array(#"{"name":"x","namespace":"n","phase":"Failed","checksum":"c","metadata":{}}"#.utf8))
        }
    }

    static func argo(_ event: String, extra: String = "") -> [UInt8] {
        Array(#"{"rollout":"checkout","namespace":"prod","uid":"9f1c","revision":"7","event":"\#(event)","time":"2026-07-01T10:08:30Z"\#(extra)}"#.utf8)
    }

    @Test func anAbortIsAnAutomaticRollbackAndACompletionADeploy() throws {
        let m = ArgoRolloutsMapping()
        let completed = try EventDecoder.decode(m.map(Self.argo("completed", extra: #","version":"v42","environment":"production""#)).events[0].json)
        #expect(completed.id == "argo:prod/checkout#9f1c-7-deploy" && completed.details == .deploy(Event.Deploy(version: "v42")))
        let aborted = try m.map(Self.argo("aborted", extra: #","started_at":"2026-07-01T10:06:00Z","stable_version":"v41""#)).events.map {
            try EventDecoder.decode($0.json)
        }
        #expect(aborted.map(\.id) == ["argo:prod/checkout#9f1c-7-rollback-started", "argo:prod/checkout#9f1c-7-rollback-completed"])
        #expect(aborted[0].details == .rollback(Event.Rollback(
            rollbackID: "argo:prod/checkout#9f1c-7", status: .started, fromVersion: "7", toVersion: "v41", trigger: .auto)))
        #expect(aborted[1].time.microseconds - aborted[0].time.microseconds == 150_000_000)
        // Without started_at: a completion only (no duration is made up).
        #expect(try m.map(Self.argo("aborted")).events.count == 1)
        #expect(try m.map(Self.argo("updated")).ignored == 1)
        #expect(throws: InputError.self) { _ = try m.map(Array(#"{"rollout":"x","event":"completed","revision":"1","time":"later"}"#.utf8)) }
    }
}
