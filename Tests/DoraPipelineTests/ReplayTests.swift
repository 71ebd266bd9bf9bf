import DoraEventLog
import DoraEvents
import DoraGenerator
import DoraMetrics
import DoraPipeline
import DoraReports
import DoraTestSupport
import Testing

@Suite struct ReplayTests {
    /// A log of a generated year-long stream, small segments so the blocks are many.
    func makeLog(_ dir: String, events: Int = 30_000, services: Int = 10) throws -> [String] {
        var configuration = GeneratorConfiguration()
        configuration.events = events
        configuration.days = 360
        configuration.services = services
        let lines = EventGenerator(configuration: configuration).lines()
        let log = try EventLog(directory: dir, configuration: LogConfiguration(segmentBytes: 256 << 10))
        for chunk in stride(from: 0, to: lines.count, by: 500) {
            _ = try log.append(LogTesting.batch(Array(lines[chunk..<min(chunk + 500, lines.count)])))
        }
        return lines
    }

    @Test func aReplayOfTheLogEqualsTheEngineOverItsEvents() throws {
        try withTemporaryDirectory { dir in
            // Enough services that the replay's lookup of services by their bytes grows.
            let lines = try makeLog(dir, events: 8000, services: 300)
            var engine = MetricsEngine()
            var seen = Set<String>()
            for line in lines { if let e = try? EventDecoder.decode(line), seen.insert(e.id).inserted { engine.add(e) } }
            let direct = engine.report(period: engine.defaultPeriod!, log: (0, 0, 0))
            var replay = Replay()
            replay.now = Timestamp.parse(rfc3339: "2030-01-01T00:00:00Z")!  // the generated year is in the past then
            let replayed = try replay.report(directories: [dir], from: nil, to: nil)
            #expect(replayed.totals == direct.totals && replayed.services == direct.services && replayed.teams == direct.teams)
            #expect(replayed.events.stored == seen.count)
            #expect(replayed.events.duplicates + replayed.events.rejected + replayed.events.stored == lines.count)
        }
    }

    @Test func aPeriodReadWithAMarginAgreesWithTheExactReadAndSkipsBlocks() throws {
        try withTemporaryDirectory { dir in
            _ = try makeLog(dir)
            let from = Timestamp.parse(rfc3339: "2026-10-01T00:00:00Z")!
            let to = Timestamp.parse(rfc3339: "2027-01-01T00:00:00Z")!
            let exact = try Replay().report(directories: [dir], from: from, to: to)
            let fast = try Replay(margin: .seconds(7 * 86_400)).report(directories: [dir], from: from, to: to)
            #expect(JSONReportRenderer.render(fast) == JSONReportRenderer.render(exact))
            #expect(exact.events.ignored > 0 && fast.events.ignored == exact.events.ignored)
            let reader = try LogReader(directory: dir)
            let window = from.advanced(byMicroseconds: -7 * Timestamp.microsecondsPerDay)..<to.advanced(byMicroseconds: 7 * Timestamp.microsecondsPerDay)
            #expect(reader.blocks(overlapping: window).count * 2 < reader.blocks.count, "a quarter of a year reads well under half the blocks")
        }
    }

    @Test func severalLogsAreMergedAndDeDuplicatedByID() throws {
        try withTemporaryDirectory { dir in
            let a = try EventLog(directory: dir + "/a")
            let b = try EventLog(directory: dir + "/b")
            _ = try a.append(LogTesting.batch(Array(EventJSON.specExample[0..<3])))
            _ = try b.append(LogTesting.batch(Array(EventJSON.specExample[2..<5])))
            let merged = try Replay().report(directories: [dir + "/a", dir + "/b"], from: nil, to: nil)
            let single = MetricsTesting.report(EventJSON.specExample)
            #expect(merged.totals == single.totals)
            #expect(merged.events.stored == 5 && merged.events.duplicates == 1)
        }
    }

    @Test func anEmptyLogNeedsAnExplicitPeriodAndAnEmptyPeriodIsRefused() throws {
        try withTemporaryDirectory { dir in
            _ = try EventLog(directory: dir)
            #expect(throws: Replay.Failure.self) { _ = try Replay().report(directories: [dir], from: nil, to: nil) }
            let t = Timestamp.parse(rfc3339: "2026-07-01T00:00:00Z")!
            let r = try Replay().report(directories: [dir], from: t, to: t.advanced(byMicroseconds: Timestamp.microsecondsPerDay))
            #expect(r.totals.deployments.count == 0 && r.services.isEmpty)
            do {
                _ = try Replay().report(directories: [dir], from: t, to: t)
                Issue.record("an empty period was accepted")
            } catch {
                guard case Replay.Failure.emptyPeriod? = error as? Replay.Failure else { Issue.record("wrong failure \(error)"); return }
            }
        }
    }

    /// Issue: one event dated 2099 stretched the default period to 26,452 days and made every
    /// rate zero. By hand: the worked example (one deploy on July 1st) and a deploy in 2099,
    /// reported on December 3rd: the period is July 1st to 2nd, one deploy a day, and the 2099
    /// event is counted as left out. With --to given, the period holds it.
    @Test func anEventDatedFarInTheFutureLeavesTheDefaultPeriodAndIsCounted() throws {
        try withTemporaryDirectory { dir in
            let future = EventJSON.deploy("d-2099", at: "2099-01-01T00:00:00Z", service: "search")
            let log = try EventLog(directory: dir)
            _ = try log.append(LogTesting.batch(EventJSON.specExample + [future]))
            var replay = Replay()
            replay.now = Timestamp.parse(rfc3339: "2026-12-03T08:00:00Z")!
            let report = try replay.report(directories: [dir], from: nil, to: nil)
            #expect(report.period == Period(from: Timestamp.parse(rfc3339: "2026-07-01T00:00:00Z")!, to: Timestamp.parse(rfc3339: "2026-07-02T00:00:00Z")!))
            #expect(report.totals.deployments.perDay == 1 && report.futureEvents == 1)
            #expect(report.events.stored == 6, "the event is stored and counted as such")
            let explicit = try replay.report(directories: [dir], from: nil, to: Timestamp.parse(rfc3339: "2100-01-01T00:00:00Z")!)
            #expect(explicit.totals.deployments.count == 2 && explicit.futureEvents == 0)
            // A day ahead is still the present (clocks drift, time zones differ).
            replay.now = Timestamp.parse(rfc3339: "2098-12-31T00:00:00Z")!
            #expect(try replay.report(directories: [dir], from: nil, to: nil).futureEvents == 0)
        }
    }

    @Test func aLogOfOnlyFutureEventsNeedsTo() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            _ = try log.append(LogTesting.batch([EventJSON.deploy("d-2099", at: "2099-01-01T00:00:00Z")]))
            var replay = Replay()
            replay.now = Timestamp.parse(rfc3339: "2026-12-03T08:00:00Z")!
            #expect(throws: Replay.Failure.self) { _ = try replay.report(directories: [dir], from: nil, to: nil) }
            do {
                _ = try replay.report(directories: [dir], from: nil, to: nil)
            } catch {
                #expect("\(error)".contains("every event of the log is dated after 2026-12-04T08:00:00Z"))
            }
        }
    }
}
