import DoraEvents
import DoraMetrics
import DoraTestSupport
import Testing

/// The live run's links and episodes, kept event by event (`MetricsEngine.trackEpisodes`),
/// against the analysis from scratch that `report` and the backtests use.
@Suite struct EpisodeIndexTests {
    static let hour: Int64 = 3_600_000_000
    static let day: Int64 = 86_400_000_000

    /// The generated events, with what a live stream also brings and the generator does not:
    /// rollbacks turned into drills after the fact, incidents whose earliest firing turns out
    /// to be a warning, rollbacks naming an unknown deploy id and an old version, failures of
    /// rollbacks never started, and late deploys of an old version that take over what
    /// follows them.
    static func events(seed: UInt64, generator: inout SplitMix64) -> [Event] {
        var out: [Event] = []
        var versions: [String: [String]] = [:]  // per service, its versions so far
        for e in GeneratedPropertyTests.events(seed: seed) {
            out.append(e)
            let t = e.time.microseconds
            func at(_ offset: Int64) -> Timestamp { Timestamp(microseconds: t + offset) }
            let roll = Int.random(in: 0..<100, using: &generator)
            switch e.details {
            case .deploy(let d):
                versions[e.service, default: []].append(d.version)
                if roll < 4, let old = versions[e.service]?.randomElement(using: &generator) {
                    out.append(Event(id: "\(e.id)-late", time: at(-3 * hour), service: e.service, details: .deploy(Event.Deploy(version: old))))
                }
            case .rollback(let r) where r.status == .started:
                if roll < 4 {
                    out.append(
                        Event(id: "\(e.id)-drill", time: at(hour), service: e.service,
                              details: .rollback(Event.Rollback(rollbackID: r.rollbackID, status: .completed, isDrill: true))))
                } else if roll < 9, let old = versions[e.service]?.randomElement(using: &generator) {
                    let id = "\(r.rollbackID)-far"
                    out.append(
                        Event(id: "\(e.id)-far-s", time: at(2 * hour), service: e.service,
                              details: .rollback(Event.Rollback(rollbackID: id, status: .started, fromVersion: old, deployID: "no-such-deploy"))))
                    out.append(
                        Event(id: "\(e.id)-far-c", time: at(2 * hour + 600_000_000), service: e.service,
                              details: .rollback(Event.Rollback(rollbackID: id, status: .completed))))
                } else if roll < 12 {
                    // A failure with no start: linked to no deploy, any later completion clears it.
                    out.append(
                        Event(id: "\(e.id)-orphan", time: at(-hour / 2), service: e.service,
                              details: .rollback(Event.Rollback(rollbackID: "\(r.rollbackID)-orphan", status: .failed))))
                }
            case .alert(let a) where a.status == .firing && roll < 4:
                out.append(
                    Event(id: "\(e.id)-warn", time: at(-60_000_000), service: e.service,
                          details: .alert(Event.Alert(alertID: a.alertID, status: .firing, severity: "warning"))))
            default:
                break
            }
        }
        return out
    }

    /// Per service, its samples of `metric` and its rollbacks' outcomes (sorted by id).
    static func outcomes(_ engine: MetricsEngine) -> [String: [RollbackOutcome]] {
        engine.timedSamples(of: [], withRollbackOutcomes: true).rollbackOutcomes.mapValues { $0.sorted { $0.rollbackID < $1.rollbackID } }
    }

    @Test(arguments: [41, 42, 43] as [UInt64])
    func keptEpisodesGiveTheAnalysedSamplesAndOutcomesAndTheirChangesLeadFromWhatWasTaken(seed: UInt64) {
        // Shuffled within a few hundred events, some arriving weeks late, with a retention
        // moving daily as in a live run (each step builds every index again).
        var generator = SplitMix64(state: 0xE915_0000 + seed)
        var events = Self.events(seed: seed, generator: &generator)
        for i in events.indices.dropLast(1) where Int.random(in: 0..<4, using: &generator) == 0 {
            events.swapAt(i, Int.random(in: i..<min(events.count, i + 300), using: &generator))
        }
        events = events.enumerated().sorted { ($0.offset % 41 == 0 ? $0.offset + 2_500 : $0.offset) < ($1.offset % 41 == 0 ? $1.offset + 2_500 : $1.offset) }
            .map(\.element)
        let retention = 12 * Self.day
        var kept = MetricsEngine()
        kept.trackEpisodes()
        var derived = MetricsEngine()
        let metrics = kept.keptMetrics.sorted { $0.rawValue < $1.rawValue }
        #expect(Set(metrics) == [.rollbackTime, .timeToRestore, .recoveryTime, .detect, .decide, .act, .verify])
        var taken: [DurationMetric: [String: [TimedSample]]] = [:]
        var retainedFrom = Int64.min
        var (checkpoints, samples, changed, removals, differing, failedOutcomes, forgets) = (0, 0, 0, 0, 0, 0, 0)
        var previousOutcomes: [String: [String: RollbackOutcome]] = [:]
        var (partialUpdates, handedChanges) = (0, 0)
        for (i, e) in events.enumerated() {
            if e.time.microseconds < retainedFrom {
                kept.addForgotten(e)
                derived.addForgotten(e)
            } else {
                kept.add(e)
                derived.add(e)
            }
            // Rounds of varying size, as a live run takes them.
            guard Int.random(in: 0..<150, using: &generator) == 0 || i == events.count - 1 else { continue }
            checkpoints += 1
            let changes = kept.takeSampleChanges(only: nil)
            for metric in metrics {
                for s in derived.timedSamples(metric) {
                    let now = kept.samplesAsTaken(metric, of: s.service)
                    if now != s.samples { differing += 1 }
                    let before = taken[metric]?[s.service] ?? []
                    let change = changes[metric]?[s.service]
                    #expect(LeadTimeIndexTests.applying(change, to: before) == s.samples, "\(metric) of \(s.service) after \(i + 1) events")
                    samples += s.samples.count
                    if change != nil { changed += 1 }
                    if !(change?.removed.isEmpty ?? true) { removals += 1 }
                    taken[metric, default: [:]][s.service] = s.samples
                }
            }
            let (a, b) = (Self.outcomes(kept), Self.outcomes(derived))
            #expect(a == b, "rollback outcomes after \(i + 1) events")
            // What a round hands the rollback alerts: every outcome that changed since the last.
            for (service, update) in kept.changedRollbackOutcomes(only: nil) {
                let now = Dictionary(uniqueKeysWithValues: (a[service] ?? []).map { ($0.rollbackID, $0) })
                let handed = Dictionary(update.outcomes.map { ($0.rollbackID, $0) }) { x, _ in x }
                #expect(handed.allSatisfy { now[$0.key] == $0.value }, "outcomes handed as they are now")
                if update.isComplete {
                    #expect(handed.count == now.count)
                    continue
                }
                partialUpdates += 1
                for (id, outcome) in now where previousOutcomes[service]?[id] != outcome {
                    #expect(handed[id] == outcome, "\(id) of \(service) changed but was not handed over, from \(String(describing: previousOutcomes[service]?[id]))")
                    handedChanges += 1
                }
            }
            previousOutcomes = a.mapValues { Dictionary(uniqueKeysWithValues: $0.map { ($0.rollbackID, $0) }) }
            #expect(kept.takeSampleChanges(only: nil).isEmpty, "taken: nothing changed since")
            failedOutcomes += a.values.joined().filter { $0.failed != nil && $0.failureCleared != nil }.count
            let start = Timestamp(microseconds: kept.latest!.microseconds - retention).startOfDay.microseconds
            if start > retainedFrom {
                kept.forget(before: Timestamp(microseconds: start))
                derived.forget(before: Timestamp(microseconds: start))
                retainedFrom = start
                forgets += 1
            }
        }
        #expect(differing == 0, "service-metrics whose kept samples differ from the analysed ones")
        #expect(partialUpdates > 80 && handedChanges > 50, "partial updates \(partialUpdates), changes handed \(handedChanges)")
        #expect(checkpoints > 30 && samples > 10_000 && changed > 1_500 && removals > 800 && failedOutcomes > 100 && forgets > 20,
                "checkpoints \(checkpoints), samples \(samples), changes \(changed), removals \(removals), cleared failures \(failedOutcomes), forgets \(forgets)")
    }

    /// Events of one service, "api", at `hours` after a fixed start.
    static func at(_ hours: Double) -> Timestamp {
        Timestamp(microseconds: 1_780_000_000_000_000 + Int64(hours * Double(hour)))
    }

    static func deploy(_ id: String, version: String, at hours: Double) -> Event {
        Event(id: id, time: at(hours), service: "api", details: .deploy(Event.Deploy(version: version)))
    }

    static func rollback(_ id: String, _ status: Event.Rollback.Status, from version: String? = nil, at hours: Double) -> Event {
        Event(id: "\(id)-\(status)", time: at(hours), service: "api", details: .rollback(Event.Rollback(rollbackID: id, status: status, fromVersion: version)))
    }

    static func alert(_ id: String, _ status: Event.Alert.Status, at hours: Double) -> Event {
        Event(id: "\(id)-\(status)", time: at(hours), service: "api", details: .alert(Event.Alert(alertID: id, status: status)))
    }

    @Test func aLateDeployTakesOverTheRollbackAfterItAndTheIncidentsMoveToTheDeploysLiveAtTheirFiring() {
        var engine = MetricsEngine()
        engine.trackEpisodes()
        // v1 at 0 h, rolled back from 2 h to 3 h; an incident fires at 4 h and resolves at 5 h.
        // v1's rollback completed before the firing, so the incident links to no deploy (v1 is
        // no longer live): one episode, v1's, healthy at 3 h.
        for e in [
            Self.deploy("d1", version: "v1", at: 0), Self.rollback("r", .started, from: "v1", at: 2), Self.rollback("r", .completed, at: 3),
            Self.alert("a", .firing, at: 4), Self.alert("a", .resolved, at: 5),
        ] { engine.add(e) }
        _ = engine.takeSampleChanges(only: nil)
        #expect(engine.samplesAsTaken(.recoveryTime, of: "api")?.map(\.id) == ["d1"])
        #expect(engine.samplesAsTaken(.recoveryTime, of: "api")?.map(\.value) == [3 * Self.hour])
        // A deploy of v1 again at 1 h arrives late: the rollback (started at 2 h) now links to
        // it (d2, healthy at 3 h), so d1 is live again at 4 h and the incident, passing over
        // d2, links to d1 (healthy at 5 h).
        engine.add(Self.deploy("d2", version: "v1", at: 1))
        var change = engine.takeSampleChanges(only: nil)[.recoveryTime]?["api"]
        #expect(change?.removed.map(\.value) == [3 * Self.hour])
        #expect(change?.added.map(\.id) == ["d2", "d1"])
        #expect(change?.added.map(\.value) == [2 * Self.hour, 5 * Self.hour])
        // A second rollback of v1 (2.5 h to 4.5 h) and a deploy d3 at 3.5 h: the rollback links
        // to d2 (the latest v1 deploy before it), whose first completion stays 3 h, and the
        // incident now links to d3, live at the firing: d1 has no episode any more.
        engine.add(Self.rollback("r2", .started, from: "v1", at: 2.5))
        engine.add(Self.rollback("r2", .completed, at: 4.5))
        engine.add(Self.deploy("d3", version: "v3", at: 3.5))
        change = engine.takeSampleChanges(only: nil)[.recoveryTime]?["api"]
        #expect(change?.removed.map(\.id) == ["d1"])
        #expect(change?.added.map(\.id) == ["d3"])
        #expect(change?.added.map(\.value) == [3 * Self.hour / 2])
        // The same, analysed from scratch.
        var derived = MetricsEngine()
        for e in [
            Self.deploy("d1", version: "v1", at: 0), Self.rollback("r", .started, from: "v1", at: 2), Self.rollback("r", .completed, at: 3),
            Self.alert("a", .firing, at: 4), Self.alert("a", .resolved, at: 5), Self.deploy("d2", version: "v1", at: 1),
            Self.rollback("r2", .started, from: "v1", at: 2.5), Self.rollback("r2", .completed, at: 4.5), Self.deploy("d3", version: "v3", at: 3.5),
        ] { derived.add(e) }
        for metric in [DurationMetric.recoveryTime, .detect, .decide, .act, .verify, .rollbackTime, .timeToRestore] {
            #expect(engine.samplesAsTaken(metric, of: "api") == derived.timedSamples(metric).first?.samples ?? [], "\(metric)")
        }
    }

    /// An engine keeping its episodes, fed `events`, its changes taken; and one fed the same,
    /// that analyses from scratch.
    static func keptAndAnalysed(_ events: [Event]) -> (kept: MetricsEngine, analysed: MetricsEngine) {
        var kept = MetricsEngine()
        kept.trackEpisodes()
        var analysed = MetricsEngine()
        for e in events {
            kept.add(e)
            analysed.add(e)
        }
        _ = kept.takeSampleChanges(only: nil)
        return (kept, analysed)
    }

    @Test func anIncidentFiredAsItsDeploysRollbackCompletesPassesOverThatDeployAsTheAnalysisDoes() {
        // d2's rollback completes at 4 h, the instant the incident fires: d2 is no longer live
        // then, so the incident links to d1 (within the attribution window).
        let events = [
            Self.deploy("d1", version: "v1", at: 0), Self.deploy("d2", version: "v2", at: 1), Self.rollback("r", .started, from: "v2", at: 2),
            Self.rollback("r", .completed, at: 4), Self.alert("a", .firing, at: 4), Self.alert("a", .resolved, at: 6),
        ]
        let (engine, derived) = Self.keptAndAnalysed(events)
        #expect(engine.samplesAsTaken(.recoveryTime, of: "api")?.map(\.id) == ["d2", "d1"])
        #expect(engine.samplesAsTaken(.recoveryTime, of: "api") == derived.timedSamples(.recoveryTime).first?.samples)
    }

    @Test func aRollbacksCompletionInALaterRoundEndsItsDeploysEpisode() {
        var engine = MetricsEngine()
        engine.trackEpisodes()
        for e in [Self.deploy("d1", version: "v1", at: 0), Self.rollback("r", .started, from: "v1", at: 1)] { engine.add(e) }
        #expect(engine.takeSampleChanges(only: nil)[.recoveryTime] == nil, "open: no sample yet")
        engine.add(Self.rollback("r", .completed, at: 1.5))
        let changes = engine.takeSampleChanges(only: nil)
        #expect(changes[.recoveryTime]?["api"]?.added.map(\.value) == [3 * Self.hour / 2])
        #expect(changes[.act]?["api"]?.added.map(\.value) == [Self.hour / 2])
        #expect(changes[.rollbackTime]?["api"]?.added.map(\.id) == ["r"])
    }

    @Test func aFailedRollbackIsClearedWhenItsDeploysEpisodeEndsAfterEveryCompletion() {
        // r1 completes before r2 fails; the incident resolving at 4 h ends d1's episode, which
        // clears r2's failure (slo.md, "Failed and stuck rollbacks").
        let failed = Event.Rollback(rollbackID: "r2", status: .failed)
        let events = [
            Self.deploy("d1", version: "v1", at: 0), Self.rollback("r1", .started, from: "v1", at: 1), Self.rollback("r1", .completed, at: 1.5),
            Self.alert("a", .firing, at: 0.5), Self.rollback("r2", .started, from: "v1", at: 2),
            Event(id: "r2-failed", time: Self.at(2.5), service: "api", details: .rollback(failed)), Self.alert("a", .resolved, at: 4),
        ]
        let (engine, derived) = Self.keptAndAnalysed(events)
        let outcome = Self.outcomes(engine)["api"]?.first { $0.rollbackID == "r2" }
        #expect(outcome?.failureCleared == Self.at(4).microseconds)
        #expect(Self.outcomes(engine) == Self.outcomes(derived))
    }
}
