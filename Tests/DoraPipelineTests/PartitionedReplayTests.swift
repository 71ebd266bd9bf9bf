import DoraEventLog
import DoraEvents
import DoraGenerator
import DoraMetrics
import DoraPipeline
import DoraReports
import DoraTestSupport
import Foundation
import Testing

/// A report folded in partitions of services (a log larger than `eventsPerPartition`) is the
/// report of one pass, byte for byte, in every format and with every part a report can have.
@Suite struct PartitionedReplayTests {
    /// A generated stream (production and staging, teams, unknown types, duplicates), with
    /// drills of some services in both environments, stored in small segments.
    func makeLog(_ dir: String, events: Int = 12_000, services: Int = 40) throws {
        var configuration = GeneratorConfiguration()
        configuration.events = events
        configuration.days = 120
        configuration.services = services
        var lines = EventGenerator(configuration: configuration).lines()
        for (i, environment) in [(0, "production"), (1, "staging"), (2, "production")] {
            let service = "svc-\(i)"
            let day = "2026-08-1\(i)"
            lines.append(EventJSON.rollback("drill-\(i)-s", at: day + "T10:00:00Z", rollbackID: "drill-\(i)", status: "started",
                                            service: service, environment: environment, exercise: "drill"))
            lines.append(EventJSON.rollback("drill-\(i)-c", at: day + "T10:04:00Z", rollbackID: "drill-\(i)", status: "completed",
                                            service: service, environment: environment, exercise: "drill"))
        }
        let log = try EventLog(directory: dir, configuration: LogConfiguration(segmentBytes: 256 << 10))
        for chunk in stride(from: 0, to: lines.count, by: 500) {
            _ = try log.append(LogTesting.batch(Array(lines[chunk..<min(chunk + 500, lines.count)])))
        }
    }

    /// A replay as `doralog report --format html` sets it up (series, comparison, samples,
    /// longest recoveries, readiness), at a fixed moment after the generated stream.
    func replay(eventsPerPartition: Int, spillDirectory: String) -> Replay {
        var replay = Replay()
        replay.now = Timestamp.parse(rfc3339: "2030-01-01T00:00:00Z")!
        replay.series = .week
        replay.comparison = .previous
        replay.keepingSamples = true
        replay.longestRecoveries = 10
        replay.readinessObjective = 30 * Timestamp.microsecondsPerDay
        replay.eventsPerPartition = eventsPerPartition
        replay.partitionedAbove = 0
        replay.spillDirectory = spillDirectory
        return replay
    }

    func renderings(_ report: Report) throws -> [String] {
        let page = HTMLReportRenderer.Page(
            generatedAt: Timestamp.parse(rfc3339: "2030-01-01T00:00:00Z")!, command: "doralog report", version: "test",
            rollbackObjective: nil)
        return [
            JSONReportRenderer.render(report), MarkdownReportRenderer.render(report), CSVReportRenderer.render(report),
            try HTMLReportRenderer.render(report, page: page),
        ]
    }

    @Test func aReportFoldedInPartitionsIsByteIdenticalToOnePassInEveryFormat() throws {
        try withTemporaryDirectory { dir in
            try makeLog(dir + "/log")
            try FileManager.default.createDirectory(atPath: dir + "/spill", withIntermediateDirectories: true)
            let whole = try replay(eventsPerPartition: 0, spillDirectory: dir + "/spill").report(directories: [dir + "/log"], from: nil, to: nil)
            let drills = whole.readiness?.drills.count ?? -1
            #expect(drills == 3, "the drills of the period, of every environment")
            #expect(whole.comparison != nil && whole.series != nil && whole.longestRecoveries?.isEmpty == false)
            let expected = try renderings(whole)
            // One partition per service or so, a few, and two; the log holds about 12,000 events.
            for size in [300, 4_000, 7_000] {
                let partitioned = try replay(eventsPerPartition: size, spillDirectory: dir + "/spill")
                    .report(directories: [dir + "/log"], from: nil, to: nil)
                let got = try renderings(partitioned)
                for (format, (a, b)) in zip(["json", "markdown", "csv", "html"], zip(got, expected)) {
                    #expect(a == b, "\(format) with partitions of \(size) events")
                }
                // The pools hold the same values; their runs come in partition order.
                let same = partitioned.samples?.totals.leadTimes.sorted == whole.samples?.totals.leadTimes.sorted
                #expect(same && whole.samples?.totals.leadTimes.isEmpty == false)
            }
        }
    }

    @Test func aPartitionedPeriodWithAMarginAndAnotherEnvironmentEqualOnePass() throws {
        try withTemporaryDirectory { dir in
            try makeLog(dir + "/log")
            let from = Timestamp.parse(rfc3339: "2026-08-01T00:00:00Z")!
            let to = Timestamp.parse(rfc3339: "2026-09-01T00:00:00Z")!
            var configuration = MetricsConfiguration()
            configuration.environment = "staging"
            for (environment, margin) in [(MetricsConfiguration(), nil), (configuration, Duration.seconds(7 * 86_400))] {
                var one = replay(eventsPerPartition: 0, spillDirectory: dir)
                one.configuration = environment
                one.margin = margin
                var partitioned = one
                partitioned.eventsPerPartition = 500
                let a = try one.report(directories: [dir + "/log"], from: from, to: to)
                let b = try partitioned.report(directories: [dir + "/log"], from: from, to: to)
                #expect(JSONReportRenderer.render(a) == JSONReportRenderer.render(b), "\(environment.environment)")
                #expect(a.totals.deployments.count > 0)
            }
        }
    }

    /// The default period of a log with an event in the future is found from the events
    /// themselves, before the partitions are folded.
    @Test func aPartitionedReportLeavesOutFutureEventsAsOnePassDoes() throws {
        try withTemporaryDirectory { dir in
            try makeLog(dir + "/log", events: 3_000, services: 12)
            let log = try EventLog(directory: dir + "/log")
            _ = try log.append(LogTesting.batch([EventJSON.deploy("d-2099", at: "2099-01-01T00:00:00Z", service: "svc-1")]))
            var one = replay(eventsPerPartition: 0, spillDirectory: dir)
            one.now = Timestamp.parse(rfc3339: "2027-06-01T00:00:00Z")!
            var partitioned = one
            partitioned.eventsPerPartition = 200
            let a = try one.report(directories: [dir + "/log"], from: nil, to: nil)
            let b = try partitioned.report(directories: [dir + "/log"], from: nil, to: nil)
            #expect(a.futureEvents == 1 && b.futureEvents == 1)
            #expect(JSONReportRenderer.render(a) == JSONReportRenderer.render(b))
        }
    }

    @Test func anUnknownEnvironmentIsNamedByAPartitionedReplayAsByOnePass() throws {
        try withTemporaryDirectory { dir in
            try makeLog(dir + "/log", events: 2_000, services: 8)
            var partitioned = replay(eventsPerPartition: 100, spillDirectory: dir)
            partitioned.configuration.environment = "qa"
            do {
                _ = try partitioned.report(directories: [dir + "/log"], from: nil, to: nil)
                Issue.record("a report of an environment without events was given")
            } catch {
                #expect("\(error)".contains("no events of environment 'qa'") && "\(error)".contains("production, staging"))
            }
        }
    }

    /// Only a partitioned replay writes to the spill directory: with one that does not exist
    /// it fails, naming it, and one pass does not need it.
    @Test func aPartitionedReplayNeedsItsSpillDirectoryAndSaysWhichItIs() throws {
        try withTemporaryDirectory { dir in
            try makeLog(dir + "/log", events: 2_000, services: 8)
            let missing = dir + "/no-such-dir"
            let partitioned = replay(eventsPerPartition: 100, spillDirectory: missing)
            do {
                _ = try partitioned.report(directories: [dir + "/log"], from: nil, to: nil)
                Issue.record("a partitioned replay ran without its spill directory")
            } catch {
                #expect("\(error)".contains(missing))
            }
            // Below the size of one partition or of one pass, and when the engine is asked for,
            // a replay never partitions.
            var small = partitioned
            small.eventsPerPartition = 1_000_000
            _ = try small.report(directories: [dir + "/log"], from: nil, to: nil)
            var onePass = partitioned
            onePass.partitionedAbove = 2_500
            _ = try onePass.report(directories: [dir + "/log"], from: nil, to: nil)
            _ = try partitioned.reportAndEngine(directories: [dir + "/log"], from: nil, to: nil)
        }
    }
}
