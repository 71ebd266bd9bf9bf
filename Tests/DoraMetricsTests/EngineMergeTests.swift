import DoraEvents
import DoraReports
import DoraTestSupport
import Testing

@testable import DoraMetrics

/// Replay folds a log on several threads into one engine each and merges them; records are
/// read in place instead of as events. Both must give exactly the engine of one thread.
@Suite struct EngineMergeTests {
    static func render(_ engine: MetricsEngine, period: Period) -> String {
        JSONReportRenderer.render(engine.report(period: period, log: (engine.added, 0, 0)))
    }

    static func deploy(_ id: String, at time: Timestamp, service: String, team: String?) -> Event {
        Event(id: id, time: time, service: service, team: team, details: .deploy(Event.Deploy(version: "v-" + id)))
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func enginesOfDisjointPartsMergeIntoTheEngineOfTheWhole(seed: UInt64) {
        let events = GeneratedPropertyTests.events(seed: seed)
        var whole = MetricsEngine()
        for e in events { whole.add(e) }
        let period = whole.defaultPeriod!
        // Three parts, split at random, so one alert or rollback has events in several parts.
        var parts = [MetricsEngine(), MetricsEngine(), MetricsEngine()]
        for (i, e) in events.enumerated() { parts[Int((UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ seed) >> 32) % 3].add(e) }
        var merged = MetricsEngine()
        for part in parts { merged.merge(part) }
        #expect(merged.added == whole.added && merged.ignored == whole.ignored)
        #expect(merged.defaultPeriod == period)
        #expect(Self.render(merged, period: period) == Self.render(whole, period: period))
        #expect(merged.timedSamples(of: Set(DurationMetric.allCases)) == whole.timedSamples(of: Set(DurationMetric.allCases)))
        // A merged engine keeps taking events, and consolidating it changes nothing.
        var consolidated = merged
        consolidated.consolidate()
        #expect(Self.render(consolidated, period: period) == Self.render(whole, period: period))
        let late = Self.deploy("late-deploy", at: period.from, service: events[0].service, team: nil)
        whole.add(late)
        merged.add(late)
        #expect(Self.render(merged, period: period) == Self.render(whole, period: period))
    }

    @Test func everyMetricsTimedSamplesComeInTimeThenIDThenValueOrder() {
        var engine = MetricsEngine()
        for e in GeneratedPropertyTests.events(seed: 14) { engine.add(e) }
        var checked = 0
        for (metric, services) in engine.timedSamples(of: Set(DurationMetric.allCases)) {
            for service in services {
                let reference = service.samples.sorted { a, b in
                    if a.time != b.time { return a.time < b.time }
                    if a.id != b.id { return Array(a.id.utf8).lexicographicallyPrecedes(Array(b.id.utf8)) }
                    return a.value < b.value
                }
                #expect(service.samples == reference, "\(metric) of \(service.service)")
                checked += service.samples.count
            }
        }
        #expect(checked > 1000)
    }

    @Test func recordsAndEventsBothCompareEnvironmentAndSeverityAsBytes() {
        var configuration = MetricsConfiguration()
        configuration.environment = "caf\u{E9}"  // é as one code point
        configuration.incidentSeverities = ["s\u{E9}v"]
        let decomposed = "cafe\u{301}"  // the same text, e + combining accent: other bytes
        let t0 = Timestamp(microseconds: 1_700_000_000_000_000)
        let events = [
            Event(id: "d1", time: t0, service: "api", environment: decomposed, details: .deploy(Event.Deploy(version: "v1"))),
            Event(id: "d2", time: t0, service: "api", environment: "caf\u{E9}", details: .deploy(Event.Deploy(version: "v2"))),
            Event(
                id: "a1", time: t0.advanced(byMicroseconds: 1), service: "api", environment: "caf\u{E9}",
                details: .alert(Event.Alert(alertID: "x", status: .firing, severity: "se\u{301}v"))),
            Event(
                id: "a2", time: t0.advanced(byMicroseconds: 2), service: "api", environment: "caf\u{E9}",
                details: .alert(Event.Alert(alertID: "x", status: .resolved))),
        ]
        var fromEvents = MetricsEngine(configuration: configuration)
        for e in events { fromEvents.add(e) }
        var bytes: [UInt8] = []
        for e in events { EventBinaryCodec.encode(e, into: &bytes) }
        var fromRecords = MetricsEngine(configuration: configuration)
        bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            while !reader.isAtEnd { fromRecords.add(try! EventRecord.read(from: &reader)) }
        }
        for engine in [fromEvents, fromRecords] {
            let report = engine.report(period: engine.defaultPeriod!, log: (4, 0, 0))
            #expect(report.totals.deployments.count == 1, "only the deploy whose environment has the same bytes")
            #expect(report.totals.timeToRestore.stat.count == 0, "a severity with other bytes is not an incident")
        }
    }

    @Test func aTeamClaimSurvivesAMergeWhicheverPartHoldsTheLatestEvent() {
        let t0 = Timestamp(microseconds: 1_700_000_000_000_000)
        let early = Self.deploy("a", at: t0, service: "checkout", team: "payments")
        let later = Self.deploy("b", at: t0.advanced(byMicroseconds: 1), service: "checkout", team: "growth")
        for (first, second) in [(early, later), (later, early)] {
            var a = MetricsEngine()
            var b = MetricsEngine()
            a.add(first)
            b.add(second)
            a.merge(b)
            #expect(a.team(of: "checkout") == "growth")
        }
    }

    @Test(arguments: [21, 22] as [UInt64])
    func recordsReadInPlaceBuildTheSameEngineAsDecodedEvents(seed: UInt64) {
        var events = GeneratedPropertyTests.events(seed: seed)
        events.append(
            Event(
                id: "odd-one", time: events[0].time, service: events[0].service, environment: "staging", team: "",
                schemaVersion: 3, details: .unknown(type: "incident_note")))
        var bytes: [UInt8] = []
        for e in events { EventBinaryCodec.encode(e, into: &bytes) }
        var fromEvents = MetricsEngine()
        for e in events { fromEvents.add(e) }
        var fromRecords = MetricsEngine()
        bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            while !reader.isAtEnd { fromRecords.add(try! EventRecord.read(from: &reader)) }
        }
        let period = fromEvents.defaultPeriod!
        #expect(fromRecords.added == events.count && fromRecords.ignored == fromEvents.ignored)
        #expect(Self.render(fromRecords, period: period) == Self.render(fromEvents, period: period))
        for service in Set(events.map(\.service)) { #expect(fromRecords.team(of: service) == fromEvents.team(of: service)) }
    }
}

@Suite struct ChunkedArrayTests {
    @Test func elementsKeepTheirPositionsAcrossChunkBoundaries() {
        let n = 3 * ChunkedArray<Int>.chunkSize + 5
        var chunked = ChunkedArray<Int>()
        for i in 0..<n { chunked.append(i * 7) }
        #expect(chunked.count == n && Array(chunked) == (0..<n).map { $0 * 7 })
        // Each chunk ends at its size, though the allocator gives a chunk reserved at that size
        // room for more (16,890 Int64s for 16,384 here): else the tail grew as one array.
        #expect(chunked.fullChunks == 3)
        for i in [0, ChunkedArray<Int>.chunkSize - 1, ChunkedArray<Int>.chunkSize, n - 1] {
            chunked[i] = -i
            #expect(chunked[i] == -i)
        }
        #expect(chunked[1...3].reduce(0, +) == 42)
        chunked += [1, 2]
        #expect(chunked.count == n + 2 && chunked.last == 2)
    }

    /// Most services' arrays stay within the first chunk: it grows by about a quarter, so it
    /// is never left a third empty as doubling would leave it.
    @Test(arguments: [1_000, 2_100, 5_000, 9_000])
    func theFirstChunkIsNeverMuchLargerThanItsElements(count: Int) {
        var chunked = ChunkedArray<Int64>()
        for i in 0..<count { chunked.append(Int64(i)) }
        #expect(chunked.capacity >= count && chunked.capacity <= count + count * 3 / 10 + 64)
    }

    @Test func raisingTheFutureCutoffBringsEventsIntoTheDefaultPeriod() {
        var engine = MetricsEngine(futureCutoff: Timestamp.parse(rfc3339: "2026-07-02T00:00:00Z")!)
        for line in [EventJSON.deploy("a", at: "2026-07-01T10:00:00Z"), EventJSON.deploy("b", at: "2026-07-05T10:00:00Z")] {
            engine.add(try! EventDecoder.decode(line))
        }
        #expect(engine.futureEvents == 1 && engine.defaultPeriod?.to == Timestamp.parse(rfc3339: "2026-07-02T00:00:00Z"))
        engine.raiseFutureCutoff(to: Timestamp.parse(rfc3339: "2026-07-06T00:00:00Z")!)
        #expect(engine.futureEvents == 0 && engine.defaultPeriod?.to == Timestamp.parse(rfc3339: "2026-07-06T00:00:00Z"))
    }
}
