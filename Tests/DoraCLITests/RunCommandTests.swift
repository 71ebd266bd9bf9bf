import DoraEvents
import DoraGenerator
import DoraKafka
import DoraTestSupport
import Foundation
import Testing

/// `doralog run` end to end: a broker child process, the run as a child process, its HTTP
/// endpoint, and (where installed) real Prometheus and Alertmanager.
@Suite(.enabled(if: Doralog.isBuilt, "needs the doralog binary: run `swift build` first"), .timeLimit(.minutes(4)))
struct RunCommandTests {
    /// A running `doralog run`, its stdout going to a file.
    struct Running {
        let process: Process
        let output: String
        let http: String

        /// SIGTERM, then the exit status and everything it printed (stdout; stderr's crash
        /// message and last lines are recorded as an issue when the exit is not clean).
        func stop() -> (status: Int32, output: String) {
            process.terminate()
            process.waitUntilExit()
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if process.terminationStatus != 0 {
                let errors = (try? String(contentsOfFile: output.replacingOccurrences(of: "run.out", with: "run.err"), encoding: .utf8)) ?? ""
                // Why it crashed is printed just before a crash's long backtrace: a Swift fatal
                // error, a conflicting access with the stack of each access, or a C library's
                // message before an abort.
                let lines = errors.split(separator: "\n", omittingEmptySubsequences: false)
                let crash = lines.firstIndex { $0.contains("*** Program crashed") }
                let why = crash.map { lines[max(0, $0 - 40)...$0].joined(separator: "\n") } ?? ""
                Issue.record("doralog run exited \(process.terminationStatus): \(why)\n...\(errors.suffix(1500))")
            }
            return (process.terminationStatus, text)
        }
    }

    /// Writes a pipeline file for `brokers` and starts `doralog run` on it.
    func startRun(in dir: String, brokers: String, slos: String, alerts: String = "alerts: {stdout: true}") throws -> Running {
        let port = TestBroker.freePort()
        let pipeline = """
            source:
              kafka:
                brokers: "\(brokers)"
                topics: [events]
                group: run
                properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "300"}
            log: {directory: "\(dir)/log"}
            slos:
            \(slos)
            \(alerts)
            http: {listen: "127.0.0.1:\(port)"}
            """
        try TestFiles.write(pipeline, to: dir + "/pipeline.yaml")
        return try launchRun(["--pipeline", dir + "/pipeline.yaml"], in: dir, port: port, readyWithin: 30)
    }

    /// Starts `doralog run` with `arguments`, its output going to `dir/run.out` and
    /// `dir/run.err`, and waits until its endpoint on `port` is ready.
    func launchRun(
        _ arguments: [String], in dir: String, port: UInt16, readyWithin seconds: Double, environment: [String: String] = [:]
    ) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Doralog.executable)
        process.arguments = ["run"] + arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        _ = FileManager.default.createFile(atPath: dir + "/run.out", contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: dir + "/run.out")
        _ = FileManager.default.createFile(atPath: dir + "/run.err", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: dir + "/run.err")
        try process.run()
        let http = "http://127.0.0.1:\(port)"
        #expect(HTTPTesting.poll(http + "/readyz", seconds: seconds) { $0.status == 200 }?.status == 200, "the run became ready")
        return Running(process: process, output: dir + "/run.out", http: http)
    }

    func produce(_ lines: [String], to brokers: String, in dir: String, name: String) throws {
        try TestFiles.write(lines.joined(separator: "\n"), to: dir + "/\(name).jsonl")
        #expect(try Doralog.run(["produce", "--brokers", brokers, "--topic", "events", "--file", dir + "/\(name).jsonl"]).status == 0)
    }

    /// The stored-event count the live report shows, once it shows `expected`.
    func waitForStored(_ expected: Int, at http: String) -> Bool {
        HTTPTesting.poll(http + "/report.json", seconds: 60) { answer in
            guard answer.status == 200, let json = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                let events = json["events"] as? [String: Any]
            else { return false }
            return events["stored"] as? Int == expected
        } != nil
    }

    /// `hours` before now: events a live run's windows still hold (they follow the wall clock).
    static func hoursAgo(_ hours: Int64) -> Timestamp {
        Timestamp.now().advanced(byMicroseconds: -hours * 3_600_000_000)
    }

    static let slos = """
          - {name: rb-p95, metric: rollback_time, per: service, objective: 5m, window: 7d, min_samples: 3}
          - {name: recovery-p90, metric: recovery_time, per: group, percentile: 90, objective: 2h, window: 7d, min_samples: 3}
        """

    @Test func aLiveRunEmitsTheBacktestsTransitionsAndServesTheReportOfItsLog() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            // Valid events in time order, produced in ten slices while the run consumes.
            var configuration = GeneratorConfiguration()
            configuration.events = 4_000
            configuration.days = 30
            configuration.services = 5
            configuration.duplicateRate = 0
            configuration.malformedRate = 0
            let events = EventGenerator(configuration: configuration).lines().compactMap { line in
                (try? EventDecoder.decode(line)).map { (line, $0) }
            }.sorted { $0.1.time != $1.1.time ? $0.1.time < $1.1.time : $0.1.id.utf8.lexicographicallyPrecedes($1.1.id.utf8) }
            // The stream is months old and arrives in bursts with pauses, while the run is caught
            // up: following the wall clock would age every window out between bursts, and the
            // next burst's samples would then be late. Held back ten years, the clock is the
            // latest stored event's time (backfills like this one are what the setting is for).
            let run = try startRun(in: dir, brokers: brokers, slos: Self.slos, alerts: "alerts: {stdout: true, wall_clock_lag: 3650d}")
            let slice = (events.count + 9) / 10
            for i in 0..<10 {
                try produce(events[(i * slice)..<min((i + 1) * slice, events.count)].map(\.0), to: brokers, in: dir, name: "slice\(i)")
                Thread.sleep(forTimeInterval: 0.3)
            }
            #expect(waitForStored(events.count, at: run.http), "every event reached the live state")
            let live = HTTPTesting.request(run.http + "/report.json")?.body ?? ""
            let metrics = HTTPTesting.request(run.http + "/metrics")?.body ?? ""
            #expect(metrics.contains("doralog_events_total{outcome=\"stored\"} \(events.count)"), "\(metrics.prefix(600))")
            #expect(metrics.contains("doralog_rollback_duration_seconds_bucket{"))
            #expect(HTTPTesting.request(run.http + "/healthz")?.status == 200)
            let (status, output) = run.stop()
            #expect(status == 0, "SIGTERM: graceful exit")
            // The live report is the report of the log it wrote.
            let report = try Doralog.run(["report", "--log", dir + "/log", "--format", "json"])
            #expect(report.status == 0 && live == report.standardOutput)
            // The live transitions are the backtest's up to the latest event (inclusive: --to is
            // exclusive).
            let end = Timestamp(microseconds: events.last!.1.time.microseconds + 1).rfc3339
            let backtest = try Doralog.run(["slo", "--log", dir + "/log", "--pipeline", dir + "/pipeline.yaml", "--to", end])
            let expected = (try JSONSerialization.jsonObject(with: Data(backtest.standardOutput.utf8)) as? [Any]) ?? []
            let emitted = output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
            #expect(expected.count > 5, "the stream should make the SLOs fire and resolve")
            #expect(emitted.count == expected.count)
            #expect(zip(emitted, expected).allSatisfy { NSDictionary(dictionary: $0 as! [String: Any]).isEqual(to: $1 as! [String: Any]) })
        } }
    }
}

extension RunCommandTests {
    @Test func aLiveBreachResolvesWhenItsFirstSampleAgesOutThoughNoEventComes() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let slo = Self.rollbackSLO
            let run = try startRun(in: dir, brokers: brokers, slos: slo, alerts: "alerts: {stdout: true, wall_clock_lag: 1s}")
            // Three 10-minute rollbacks an hour apart; the first completes 7 days minus 20 s
            // ago, so it leaves the 7-day window 20 s from now, leaving two samples, fewer than
            // min_samples.
            let week: Int64 = 7 * 86_400_000_000
            let firstCompleted = Timestamp.now().advanced(byMicroseconds: -week + 20_000_000)
            let events = EventJSON.rollbacks(startingAt: firstCompleted.advanced(byMicroseconds: -600_000_000), minutes: 10)
            try produce(events, to: brokers, in: dir, name: "slow")
            let printed = { () -> [[String: Any]] in
                ((try? String(contentsOfFile: run.output, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
            }
            // (Each rollback was also stuck past 5 minutes while it ran, a week ago: those
            // alerts fire and resolve too.)
            let breaches = { printed().filter { $0["alert"] as? String == "SLOBreach" } }
            let deadline = ContinuousClock.now + .seconds(60)
            while breaches().count < 2 && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.2) }
            let resolvedAt = Timestamp.now()
            let (status, _) = run.stop()
            #expect(status == 0)
            let all = printed()
            let alerts = breaches()
            #expect(alerts.map { $0["state"] as? String } == ["firing", "resolved"], "\(alerts)")
            guard alerts.count == 2 else { return }
            let expiry = firstCompleted.advanced(byMicroseconds: week)
            #expect(alerts[1]["at"] as? String == expiry.rfc3339, "at the instant the sample left the window")
            #expect(alerts[1]["samples"] as? Int == 2 && alerts[1]["value"] as? Double == 600)
            // Sent once the clock (the wall clock less 1 s) passed it, and not before.
            #expect(resolvedAt.microseconds - expiry.microseconds >= 1_000_000)
            // The backtest to the same moment has the same transitions.
            let backtest = try Doralog.run(["slo", "--log", dir + "/log", "--pipeline", dir + "/pipeline.yaml", "--to", resolvedAt.rfc3339])
            let expected = (try JSONSerialization.jsonObject(with: Data(backtest.standardOutput.utf8)) as? [[String: Any]]) ?? []
            #expect(expected.count == 8 && all.count == 8 && zip(all, expected).allSatisfy { NSDictionary(dictionary: $0).isEqual(to: $1) })
        } }
    }
}

/// Real Prometheus and Alertmanager (Debian packages; `.ci/run` installs them).
extension RunCommandTests {
    static func installed(_ binary: String) -> Bool {
        ["/usr/bin/", "/usr/local/bin/"].contains { FileManager.default.isExecutableFile(atPath: $0 + binary) }
    }

    /// Starts a Debian-packaged server binary with `arguments`, output discarded.
    func startServer(_ binary: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/" + binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// A p95 rollback-time SLO of 5 minutes over 7 days, from 3 samples, breaches only.
    static let rollbackSLO = "  - {name: rb-p95, metric: rollback_time, per: service, objective: 5m, window: 7d, min_samples: 3, regression: false}"

    /// Runs `body` with a temporary directory, a one-partition broker and a real
    /// Alertmanager (its base URL), all gone after it.
    func withBrokerAndAlertmanager(_ body: (_ dir: String, _ brokers: String, _ alertmanager: String) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let port = TestBroker.freePort()
            let alertmanager = try startAlertmanager(in: dir, port: port)
            defer { alertmanager.terminate(); alertmanager.waitUntilExit() }
            try body(dir, brokers, "http://127.0.0.1:\(port)")
        }
    }

    /// Starts a real Alertmanager on `port` (no cluster, a receiver that sends nowhere).
    func startAlertmanager(in dir: String, port: UInt16) throws -> Process {
        try TestFiles.write("route: {receiver: none, group_wait: 0s, group_interval: 1s}\nreceivers: [{name: none}]\n", to: dir + "/am.yml")
        return try startServer("prometheus-alertmanager", [
            "--config.file=\(dir)/am.yml", "--storage.path=\(dir)/am", "--web.listen-address=127.0.0.1:\(port)",
            "--cluster.listen-address=",
        ])
    }

    @Test(.enabled(if: installed("prometheus"), "needs Debian's prometheus (apt-get install prometheus)"))
    func prometheusScrapesTheMetricsEndpointAndAQueryReturnsTheSeries() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 2)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRun(in: dir, brokers: brokers, slos: Self.slos)
            let lines = LogTesting.deploys(300)
            try produce(lines, to: brokers, in: dir, name: "deploys")
            #expect(waitForStored(300, at: run.http))
            let target = run.http.replacingOccurrences(of: "http://", with: "")
            try TestFiles.write(
                "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: doralog\n    static_configs: [{targets: ['\(target)']}]\n",
                to: dir + "/prometheus.yml")
            let port = TestBroker.freePort()
            let prometheus = try startServer("prometheus", [
                "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/tsdb", "--web.listen-address=127.0.0.1:\(port)",
            ])
            defer { prometheus.terminate(); prometheus.waitUntilExit() }
            let query = "http://127.0.0.1:\(port)/api/v1/query?query=" + "doralog_events_total{outcome=\"stored\"}"
                .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let answer = HTTPTesting.poll(query, seconds: 60) { $0.status == 200 && $0.body.contains("\"300\"") }
            #expect(answer?.body.contains("\"job\":\"doralog\"") == true && answer?.body.contains("\"300\"") == true, "\(answer?.body ?? "no answer")")
            let deployments = "http://127.0.0.1:\(port)/api/v1/query?query=" + "sum(doralog_deployments)"
                .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            #expect(HTTPTesting.request(deployments)?.body.contains("\"300\"") == true, "the per-service series add up")
            #expect(run.stop().status == 0)
        } }
    }

    @Test(.enabled(if: installed("prometheus-alertmanager"), "needs Debian's prometheus-alertmanager"))
    func alertmanagerDownThenUpReceivesTheFiringThenTheResolvedAlert() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 2)
            defer { broker.terminate(); broker.waitUntilExit() }
            let amPort = TestBroker.freePort()
            let am = "http://127.0.0.1:\(amPort)"
            let slo = "  - {name: rb-p50, metric: rollback_time, per: service, percentile: 50, objective: 5m, window: 7d, min_samples: 3, regression: false}"
            let run = try startRun(
                in: dir, brokers: brokers, slos: slo, alerts: "alerts: {stdout: true, alertmanager: {url: \"\(am)\"}}")
            // Three 10-minute rollbacks of checkout yesterday: the median breaches 5 minutes.
            // Alertmanager is down.
            try produce(EventJSON.rollbacks(startingAt: Self.hoursAgo(24), minutes: 10), to: brokers, in: dir, name: "slow")
            #expect(waitForStored(6, at: run.http))
            Thread.sleep(forTimeInterval: 2)  // the sink retries against nothing
            let alertmanager = try startAlertmanager(in: dir, port: amPort)
            defer { alertmanager.terminate(); alertmanager.waitUntilExit() }
            let firing = HTTPTesting.poll(am + "/api/v2/alerts", seconds: 60) { $0.status == 200 && $0.body.contains("SLOBreach") }
            #expect(firing?.body.contains("\"service\":\"checkout\"") == true && firing?.body.contains("\"state\":\"active\"") == true,
                    "\(firing?.body ?? "no firing alert reached Alertmanager")")
            // Four 1-minute rollbacks today: the median of seven is 1 minute, the breach resolves.
            try produce(
                EventJSON.rollbacks(startingAt: Self.hoursAgo(5), minutes: 1, count: 4, name: "fast"), to: brokers, in: dir, name: "fast")
            // (The slow rollbacks were also stuck past 5 minutes while they ran; those alerts
            // resolved with their completions, before Alertmanager came up.)
            let resolved = HTTPTesting.poll(am + "/api/v2/alerts", seconds: 60) {
                $0.status == 200 && $0.body.trimmingCharacters(in: .whitespacesAndNewlines) == "[]"
            }
            #expect(resolved != nil, "Alertmanager received the resolved alert: no active alert left")
            let (status, output) = run.stop()
            #expect(status == 0)
            let breaches = output.split(separator: "\n").filter { $0.contains("\"alert\": \"SLOBreach\"") }
            #expect(breaches.count == 2 && breaches[0].contains("\"state\": \"firing\"") && breaches[1].contains("\"state\": \"resolved\""))
        } }
    }
}

extension RunCommandTests {
    /// Issue: a redeploy of doralog must not let Alertmanager forget a firing alert. Re-sends
    /// every 2 s make each assertion valid 10 s; after a stop and a restart on the same log,
    /// the alert is still active 15 s after the last assertion before the stop.
    @Test(.enabled(if: installed("prometheus-alertmanager"), "needs Debian's prometheus-alertmanager"))
    func aFiringAlertSurvivesARestartOfDoralogInAlertmanager() async throws {
        try await onOwnThread { try withBrokerAndAlertmanager { dir, brokers, am in
            let slo = Self.rollbackSLO
            let alerts = "alerts: {stdout: true, alertmanager: {url: \"\(am)\", resend_interval: 2s}}"
            let first = try startRun(in: dir, brokers: brokers, slos: slo, alerts: alerts)
            try produce(EventJSON.rollbacks(startingAt: Self.hoursAgo(24), minutes: 10), to: brokers, in: dir, name: "slow")
            let active = { () -> Bool in
                HTTPTesting.request(am + "/api/v2/alerts?active=true")?.body.contains("\"alertname\":\"SLOBreach\"") == true
            }
            #expect(HTTPTesting.poll(am + "/api/v2/alerts", seconds: 60) { _ in active() } != nil, "the breach reached Alertmanager")
            #expect(first.stop().status == 0)
            let stopped = ContinuousClock.now
            let second = try startRun(in: dir, brokers: brokers, slos: slo, alerts: alerts)
            // Past the first run's last endsAt (at most 10 s after its stop).
            while ContinuousClock.now - stopped < .seconds(15) { Thread.sleep(forTimeInterval: 0.5) }
            #expect(active(), "the alert is still active in Alertmanager after a restart")
            let (status, output) = second.stop()
            #expect(status == 0)
            #expect(!output.contains("SLOBreach"), "the restart printed no transition again: \(output)")
        } }
    }
}

extension RunCommandTests {
    @Test(.enabled(if: installed("prometheus-alertmanager"), "needs Debian's prometheus-alertmanager"))
    func aStuckAndAFailedRollbackReachAlertmanagerAsAlertsOfTheirOwnAndResolveWithTheCompletion() async throws {
        try await onOwnThread { try withBrokerAndAlertmanager { dir, brokers, am in
            let slo = Self.rollbackSLO
            let run = try startRun(in: dir, brokers: brokers, slos: slo, alerts: "alerts: {stdout: true, alertmanager: {url: \"\(am)\"}}")
            // v2 of checkout went out two hours ago. One rollback from it started 20 minutes ago
            // and failed a minute later; another started 10 minutes ago and has not completed:
            // past its 5-minute objective, it is stuck (no further event is needed for that).
            func ago(_ minutes: Int64) -> String { Self.hoursAgo(0).advanced(byMicroseconds: -minutes * 60_000_000).rfc3339 }
            let events = [
                EventJSON.deploy("d1", at: ago(120), version: "v2"),
                EventJSON.rollback("rf-s", at: ago(20), rollbackID: "r-fail", status: "started", from: "v2", to: "v1"),
                EventJSON.rollback("rf-f", at: ago(19), rollbackID: "r-fail", status: "failed"),
                EventJSON.rollback("rs-s", at: ago(10), rollbackID: "r-stuck", status: "started", from: "v2", to: "v1"),
            ]
            try produce(events, to: brokers, in: dir, name: "rollbacks")
            let both = HTTPTesting.poll(am + "/api/v2/alerts?active=true", seconds: 60) {
                $0.body.contains("\"alertname\":\"RollbackStuck\"") && $0.body.contains("\"alertname\":\"RollbackFailed\"")
            }
            #expect(both != nil, "both alerts reached Alertmanager")
            #expect(both?.body.contains("\"rollback_id\":\"r-stuck\"") == true && both?.body.contains("\"rollback_id\":\"r-fail\"") == true)
            // The stuck rollback completes: it resolves, and so does the failure (its deploy's
            // rollback completed).
            try produce([EventJSON.rollback("rs-c", at: ago(0), rollbackID: "r-stuck", status: "completed")], to: brokers, in: dir, name: "done")
            let cleared = HTTPTesting.poll(am + "/api/v2/alerts?active=true", seconds: 60) {
                $0.status == 200 && $0.body.trimmingCharacters(in: .whitespacesAndNewlines) == "[]"
            }
            #expect(cleared != nil, "no active alert left")
            let (status, output) = run.stop()
            #expect(status == 0)
            let states = output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .map { "\($0["alert"] ?? "") \($0["state"] ?? "") \($0["rollback_id"] ?? "")" }
            #expect(Set(states) == ["RollbackFailed firing r-fail", "RollbackStuck firing r-stuck", "RollbackStuck resolved r-stuck", "RollbackFailed resolved r-fail"], "\(states)")
            // The backtest to now says the same.
            let backtest = try Doralog.run(["slo", "--log", dir + "/log", "--pipeline", dir + "/pipeline.yaml"])
            #expect(backtest.standardOutput.components(separatedBy: "\"rollback_id\"").count - 1 == 4, "\(backtest.standardOutput)")
        } }
    }
}

/// The Kafka alert sink, and the endpoint under load.
extension RunCommandTests {
    @Test func alertsArePublishedToTheKafkaAlertTopicKeyedBySLO() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(["--topic", "events", "--topic", "doralog-alerts"], partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let slo = Self.rollbackSLO
            let run = try startRun(in: dir, brokers: brokers, slos: slo, alerts: "alerts: {stdout: false, kafka: {topic: doralog-alerts}}")
            try produce(EventJSON.rollbacks(startingAt: Self.hoursAgo(24), minutes: 10), to: brokers, in: dir, name: "slow")
            let handler = KafkaTesting.Handler()
            let consumer = try KafkaConsumer(bootstrapServers: brokers, group: "reader", handler: handler)
            try consumer.subscribe(["doralog-alerts"])
            // Each 10-minute rollback was stuck past 5 minutes (fired, then resolved at its
            // completion), and the third breaches the p95: seven transitions.
            var received: [KafkaMessage] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while received.count < 7 && ContinuousClock.now < deadline {
                if case .message(let m) = consumer.poll(timeoutMilliseconds: 100) { received.append(m) }
            }
            let settle = ContinuousClock.now + .seconds(1)
            while ContinuousClock.now < settle {
                if case .message(let m) = consumer.poll(timeoutMilliseconds: 100) { received.append(m) }
            }
            consumer.close()
            #expect(received.count == 7 && received.allSatisfy { $0.key == Array("rb-p95".utf8) })
            let alerts = received.compactMap { try? JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any] }
            let breach = alerts.filter { $0["alert"] as? String == "SLOBreach" }
            #expect(breach.count == 1 && breach.first?["state"] as? String == "firing")
            #expect((breach.first?["scope"] as? [String: Any])?["service"] as? String == "checkout")
            #expect(alerts.filter { $0["alert"] as? String == "RollbackStuck" }.count == 6)
            #expect(run.stop().status == 0)
        } }
    }

    @Test func anEndpointAddressInUseFailsWithTheAddressAndWhatToDo() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start()
            defer { broker.terminate(); broker.waitUntilExit() }
            let first = try startRun(in: dir, brokers: brokers, slos: Self.slos)
            defer { _ = first.stop() }
            let listen = String(first.http.dropFirst("http://".count))
            let pipeline = """
                source: {kafka: {brokers: "\(brokers)", topics: [events], group: second}}
                log: {directory: "\(dir)/b-log"}
                http: {listen: "\(listen)"}
                """
            try TestFiles.write(pipeline, to: dir + "/second.yaml")
            let second = try Doralog.run(["run", "--pipeline", dir + "/second.yaml"])
            #expect(second.status == 1 && !second.timedOut)
            #expect(
                second.standardError.contains("the HTTP endpoint cannot serve on \(listen)")
                    && second.standardError.contains("set another http.listen"), "\(second.standardError)")
        } }
    }

    @Test(.enabled(if: installed("wrk"), "needs Debian's wrk"))
    func theEndpointKeepsAnsweringUnderLoadWhileIngestionGoesOn() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 3)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRun(in: dir, brokers: brokers, slos: Self.slos)
            let load = Process()
            load.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
            // A generous per-request timeout: CI runs this beside every other test on two cores,
            // and wrk's default (2 s) would count one slow scrape as a socket error.
            load.arguments = ["-t2", "-c16", "-d10s", "--timeout", "10s", run.http + "/metrics"]
            let out = Pipe()
            load.standardOutput = out
            try load.run()
            // Ingestion goes on meanwhile: 20 slices of generated events (shuffled arrival,
            // duplicates, malformed lines) over three partitions, about 10 s.
            var configuration = GeneratorConfiguration()
            configuration.events = 10_000
            configuration.days = 30
            let lines = EventGenerator(configuration: configuration).lines()
            let distinct = Set(lines.compactMap { try? EventDecoder.decode($0).id }).count
            let slice = (lines.count + 19) / 20
            for i in 0..<20 {
                try produce(Array(lines[(i * slice)..<min((i + 1) * slice, lines.count)]), to: brokers, in: dir, name: "d\(i)")
                Thread.sleep(forTimeInterval: 0.3)
            }
            #expect(HTTPTesting.request(run.http + "/healthz")?.status == 200, "answers during the load")
            load.waitUntilExit()
            let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(waitForStored(distinct, at: run.http), "ingestion kept up under load")
            // wrk's summary: requests were served, and no socket errors or non-2xx answers.
            #expect(report.contains("Requests/sec") && !report.contains("Non-2xx") && !report.contains("Socket errors"), "\(report)")
            // Events arrived out of time order; once caught up the live report is the log's.
            let live = HTTPTesting.request(run.http + "/report.json")?.body ?? ""
            // Lag is reported about once a second, so the gauge reaches 0 shortly after the log does.
            let caughtUp = HTTPTesting.poll(run.http + "/metrics", seconds: 15) { answer in
                (0..<3).allSatisfy { answer.body.contains("doralog_consumer_lag_messages{topic=\"events\",partition=\"\($0)\"} 0.0") }
            }
            #expect(caughtUp != nil, "every partition's lag gauge reaches 0")
            #expect(run.stop().status == 0)
            #expect(try Doralog.run(["report", "--log", dir + "/log", "--format", "json"]).standardOutput == live)
        } }
    }
}
