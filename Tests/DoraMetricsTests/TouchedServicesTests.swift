import DoraEvents
import DoraMetrics
import Testing

@Suite struct TouchedServicesTests {
    static let t0 = Timestamp(microseconds: 1_700_000_000_000_000)

    static func deploy(_ id: String, service: String, environment: String = "production") -> Event {
        Event(id: id, time: t0, service: service, environment: environment, details: .deploy(Event.Deploy(version: "v1")))
    }

    @Test func theServicesNamedSinceTheLastCallAreTakenOnceThenForgotten() {
        var engine = MetricsEngine()
        engine.add(Self.deploy("d1", service: "api"))
        engine.add(Self.deploy("d2", service: "api"))
        engine.add(Self.deploy("d3", service: "web"))
        #expect(engine.takeTouchedServices() == ["api", "web"])
        #expect(engine.takeTouchedServices().isEmpty)
        engine.add(Self.deploy("d4", service: "web"))
        #expect(engine.takeTouchedServices() == ["web"])
    }

    @Test func anEventOfAnotherEnvironmentTouchesItsServiceToo() {
        // It can still name the service's team, which selections by team depend on.
        var engine = MetricsEngine()
        engine.add(Self.deploy("d1", service: "batch", environment: "staging"))
        #expect(engine.takeTouchedServices() == ["batch"])
    }
}
