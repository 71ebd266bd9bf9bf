import ArgumentParser
import DoraDrill
import DoraEventLog
import DoraEvents
import DoraKafka
import DoraMetrics
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `doralog drill`: rehearse a rollback, time it, and record it as drill events (docs/drills.md).
struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Rehearse a rollback: run it, time it, and record it as a drill.",
        discussion: """
            Runs --bad (optional: deploy the known-bad version), then --rollback (the act phase), \
            then --verify until it succeeds (the verify phase, retried with back-off), all within \
            --timeout, and records a rollback marked "exercise": "drill": `started` when the \
            rollback starts, then `completed` or `failed` with the measured phases. Drills never \
            count in the DORA metrics; they show in the report's rollback readiness. \
            Commands run without a shell (words split like a shell's, no expansion) unless \
            --shell; in doralog's working directory, with its environment plus \
            DORALOG_DRILL_ID, _SERVICE, _ENVIRONMENT, _FROM_VERSION and _TO_VERSION. \
            Exit status: 0 when the rollback and the verification succeeded; 1 when a step \
            failed, timed out or the events could not be recorded; 130 when interrupted (SIGINT \
            or SIGTERM stop the running step's process group and record the drill as failed).
            """
    )

    @Option(help: ArgumentHelp("The service whose rollback is rehearsed.", valueName: "name")) var service: String
    @Option(help: ArgumentHelp("Where the drill runs.", valueName: "env")) var environment = "staging"
    @Option(help: ArgumentHelp("The service's team, written on the events.", valueName: "team")) var team: String?
    @Option(help: ArgumentHelp("The version rolled back from (default: unknown).", valueName: "version")) var fromVersion: String?
    @Option(help: ArgumentHelp("The version rolled back to.", valueName: "version")) var toVersion: String?
    @Option(help: ArgumentHelp("Deploys the known-bad version before the rollback.", valueName: "command")) var bad: String?
    @Option(help: ArgumentHelp("The rollback: its run is the act phase.", valueName: "command")) var rollback: String
    @Option(help: ArgumentHelp("Verifies the service is healthy; retried until it exits 0.", valueName: "command")) var verify: String?
    @Option(help: ArgumentHelp("Bound on the rollback and verification together (and on --bad alone).", valueName: "duration"))
    var timeout = "10m"
    @Option(help: ArgumentHelp("First pause between verification attempts; doubles each time, up to 30s.", valueName: "duration"))
    var retryDelay = "1s"
    @Flag(help: "Run each command with /bin/sh -c (pipes, variables, globs).") var shell = false
    @Option(help: ArgumentHelp("The drill's rollback_id (default: drill-SERVICE-UTCTIME-RANDOM).", valueName: "id")) var id: String?

    @Option(help: ArgumentHelp("Record to Kafka: bootstrap servers (with --topic).", valueName: "brokers")) var brokers: String?
    @Option(help: ArgumentHelp("Record to Kafka: the pipeline's topic.", valueName: "topic")) var topic: String?
    @Option(name: .customShort("X"), help: ArgumentHelp("A librdkafka property, key=value (repeatable).", valueName: "key=value"))
    var properties: [String] = []
    @Option(help: ArgumentHelp("Record straight into this event log instead (local use).", valueName: "dir")) var log: String?

    func run() throws {
        let plan = try makePlan()
        guard (brokers != nil) == (topic != nil) else { throw CLIError.usage("--brokers and --topic go together") }
        guard (brokers != nil) != (log != nil) else { throw CLIError.usage("give either --brokers and --topic, or --log") }
        var recorder = try Recorder(brokers: brokers, topic: topic, properties: properties, log: log, timeout: plan.timeout)

        let interruption: Interruption
        do { interruption = try Interruption() } catch { throw CLIError.failure(error.description) }
        let handlers = SignalHandlers { interruption.trigger() }
        defer { withExtendedLifetime(handlers) {} }
        let err = FileDescriptorStream.standardError
        err.write(
            "doralog: drill \(plan.id): \(plan.service) (\(plan.environment)); commands run \(shell ? "with /bin/sh -c" : "without a shell") "
                + "in \(Self.workingDirectory()), timeout \(timeout)\n")

        let runner = DrillRunner(plan: plan, interruption: interruption) { bytes in
            var written = 0
            while written < bytes.count {
                let n = write(STDERR_FILENO, bytes.baseAddress! + written, bytes.count - written)
                if n <= 0 { if errno == EINTR { continue }; break }
                written += n
            }
        }
        let result: DrillResult
        do {
            result = try runner.run { (time) throws(DrillError) in try recorder.record(DrillEvents.started(plan, at: time), service: plan.service) }
        } catch {
            throw CLIError.failure("drill \(plan.id): \(error.description)")
        }
        let summary = Self.summary(plan, result)
        var recorded: DrillError?
        do {
            try recorder.record(DrillEvents.ended(plan, result), service: plan.service)
            try recorder.finish()
        } catch {
            recorded = error
        }
        if let recorded {
            // The numbers must not be lost with the events: print them before failing.
            FileDescriptorStream.standardOutput.write(summary + "\n")
            throw CLIError.failure("drill \(plan.id): the drill's events were not recorded: \(recorded.description)")
        }
        if let failure = result.failure {
            err.write(failure.outputTail.isEmpty ? "" : "doralog: last output of the \(failure.step.rawValue) step:\n" + failure.outputTail.map { "  \($0)\n" }.joined())
            throw CLIError(message: summary, exitCode: failure.interrupted ? 130 : 1)
        }
        FileDescriptorStream.standardOutput.write(summary + "\n")
    }

    /// The deliverable: how long the rollback took, by phase, or where it failed.
    static func summary(_ plan: DrillPlan, _ r: DrillResult) -> String {
        func s(_ d: Duration?) -> String { d.map { DrillRunner.seconds($0) + " s" } ?? "-" }
        let phases = "act \(s(r.act)), verify \(s(r.verify))" + (plan.verify != nil ? ", \(r.attempts) verification attempt(s)" : "")
        guard let f = r.failure else {
            return "drill \(plan.id): \(plan.service) (\(plan.environment)) rolled back in \(s(r.total)) (\(phases))"
        }
        return "drill \(plan.id): \(plan.service) (\(plan.environment)) FAILED at the \(f.step.rawValue) step: \(f.reason); "
            + "after \(s(r.total)) (\(phases)" + (r.bad.map { ", bad deploy \(s($0))" } ?? "") + ")"
    }

    func makePlan() throws -> DrillPlan {
        func command(_ text: String, _ option: String) throws -> [String] {
            if shell { return ["/bin/sh", "-c", text] }
            do { return try CommandWords.split(text) } catch { throw CLIError.usage("\(option): \(error.description)") }
        }
        func duration(_ text: String, _ option: String) throws -> Duration {
            guard let d = DurationText.parse(text), d > .zero else {
                throw CLIError.usage("\(option): '\(text)' is not a positive duration like 10m, 90s or 500ms")
            }
            return d
        }
        guard !service.isEmpty, service.utf8.count <= 256 else { throw CLIError.usage("--service must be 1 to 256 bytes") }
        guard !environment.isEmpty else { throw CLIError.usage("--environment must not be empty") }
        if let id, id.isEmpty || id.utf8.count > 200 { throw CLIError.usage("--id must be 1 to 200 bytes") }
        var plan = DrillPlan(
            id: id ?? Self.defaultID(service: service), service: service, environment: environment,
            rollback: try command(rollback, "--rollback"), timeout: try duration(timeout, "--timeout"),
            retryDelay: try duration(retryDelay, "--retry-delay"))
        plan.team = team
        plan.fromVersion = fromVersion
        plan.toVersion = toVersion
        plan.bad = try bad.map { try command($0, "--bad") }
        plan.verify = try verify.map { try command($0, "--verify") }
        return plan
    }

    /// `drill-SERVICE-YYYYMMDDTHHMMSSZ-XXXXXX`: unique per run, fixed for the run.
    static func defaultID(service: String) -> String {
        let stamp = Timestamp.now().rfc3339.prefix(19).filter { $0 != "-" && $0 != ":" }
        return "drill-\(service)-\(stamp)Z-" + String(UInt32.random(in: 0...0xFFFFFF) | 0x1000000, radix: 16).dropFirst()
    }

    static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "(unknown)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Where a drill's events go: the pipeline's Kafka topic (keyed by service, delivery checked
/// within the drill's timeout) or straight into an event log.
private struct Recorder {
    private var producer: KafkaProducer?
    private var topic = ""
    private var log: EventLog?
    private var line = 0
    private let flushMilliseconds: Int32

    init(brokers: String?, topic: String?, properties: [String], log directory: String?, timeout: Duration) throws {
        // librdkafka retries a message until this long after it was queued.
        flushMilliseconds = Int32(clamping: max(timeout.wholeMicroseconds / 1000, 5000))
        if let brokers, let topic {
            var logger = Logger(label: "doralog.kafka")
            logger.logLevel = .notice
            do {
                let settings = [("enable.idempotence", "true"), ("acks", "all"), ("message.timeout.ms", String(flushMilliseconds))]
                producer = try KafkaProducer(bootstrapServers: brokers, properties: settings + KafkaProperties.parse(properties), logger: logger)
            } catch {
                throw CLIError.failure(error.description)
            }
            self.topic = topic
        } else if let directory {
            var logger = Logger(label: "doralog.log")
            logger.logLevel = .notice
            do {
                self.log = try EventLog(directory: directory, logger: logger)
            } catch {
                throw CLIError.failure(error.description)
            }
        }
    }

    mutating func record(_ event: String, service: String) throws(DrillError) {
        line += 1
        if let producer {
            do {
                try producer.send(topic: topic, key: Array(service.utf8), value: Array(event.utf8))
            } catch {
                throw DrillError(.emit, error.description)
            }
            producer.poll()
        } else if let log {
            var batch = MessageBatch()
            batch.append(event, source: .file(path: "doralog-drill", line: line))
            let summary: AppendSummary
            do { summary = try log.append(batch) } catch { throw DrillError(.emit, error.description) }
            guard summary.rejected == 0 else { throw DrillError(.emit, "the log rejected the event (see its dead letters)") }
        }
    }

    /// Waits for Kafka's delivery reports; throws if any event was not delivered.
    func finish() throws(DrillError) {
        guard let producer else { return }
        do {
            try producer.flush(timeoutMilliseconds: flushMilliseconds + 2000)
        } catch {
            throw DrillError(.emit, error.description)
        }
        if producer.failed > 0 {
            throw DrillError(.emit, "\(producer.failed) event(s) not delivered: \(producer.firstFailure.map { "\($0)" } ?? "")")
        }
    }
}
