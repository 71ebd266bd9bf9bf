import DoraMetrics
import DoraTestSupport
import Testing

@testable import DoraSLO

@Suite struct SLOAlertTests {
    static func alert(at: Int64, slo: String, scope: SLOScope, kind: SLOAlert.Kind, rollback: String?, state: SLOAlert.State) -> SLOAlert {
        var alert = SLOAlert(
            kind: kind, state: state, slo: slo, scope: scope, metric: .rollbackTime, percentileTenths: 950, value: 1,
            objective: 2, baseline: nil, pValue: nil, samples: 1, window: 3, at: at, exemplars: [])
        alert.rollbackID = rollback
        return alert
    }

    /// The order spelled out field by field, each compared as bytes.
    static func key(_ a: SLOAlert) -> (Int64, [UInt8], [UInt8], [UInt8], [UInt8]) {
        (a.at, Array(a.slo.utf8), Array(a.scopeJSON.utf8), Array(a.kind.rawValue.utf8), Array((a.rollbackID ?? "").utf8))
    }

    static func inOrder(_ a: SLOAlert, _ b: SLOAlert) -> Bool {
        let (x, y) = (key(a), key(b))
        if x.0 != y.0 { return x.0 < y.0 }
        for (p, q) in [(x.1, y.1), (x.2, y.2), (x.3, y.3), (x.4, y.4)] where p != q { return p.lexicographicallyPrecedes(q) }
        return false
    }

    @Test(arguments: 0..<4)
    func sortingOrdersByTimeSLOScopeKindAndRollbackAndKeepsEqualAlertsInTheirOrder(seed: UInt64) {
        var random = SplitMix64(state: 0x5EED_0200 + seed)
        let scopes: [SLOScope] = [
            .service("api"), .service("web"), .service("ápi"), .selection(.all), .selection(.team("payments")), .selection(.tier("tier-1")),
            .selection(.services(["api", "web"])),
        ]
        let kinds: [SLOAlert.Kind] = [.breach, .regression, .rollbackFailed, .rollbackStuck]
        // Few times and SLOs, so that most comparisons reach the scopes and beyond.
        var alerts = (0..<2_000).map { i in
            Self.alert(
                at: Int64.random(in: 0..<3, using: &random), slo: ["rb", "rec", "lt"].randomElement(using: &random)!,
                scope: scopes.randomElement(using: &random)!, kind: kinds.randomElement(using: &random)!,
                rollback: [nil, "r-1", "r-2"].randomElement(using: &random)!, state: i % 2 == 0 ? .firing : .resolved)
        }
        let unsorted = alerts
        SLOAlert.sort(&alerts)
        #expect(zip(alerts, alerts.dropFirst()).allSatisfy { !Self.inOrder($1, $0) }, "in order")
        // Stable: alerts equal in the order keep their order (told apart here by their state and
        // by their position in `unsorted`, which is what a stable sort of the positions gives).
        let positions = unsorted.indices.sorted { Self.inOrder(unsorted[$0], unsorted[$1]) || (!Self.inOrder(unsorted[$1], unsorted[$0]) && $0 < $1) }
        #expect(alerts == positions.map { unsorted[$0] })
    }

    @Test(arguments: 0..<4)
    func stillFiringGivesTheLatestTransitionOfEachAlertThatLeftItFiringInTheOrderTheAlertsFirstAppear(seed: UInt64) {
        var random = SplitMix64(state: 0x5EED_0300 + seed)
        let scopes: [SLOScope] = [.service("api"), .service("web"), .selection(.all), .selection(.team("payments"))]
        let kinds: [SLOAlert.Kind] = [.breach, .regression, .rollbackFailed]
        let transitions = (0..<1_000).map { i in
            Self.alert(
                at: Int64(i), slo: ["rb", "lt"].randomElement(using: &random)!, scope: scopes.randomElement(using: &random)!,
                kind: kinds.randomElement(using: &random)!, rollback: [nil, "r-1"].randomElement(using: &random)!,
                state: Bool.random(using: &random) ? .firing : .resolved)
        }
        // Spelled out: each identity in order of first appearance, then its last transition.
        var identities: [String] = []
        for t in transitions where !identities.contains(t.identity) { identities.append(t.identity) }
        let expected = identities.map { id in transitions.last { $0.identity == id }! }.filter { $0.state == .firing }
        let firing = SLOAlert.stillFiring(transitions)
        #expect(firing.map(\.at) == expected.map(\.at))
        #expect(!firing.isEmpty && firing.count < identities.count, "some alerts end firing and some resolved")
    }
}
