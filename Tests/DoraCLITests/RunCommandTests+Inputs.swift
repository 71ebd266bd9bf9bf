import DoraEventLog
import DoraEvents
import DoraTestSupport
import Foundation
import Testing

/// The HTTP inputs of `doralog run`: webhooks reach the log through the pipeline's topic.
extension RunCommandTests {
    /// Writes a pipeline file with `inputs` and starts `doralog run` on it, with `environment`
    /// added to its own.
    func startRunWithInputs(
        in dir: String, brokers: String, inputs: String, environment: [String: String] = [:], format: String = "doralog",
        http: String = ""
    ) throws -> Running {
        let port = TestBroker.freePort()
        let pipeline = """
            source:
              kafka:
                brokers: "\(brokers)"
                topics: [events]
                group: run
                format: \(format)
                properties: {session.timeout.ms: "6000", heartbeat.interval.ms: "300"}
            log: {directory: "\(dir)/log"}
            alerts: {stdout: true}
            http: {listen: "127.0.0.1:\(port)"\(http)}
            inputs:
            \(inputs)
            """
        try TestFiles.write(pipeline, to: dir + "/pipeline.yaml")
        return try launchRun(["--pipeline", dir + "/pipeline.yaml"], in: dir, port: port, readyWithin: 30, environment: environment)
    }

    /// The live report's JSON.
    func liveReport(_ http: String) -> [String: Any] {
        let body = HTTPTesting.request(http + "/report.json")?.body ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    @Test(.enabled(if: installed("prometheus-alertmanager"), "needs Debian's prometheus-alertmanager"))
    func alertsPostedToARealAlertmanagerReachTheReportThroughItsWebhook() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRunWithInputs(in: dir, brokers: brokers, inputs: "  - {kind: alertmanager}")
            // A real Alertmanager whose only receiver is doralog's webhook input.
            let amPort = TestBroker.freePort()
            try TestFiles.write("""
                route: {receiver: doralog, group_by: [alertname], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
                receivers:
                  - name: doralog
                    webhook_configs: [{url: "\(run.http)/v1/alertmanager", send_resolved: true}]
                """, to: dir + "/am.yml")
            let alertmanager = try startServer("prometheus-alertmanager", [
                "--config.file=\(dir)/am.yml", "--storage.path=\(dir)/am", "--web.listen-address=127.0.0.1:\(amPort)",
                "--cluster.listen-address=",
            ])
            defer { alertmanager.terminate(); alertmanager.waitUntilExit() }
            let am = "http://127.0.0.1:\(amPort)"
            #expect(HTTPTesting.poll(am + "/-/ready", seconds: 30) { $0.status == 200 } != nil, "Alertmanager is up")
            // Fired 10 minutes ago; then resolved 3 minutes ago: 420 s to restore.
            let now = Timestamp.now().microseconds / 1_000_000 * 1_000_000
            let starts = Timestamp(microseconds: now - 600_000_000).rfc3339
            let ends = Timestamp(microseconds: now - 180_000_000).rfc3339
            let labels = #"{"alertname":"HighErrorRate","service":"checkout","severity":"critical"}"#
            let firing = HTTPTesting.request(
                am + "/api/v2/alerts", method: "POST", body: Data(#"[{"labels":\#(labels),"startsAt":"\#(starts)"}]"#.utf8))
            #expect(firing?.status == 200, "\(firing?.body ?? "no answer")")
            #expect(waitForStored(1, at: run.http), "the firing notification is stored")
            let resolved = HTTPTesting.request(
                am + "/api/v2/alerts", method: "POST",
                body: Data(#"[{"labels":\#(labels),"startsAt":"\#(starts)","endsAt":"\#(ends)"}]"#.utf8))
            #expect(resolved?.status == 200)
            // The resolved notification carries the firing again (a duplicate) and the resolution.
            #expect(waitForStored(2, at: run.http), "the resolved notification is stored")
            let restore = liveReport(run.http)["totals"].flatMap { ($0 as? [String: Any])?["time_to_restore"] as? [String: Any] }
            #expect(restore?["count"] as? Int == 1 && restore?["p50"] as? Double == 420, "\(String(describing: restore))")
            let events = liveReport(run.http)["events"] as? [String: Any]
            #expect(events?["duplicates"] as? Int == 1, "\(String(describing: events))")
            #expect(run.stop().status == 0)
            // The batch report of the log agrees.
            let report = try Doralog.run(["report", "--log", dir + "/log", "--format", "json"])
            let json = (try? JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8))) as? [String: Any] ?? [:]
            let batch = (json["totals"] as? [String: Any])?["time_to_restore"] as? [String: Any]
            #expect(batch?["count"] as? Int == 1 && batch?["p50"] as? Double == 420, "\(report.standardOutput.prefix(1500))")
        } }
    }

    static var pythonHasCloudEvents: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import cloudevents.v1.http, confluent_kafka"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// The CNCF CloudEvents SDK sends CDEvents over HTTP (structured and binary mode) and to
    /// Kafka (binary and structured mode, through confluent-kafka); sent twice, stored once.
    @Test(.enabled(if: pythonHasCloudEvents, "needs Python's cloudevents and confluent-kafka (scripts/test.sh installs them)"))
    func cdeventsFromTheCloudEventsSDKOverHTTPAndKafkaAreCountedRight() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRunWithInputs(in: dir, brokers: brokers, inputs: "  - {kind: cdevents}", format: "auto")
            func send() throws {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                p.arguments = [
                    "python3", Repository.path("scripts/send-cdevents.py"), "--http", run.http + "/v1/cdevents",
                    "--kafka", brokers.components(separatedBy: ",")[0], "--topic", "events", "--service", "checkout", "--day", "2026-07-02",
                ]
                let out = Pipe()
                p.standardOutput = out
                p.standardError = out
                try p.run()
                let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                p.waitUntilExit()
                #expect(p.terminationStatus == 0, "\(text)")
            }
            try send()
            #expect(waitForStored(5, at: run.http), "deploy, incident firing and resolved, rollback started and completed")
            try send()
            #expect(HTTPTesting.poll(run.http + "/report.json", seconds: 60) { $0.body.contains(#""duplicates": 5"#) } != nil)
            let totals = liveReport(run.http)["totals"] as? [String: Any] ?? [:]
            let restore = totals["time_to_restore"] as? [String: Any]
            let rollbacks = totals["rollbacks"] as? [String: Any]
            let failure = totals["change_failure"] as? [String: Any]
            #expect(restore?["count"] as? Int == 1 && restore?["p50"] as? Double == 420, "\(totals)")
            #expect((rollbacks?["duration"] as? [String: Any])?["p50"] as? Double == 150 && rollbacks?["auto"] as? Int == 0)
            #expect(failure?["failed_changes"] as? Int == 1 && failure?["deployments"] as? Int == 1)
            #expect((liveReport(run.http)["events"] as? [String: Any])?["stored"] as? Int == 5)
            #expect(run.stop().status == 0)
        } }
    }

    static let webhook = #"""
        {"version":"4","status":"firing","alerts":[
         {"status":"resolved","labels":{"service":"cart"},"startsAt":"2026-07-01T10:00:00Z","endsAt":"2026-07-01T10:05:00Z","fingerprint":"f1"},
         {"status":"firing","labels":{"alertname":"NoService"},"startsAt":"2026-07-01T10:00:00Z","fingerprint":"f2"}]}
        """#

    @Test func aWebhookDeliveredTwiceIsStoredOnceAndItsBadItemIsAnsweredWithItsReason() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 2)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRunWithInputs(in: dir, brokers: brokers, inputs: "  - {kind: alertmanager}\n  - {kind: events}")
            for _ in 0..<2 {
                let answer = HTTPTesting.request(run.http + "/v1/alertmanager", method: "POST", body: Data(Self.webhook.utf8))
                #expect(answer?.status == 200)
                #expect(answer?.body.contains(#""events": 2"#) == true && answer?.body.contains("no label names the service") == true,
                        "\(answer?.body ?? "no answer")")
            }
            // Native events, one bad line among them: the bad one goes to the dead letters.
            let lines = EventJSON.deploy("d-1", at: "2026-07-01T09:00:00Z", service: "cart") + "\nnot json\n"
            #expect(HTTPTesting.request(run.http + "/v1/events", method: "POST", body: Data(lines.utf8))?.status == 200)
            // Rejected: the bad alert of each delivery (kept as sent) and the bad line.
            #expect(HTTPTesting.poll(run.http + "/report.json", seconds: 60) { answer in
                answer.body.contains(#""stored": 3"#) && answer.body.contains(#""duplicates": 2"#) && answer.body.contains(#""rejected": 3"#)
            } != nil, "\(HTTPTesting.request(run.http + "/report.json")?.body.prefix(400) ?? "")")
            let letters = try String(contentsOfFile: dir + "/log/dead-letters.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
            let items = letters.filter { $0["reason"] as? String == "unmappable_input" }
            #expect(items.count == 2)
            for item in items {
                let message = item["message"] as? String ?? ""
                #expect(message.hasPrefix("input alertmanager, request ") && message.hasSuffix("item 1: no label names the service (looked for service, app, job)"), "\(message)")
                let raw = Data(base64Encoded: item["raw_base64"] as? String ?? "").map { String(decoding: $0, as: UTF8.self) }
                #expect(raw == #"{"status":"firing","labels":{"alertname":"NoService"},"startsAt":"2026-07-01T10:00:00Z","fingerprint":"f2"}"#, "the item as sent")
            }
            let metrics = HTTPTesting.request(run.http + "/metrics")?.body ?? ""
            #expect(metrics.contains(#"doralog_input_requests_total{input="alertmanager",outcome="accepted"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"doralog_input_items_rejected_total{input="alertmanager"} 2"#))
            #expect(run.stop().status == 0)
        } }
    }

    @Test func aWebhookAnsweredJustBeforeASIGKILLIsInTheLogAfterTheRestart() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRunWithInputs(in: dir, brokers: brokers, inputs: "  - {kind: alertmanager}")
            let answer = HTTPTesting.request(run.http + "/v1/alertmanager", method: "POST", body: Data(Self.webhook.utf8))
            kill(run.process.processIdentifier, SIGKILL)
            run.process.waitUntilExit()
            #expect(answer?.status == 200, "\(answer?.body ?? "no answer")")
            // The same pipeline again: the acknowledged events are on the topic, so they reach the log.
            let port = Int(run.http.split(separator: ":").last!)!
            let again = try launchRun(["--pipeline", dir + "/pipeline.yaml"], in: dir, port: UInt16(port), readyWithin: 30)
            #expect(waitForStored(2, at: again.http), "both events of the acknowledged webhook are stored")
            #expect(again.stop().status == 0)
            #expect(try LogReader(directory: dir + "/log").totals.stored == 2)
        } }
    }

    /// HMAC-SHA256 of `body` under `secret`, in hex, computed by Python's hmac (apart from doralog's).
    static func hmacHex(_ body: String, secret: String) throws -> String {
        let script = "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())"
        return try shell(["python3", "-c", script, secret], input: body).1.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func pagerDuty(_ type: String, id: String, at: String) -> String {
        #"{"event":{"id":"\#(id)","event_type":"\#(type)","resource_type":"incident","occurred_at":"\#(at)","data":{"id":"PGR0VU2","type":"incident","service":{"id":"PF9KMXH","summary":"checkout","type":"service_reference"},"urgency":"high"}}}"#
    }

    @Test func signedPagerDutyWebhooksAreStoredAndAnUnsignedOneIsRefused() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRunWithInputs(
                in: dir, brokers: brokers, inputs: "  - {kind: pagerduty, secret_env: PD_SECRET}", environment: ["PD_SECRET": "pd-signing-secret"])
            let url = run.http + "/v1/pagerduty"
            let triggered = Self.pagerDuty("incident.triggered", id: "E1", at: "2026-07-01T10:04:00Z")
            let resolved = Self.pagerDuty("incident.resolved", id: "E2", at: "2026-07-01T10:11:00Z")
            let acknowledged = Self.pagerDuty("incident.acknowledged", id: "E3", at: "2026-07-01T10:05:00Z")
            func signed(_ body: String) throws -> [String: String] { ["X-PagerDuty-Signature": "v1=" + (try Self.hmacHex(body, secret: "pd-signing-secret"))] }
            #expect(HTTPTesting.request(url, method: "POST", body: Data(triggered.utf8), headers: try signed(triggered))?.status == 200)
            #expect(HTTPTesting.request(url, method: "POST", body: Data(resolved.utf8))?.status == 401, "unsigned")
            #expect(HTTPTesting.request(url, method: "POST", body: Data(resolved.utf8), headers: try signed(triggered))?.status == 401, "another body's signature")
            let ack = HTTPTesting.request(url, method: "POST", body: Data(acknowledged.utf8), headers: try signed(acknowledged))
            #expect(ack?.status == 200 && ack?.body.contains(#""ignored": 1"#) == true, "\(ack?.body ?? "")")
            #expect(HTTPTesting.request(url, method: "POST", body: Data(resolved.utf8), headers: try signed(resolved))?.status == 200)
            #expect(waitForStored(2, at: run.http))
            let restore = (liveReport(run.http)["totals"] as? [String: Any])?["time_to_restore"] as? [String: Any]
            #expect(restore?["count"] as? Int == 1 && restore?["p50"] as? Double == 420, "\(String(describing: restore))")
            let metrics = HTTPTesting.request(run.http + "/metrics")?.body ?? ""
            #expect(metrics.contains(#"doralog_input_requests_total{input="pagerduty",outcome="bad_signature"} 2"#), "\(metrics)")
            #expect(run.stop().status == 0)
        } }
    }

    @Test func everyInputDeliveredTwiceStoresEachEventOnce() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 2)
            defer { broker.terminate(); broker.waitUntilExit() }
            let inputs = ["events", "alertmanager", "cdevents", "flagger", "argo-rollouts"].map { "  - {kind: \($0)}" }
                + ["  - {kind: pagerduty, secret_env: PD_SECRET}"]
            let run = try startRunWithInputs(
                in: dir, brokers: brokers, inputs: inputs.joined(separator: "\n"), environment: ["PD_SECRET": "k"])
            let pagerDuty = Self.pagerDuty("incident.triggered", id: "E9", at: "2026-07-01T10:04:00Z")
            let requests: [(String, String, [String: String])] = [
                ("events", EventJSON.deploy("d-9", at: "2026-07-01T09:00:00Z", service: "cart"), [:]),
                ("alertmanager", Self.webhook, [:]),
                ("cdevents", #"{"specversion":"1.0","id":"c1","source":"/ci","type":"dev.cdevents.service.deployed.0.3.0","data":{"context":{"specversion":"0.5.1","id":"c1","source":"/ci","type":"dev.cdevents.service.deployed.0.3.0","timestamp":"2026-07-01T10:00:00Z"},"subject":{"id":"checkout","content":{"environment":{"id":"production"},"artifactId":"v1"}}}}"#, ["Content-Type": "application/cloudevents+json"]),
                ("flagger", #"{"name":"podinfo","namespace":"test","phase":"Succeeded","checksum":"abc","metadata":{"eventMessage":"Promotion completed!","eventType":"Normal","timestamp":"1782900000000"}}"#, [:]),
                ("argo-rollouts", #"{"rollout":"checkout","namespace":"prod","uid":"u","revision":"3","event":"aborted","time":"2026-07-01T10:08:30Z","started_at":"2026-07-01T10:06:00Z"}"#, [:]),
                ("pagerduty", pagerDuty, ["X-PagerDuty-Signature": "v1=" + (try Self.hmacHex(pagerDuty, secret: "k"))]),
            ]
            // 1 + 2 (the good alert's firing and resolution) + 1 + 1 + 2 + 1 events.
            for _ in 0..<2 {
                for (kind, body, headers) in requests {
                    let answer = HTTPTesting.request(run.http + "/v1/" + kind, method: "POST", body: Data(body.utf8), headers: headers)
                    #expect(answer?.status == 200, "\(kind): \(answer?.body ?? "no answer")")
                }
            }
            #expect(HTTPTesting.poll(run.http + "/report.json", seconds: 60) { answer in
                answer.body.contains(#""stored": 8"#) && answer.body.contains(#""duplicates": 8"#)
            } != nil, "\(HTTPTesting.request(run.http + "/report.json")?.body.prefix(300) ?? "")")
            #expect(run.stop().status == 0)
        } }
    }

    /// Runs a command and returns its status and standard output.
    static func shell(_ arguments: [String], input: String? = nil) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let inPipe = Pipe()
        if input != nil { p.standardInput = inPipe }
        try p.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try inPipe.fileHandleForWriting.close()
        }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    @Test func withTLSTheInputsAreServedOverHTTPSOnly() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (made, _) = try Self.shell([
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem",
                "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
            try #require(made == 0, "openssl made a certificate")
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let port = TestBroker.freePort()
            let pipeline = """
                source: {kafka: {brokers: "\(brokers)", topics: [events], group: run}}
                log: {directory: "\(dir)/log"}
                alerts: {stdout: true}
                http: {listen: "127.0.0.1:\(port)", tls: {certificate: "\(dir)/cert.pem", key: "\(dir)/key.pem"}}
                inputs:
                  - {kind: alertmanager}
                """
            try TestFiles.write(pipeline, to: dir + "/p.yaml")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Doralog.executable)
            process.arguments = ["run", "--pipeline", dir + "/p.yaml"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer { process.terminate(); process.waitUntilExit() }
            let https = "https://127.0.0.1:\(port)"
            var ready = false
            for _ in 0..<150 where !ready {
                ready = try Self.shell(["curl", "-sf", "--cacert", dir + "/cert.pem", https + "/readyz"]).1.contains("ready")
                if !ready { usleep(200_000) }
            }
            #expect(ready, "the endpoint answers over HTTPS")
            let (status, answer) = try Self.shell(
                ["curl", "-s", "--cacert", dir + "/cert.pem", "--data-binary", "@-", https + "/v1/alertmanager"], input: Self.webhook)
            #expect(status == 0 && answer.contains(#""events": 2"#), "\(answer)")
            #expect(HTTPTesting.request("http://127.0.0.1:\(port)/readyz", timeout: 2)?.status != 200, "plain HTTP is not served")
        } }
    }

    @Test func aBodyThatNeverArrivesTimesOutWhileOtherRequestsAreServed() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRunWithInputs(in: dir, brokers: brokers, inputs: "  - {kind: alertmanager}", http: ", read_timeout: 1s")
            let port = run.http.split(separator: ":").last!
            // A sender that announces 100 bytes and sends 10, then waits.
            let slow = """
                import socket, sys
                s = socket.create_connection(("127.0.0.1", \(port)))
                s.sendall(b"POST /v1/alertmanager HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 100\\r\\n\\r\\n0123456789")
                s.settimeout(20)
                print(s.recv(200).split(b"\\r\\n")[0].decode())
                """
            let started = ContinuousClock.now
            let sender = Process()
            sender.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            sender.arguments = ["python3", "-c", slow]
            let out = Pipe()
            sender.standardOutput = out
            try sender.run()
            usleep(200_000)
            let other = HTTPTesting.request(run.http + "/v1/alertmanager", method: "POST", body: Data(Self.webhook.utf8))
            #expect(other?.status == 200, "served while the slow one waits")
            let line = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            sender.waitUntilExit()
            #expect(line.contains("408"), "\(line)")
            #expect(started.duration(to: .now) < .seconds(15))
            #expect(run.stop().status == 0)
        } }
    }

    /// wrk posts webhooks of distinct events (each request one new event) for a few seconds on
    /// loopback while `doralog produce` feeds the topic: every acknowledged webhook is stored.
    @Test(.enabled(if: installed("wrk"), "needs Debian's wrk"))
    func aBoundedLoadOfWebhooksWhileIngestingLosesNothing() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 2)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRunWithInputs(in: dir, brokers: brokers, inputs: "  - {kind: events}")
            // One thread, so its request counter is the number of distinct events sent.
            try TestFiles.write(#"""
                n = 0
                local thread
                function setup(t) thread = t end
                function request()
                  n = n + 1
                  local body = string.format('{"id":"wrk-%d","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s%d","version":"v%d"}', n, n % 7, n)
                  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, body)
                end
                function done(summary, latency, requests)
                  io.write(string.format("SENT %d\n", thread:get("n")))
                end
                """#, to: dir + "/post.lua")
            let load = Process()
            load.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
            load.arguments = ["-t1", "-c8", "-d4s", "--timeout", "10s", "-s", dir + "/post.lua", run.http]
            let out = Pipe()
            load.standardOutput = out
            try load.run()
            let background = LogTesting.deploys(2_000)
            try produce(background, to: brokers, in: dir, name: "background")
            load.waitUntilExit()
            let summary = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let sent = Int(summary.components(separatedBy: "SENT ").last?.prefix { $0.isNumber } ?? "") ?? -1
            let answered = Int(summary.components(separatedBy: " requests in").first?.split(separator: " ").last ?? "") ?? -1
            #expect(!summary.contains("Non-2xx") && !summary.contains("Socket errors"), "\(summary)")
            #expect(answered > 100 && sent >= answered, "\(summary)")
            // Every answered webhook is stored; requests wrk cut at the end may be stored too.
            let stored = HTTPTesting.poll(run.http + "/report.json", seconds: 60) { answer in
                let count = Int(answer.body.components(separatedBy: #""stored": "#).dropFirst().first?.prefix { $0.isNumber } ?? "") ?? 0
                return count >= answered + background.count
            }
            #expect(stored != nil, "\(summary) \(HTTPTesting.request(run.http + "/report.json")?.body.prefix(300) ?? "")")
            #expect(run.stop().status == 0)
            let total = try LogReader(directory: dir + "/log").totals.stored
            #expect(total >= answered + background.count && total <= sent + background.count, "\(total) stored; \(summary)")
        } }
    }

    @Test func aTokenIsAskedForABodyIsBoundedAndTheEndpointKeepsServing() async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let (broker, brokers) = try TestBroker.start(partitions: 1)
            defer { broker.terminate(); broker.waitUntilExit() }
            let run = try startRunWithInputs(
                in: dir, brokers: brokers, inputs: "  - {kind: alertmanager, token_env: AM_TOKEN, max_body_bytes: 2000}",
                environment: ["AM_TOKEN": "s3cret"])
            let url = run.http + "/v1/alertmanager"
            let body = Data(Self.webhook.utf8)
            #expect(HTTPTesting.request(url, method: "POST", body: body)?.status == 401)
            #expect(HTTPTesting.request(url, method: "POST", body: body, headers: ["Authorization": "Bearer wrong"])?.status == 401)
            let big = Data(repeating: UInt8(ascii: " "), count: 5000)
            #expect(HTTPTesting.request(url, method: "POST", body: big, headers: ["Authorization": "Bearer s3cret"])?.status == 413)
            let bad = HTTPTesting.request(url, method: "POST", body: Data("{}".utf8), headers: ["Authorization": "Bearer s3cret"])
            #expect(bad?.status == 400 && bad?.body.contains("alerts") == true)
            #expect(HTTPTesting.request(url, method: "POST", body: body, headers: ["Authorization": "Bearer s3cret"])?.status == 200)
            #expect(waitForStored(2, at: run.http), "nothing of the refused requests, all of the good one")
            let metrics = HTTPTesting.request(run.http + "/metrics")?.body ?? ""
            #expect(metrics.contains(#"doralog_input_requests_total{input="alertmanager",outcome="unauthorized"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"doralog_input_requests_total{input="alertmanager",outcome="too_large"} 1"#))
            let (status, _) = run.stop()
            #expect(status == 0)
            let errors = (try? String(contentsOfFile: dir + "/run.err", encoding: .utf8)) ?? ""
            #expect(!errors.contains("s3cret"), "the token is never logged")
        } }
    }

    @Test(arguments: [
        ("0.0.0.0", "  - {kind: alertmanager}", [:], "must ask for a token"),
        ("127.0.0.1", "  - {kind: alertmanager, token_env: NOT_SET_ANYWHERE}", [:], "NOT_SET_ANYWHERE"),
    ] as [(String, String, [String: String], String)])
    func anInputThatWouldBeOpenRefusesToStart(host: String, inputs: String, environment: [String: String], message: String) async throws {
        try await onOwnThread { try withTemporaryDirectory { dir in
            let port = TestBroker.freePort()
            try TestFiles.write("""
                source: {kafka: {brokers: "127.0.0.1:1", topics: [events], group: g}}
                log: {directory: "\(dir)/log"}
                http: {listen: "\(host):\(port)"}
                inputs:
                \(inputs)
                """, to: dir + "/p.yaml")
            let result = try Doralog.run(["run", "--pipeline", dir + "/p.yaml"], timeLimit: .seconds(60))
            #expect(result.status == 1 || result.status == 2)
            #expect(result.standardError.contains(message), "\(result.standardError)")
        } }
    }
}
