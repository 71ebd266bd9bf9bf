import Dispatch
import DoraEventLog
import DoraEvents
import DoraInputs
import DoraKafka
import DoraMetrics
import DoraPipeline
public import DoraPipelineFile
import DoraReports
import DoraSLO
import Foundation
import Hummingbird
public import Logging
import ServiceLifecycle

/// `doralog run`: one `ServiceGroup` of consumer -> log -> live state -> SLO evaluators ->
/// alert sinks, plus the HTTP endpoint (docs/run.md).
///
/// Order: the log is opened (recovering a torn tail; its id index left unread), the HTTP
/// endpoint comes up (not ready), the log is replayed into the live state (then ready), and
/// only then does the consumer start, after reading the id index, so no event is added twice.
/// SIGTERM/SIGINT stop the consumer first (it finishes its batch, makes it durable, commits),
/// then the aggregator drains, then the endpoint.
public struct PipelineRunner: Sendable {
    public let definition: PipelineDefinition
    public let logger: Logger
    /// Stop once every assigned partition is at its end (demos, tests, backfills).
    public var untilEnd = false

    public init(definition: PipelineDefinition, logger: Logger) {
        self.definition = definition
        self.logger = logger
    }

    /// Runs until stopped (or, with `untilEnd`, until the topics are consumed); with
    /// `untilEnd`, returns the live report at the end (what `run --until-end` prints). Stopped
    /// by a signal it returns nil: nothing reads that report, and computing it added most of a
    /// second and about 50 MB to every stop (bench/RESULTS.md, twenty-sixth session).
    public func run() async throws -> Report? {
        let d = definition
        // An input that would be open, or whose token is missing, stops the start before anything runs.
        let servedInputs = try d.listen.map { try HTTPInputs.resolve(d.inputs, listen: $0, environment: ProcessInfo.processInfo.environment) } ?? []
        var cluster: MockCluster?
        var brokers = d.kafka.brokers
        if let embedded = d.embedded {
            let c = try MockCluster()
            for topic in d.kafka.topics { try c.createTopic(topic, partitions: embedded.partitions) }
            brokers = c.bootstrapServers
            logger.notice("embedded Kafka broker started", metadata: ["brokers": "\(brokers)"])
            if let feed = embedded.feed { try Self.produce(feed, to: brokers, topic: d.kafka.topics[0], logger: logger) }
            cluster = c
        }
        defer { withExtendedLifetime(cluster) {} }

        // The id index is read once the replay is done (by ingestion, before its first poll):
        // the replay's peak then does without its bloom filter (bench/RESULTS.md, twenty-eighth
        // session).
        let log = try EventLog(
            directory: d.log.directory,
            configuration: LogConfiguration(segmentBytes: d.log.segmentMiB << 20, zstdLevel: d.log.zstdLevel), logger: logger,
            deferringIDIndex: true)
        let state = LiveState(
            configuration: d.metrics, slos: d.slos, readiness: d.readiness, assignments: d.assignments, niceness: AggregatorService.niceness,
            wallClockLag: d.alerts.wallClockLag.wholeMicroseconds, retention: d.retention?.wholeMicroseconds)
        let exposition = MetricsExposition(assignments: d.assignments)
        var sinks: [any AlertSink] = []
        if d.alerts.stdout { sinks.append(StandardOutputAlertSink()) }
        if let topic = d.alerts.kafkaTopic {
            sinks.append(
                try KafkaAlertSink(brokers: brokers, topic: topic, properties: Self.producerProperties(d.kafka.properties), logger: logger))
        }
        if let url = d.alerts.alertmanager {
            sinks.append(
                AlertmanagerSink(
                    baseURL: url, queueLimit: d.alerts.queueLimit, resendInterval: d.alerts.resendInterval,
                    routing: { [state] service in await state.routing(of: service) }, exposition: exposition, logger: logger))
        }

        let appends = AppendQueue()
        let replayed = Gate()
        var ingest = KafkaIngestor.Configuration(brokers: brokers, topics: d.kafka.topics, group: d.kafka.group)
        ingest.properties = d.kafka.properties
        ingest.untilEnd = untilEnd
        ingest.connectTimeoutMilliseconds = d.kafka.connectTimeout.wholeMicroseconds / 1000
        switch d.kafka.format {
        case .doralog: ingest.format = .doralog
        case .cdevents: ingest.format = .cdevents(CDEventsMapping())
        case .auto: ingest.format = .auto(CDEventsMapping())
        }
        ingest.brokersSetting = "source.kafka.brokers"
        ingest.topicsSetting = "source.kafka.topics"
        let ingestService = IngestService(
            configuration: ingest, log: Handoff(log), appends: appends, replayed: replayed, exposition: exposition, logger: logger)
        let aggregator = AggregatorService(
            state: state, directory: d.log.directory, appends: appends, sinks: sinks, replayed: replayed, exposition: exposition,
            logger: logger)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        var publisher: InputPublisher?
        if let listen = d.listen {
            var endpoint = HTTPEndpoint(state: state, exposition: exposition)
            if !servedInputs.isEmpty {
                let p = try InputPublisher(
                    brokers: brokers, topic: d.kafka.topics[0], properties: Self.producerProperties(d.kafka.properties), logger: logger)
                publisher = p
                endpoint.inputs = HTTPInputs(
                    served: servedInputs, publisher: p, exposition: exposition, logger: logger, readTimeout: d.http.readTimeout)
            }
            services.append(.init(service: try endpoint.application(listen: listen, settings: d.http, logger: logger)))
        }
        // Ingestion ending on its own (--until-end) shuts the group down in reverse order; a
        // signal does the same. Either way the aggregator drains, then the endpoint stops.
        services.append(.init(service: aggregator))
        services.append(.init(service: ingestService, successTerminationBehavior: .gracefullyShutdownGroup))
        var configuration = ServiceGroupConfiguration(services: services, logger: logger)
        configuration.gracefulShutdownSignals = [.sigterm, .sigint]
        // The Kafka producers are closed here, on this task, before the process can exit: a
        // handle left to the last reference (a connection's task that ends late) would be
        // destroyed on whichever thread dropped it, perhaps while the process exits.
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            await publisher?.close()
            throw error
        }
        await publisher?.close()
        for sink in sinks { await (sink as? KafkaAlertSink)?.close() }
        for sink in sinks { await (sink as? AlertmanagerSink)?.drain(timeout: .seconds(10)) }
        return untilEnd ? await state.report() : nil
    }

    /// The source's properties without the consumer-only ones (the alert producer shares the
    /// connection settings: TLS, SASL, client id).
    static func producerProperties(_ properties: [(String, String)]) -> [(String, String)] {
        let consumerOnly = [
            "group.", "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms", "fetch.", "auto.offset.reset",
            "enable.auto.commit", "auto.commit.", "enable.auto.offset.store", "enable.partition.eof", "isolation.level",
            "partition.assignment.strategy", "queued.", "check.crcs",
        ]
        return properties.filter { key, _ in !consumerOnly.contains { key == $0 || ($0.hasSuffix(".") && key.hasPrefix($0)) } }
    }

    /// Produces a JSONL file to the embedded broker, keyed by service (the demo's feed).
    static func produce(_ path: String, to brokers: String, topic: String, logger: Logger) throws {
        let producer = try KafkaProducer(bootstrapServers: brokers, logger: logger)
        var sent = 0
        try LineReader.forEachLine(path: path) { line in
            let key = (try? EventDecoder.decode(line)).map { Array($0.service.utf8) }
            try producer.send(topic: topic, key: key, value: line)
            sent += 1
            if sent % 1000 == 0 { producer.poll() }
        }
        try producer.flush()
        logger.notice("fed the embedded broker", metadata: ["file": "\(path)", "messages": "\(sent)", "failed": "\(producer.failed)"])
    }
}

/// Moves a non-`Sendable` value to the one thread that uses it from then on (the log, handed
/// from the runner to the ingest thread). The runner never touches it after the handoff.
struct Handoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A one-shot signal: tasks wait until it opens (or until they are cancelled).
actor Gate {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func open() {
        isOpen = true
        for w in waiting { w.resume() }
        waiting.removeAll()
    }

    /// Returns once open; a cancelled waiter returns at once (check `Task.isCancelled`).
    func wait() async {
        if isOpen || Task.isCancelled { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiting.append($0) }
        } onCancel: {
            Task { await self.open() }
        }
    }
}

/// Consumes Kafka into the log on a thread of its own (librdkafka's polls block), once the
/// live state has replayed the log; hands each durable append to the aggregator.
struct IngestService: Service, CustomStringConvertible {
    var description: String { "ingest (Kafka -> log)" }
    let configuration: KafkaIngestor.Configuration
    let log: Handoff<EventLog>
    let appends: AppendQueue
    let replayed: Gate
    let exposition: MetricsExposition
    let logger: Logger

    func run() async throws {
        defer { appends.finish() }
        await replayed.wait()
        if Task.isCancelled { return }
        let stop = StopRequest()
        // Stopped on a graceful shutdown, and also on cancellation: when another service fails,
        // the group cancels this one, and the ingest thread must not poll on for ever.
        let result: Result<AppendSummary, PipelineError> = await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { done in
                let thread = Thread { [configuration, log, appends, exposition, logger] in
                    let ingestor = KafkaIngestor(configuration: configuration, log: log.value, logger: logger, stopRequest: stop)
                    ingestor.onLag = { lags in exposition.setLag(lags) }
                    ingestor.onConnection = { connected in exposition.sourceConnected.store(connected, ordering: .relaxed) }
                    ingestor.onCaughtUp = { caughtUp in appends.setCaughtUp(caughtUp) }
                    ingestor.onStored = { summary, stored, took in
                        exposition.appendSeconds.record(took)
                        // Waits while the live state is too far behind (a bounded queue): what
                        // ingestion has not read yet stays in Kafka.
                        appends.push(Appended(summary: summary, stored: stored)) { !stop.isRequested }
                    }
                    do throws(PipelineError) {
                        try ingestor.run()
                        done.resume(returning: .success(ingestor.summary))
                    } catch {
                        done.resume(returning: .failure(error))
                    }
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
        } onCancelOrGracefulShutdown: {
            stop.request()
        }
        switch result {
        case .success(let s):
            logger.notice("ingestion stopped", metadata: ["read": "\(s.read)", "stored": "\(s.stored)", "duplicates": "\(s.duplicates)", "rejected": "\(s.rejected)"])
        case .failure(let error):
            throw error
        }
    }
}

/// Replays the log into the live state, opens the gate for ingestion, then adds each durable
/// append and sends the SLO transitions to every sink. Returns once ingestion has ended and
/// the group has asked it to stop (returning earlier would count as an unexpected end).
struct AggregatorService: Service, CustomStringConvertible {
    var description: String { "aggregator (live state, SLOs, alerts)" }
    let state: LiveState
    let directory: String
    let appends: AppendQueue
    let sinks: [any AlertSink]
    let replayed: Gate
    let exposition: MetricsExposition
    let logger: Logger
    /// How much lower the live state's threads' priority is than ingestion's (a nice value:
    /// at 10, a thread gets about a tenth of a core that ingestion also wants).
    static let niceness: Int32 = 10
    /// How often the clock moves on while no append comes: an expiry's transition is sent
    /// within about this of the moment the clock passes it.
    static let tickInterval = Duration.milliseconds(250)

    func run() async throws {
        let clock = ContinuousClock()
        let began = clock.now
        let firing = try await state.replay(LogReader(directory: directory))
        let stored = await state.logTotals.stored
        logger.notice("log replayed; live", metadata: ["stored": "\(stored)", "firing": "\(firing.count)"])
        exposition.noteFiring(firing)
        for sink in sinks { await sink.restore(firing: firing) }
        await replayed.open()
        var (rounds, busy) = (0, Duration.zero)
        await withDiscardingTaskGroup { group in
            // The clock ticks while no append comes, so that windows age out on time.
            group.addTask { [appends] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.tickInterval)
                    appends.tick()
                }
            }
            (rounds, busy) = await takeRounds(clock: clock)
            group.cancelAll()
        }
        // Every durable append is in the live state now (bench/run-ingest.sh prints the rounds,
        // the seconds they took, and how long the drain took once ingestion had ended).
        let totals = await state.logTotals
        let tail = appends.finishedAt.map { clock.now - $0 } ?? .zero
        logger.notice(
            "aggregator drained",
            metadata: [
                "stored": "\(totals.stored)", "seconds": "\(Self.seconds(clock.now - began))", "rounds": "\(rounds)",
                "busy_seconds": "\(Self.seconds(busy))", "after_ingestion_seconds": "\(Self.seconds(tail))",
            ])
        try? await gracefulShutdown()
    }

    /// Takes appends (or clock ticks) until ingestion has ended, adds them to the live state
    /// and sends the transitions; returns the rounds of appends and the time they took.
    private func takeRounds(clock: ContinuousClock) async -> (Int, Duration) {
        var rounds = 0
        var busy = Duration.zero
        while let taken = await appends.take() {
            guard !taken.appends.isEmpty else {
                await emit(state.tick(caughtUp: taken.caughtUp))
                continue
            }
            let started = clock.now
            var summary = AppendSummary()
            for a in taken.appends { summary += a.summary }
            let alerts = await state.add(taken.appends.map(\.stored), summary: summary, caughtUp: taken.caughtUp, deferringRetention: true)
            let took = clock.now - started
            exposition.roundSeconds.record(took)
            rounds += 1
            busy += took
            logger.debug("round", metadata: ["appends": "\(taken.appends.count)", "seconds": "\(Self.seconds(took))"])
            await emit(alerts)
            // The retention step a round may be due runs once its transitions are sent (busy,
            // but not part of the round's duration on /metrics: no alert waits for it).
            let stepStarted = clock.now
            await state.applyRetention()
            busy += clock.now - stepStarted
            // No pause between rounds: the next one takes whatever arrived meanwhile. Under
            // load the live state's threads, at a lowered priority, run slower and appends
            // coalesce into fewer, larger rounds; when idle, a round follows each append.
        }
        return (rounds, busy)
    }

    /// Sends transitions to every sink, and keeps their series on `/metrics`.
    private func emit(_ alerts: [SLOAlert]) async {
        guard !alerts.isEmpty else { return }
        exposition.noteFiring(alerts)
        for sink in sinks { await sink.send(alerts) }
    }

    /// A duration in seconds with millisecond precision, for a log line.
    static func seconds(_ d: Duration) -> String {
        let ms = d.wholeMicroseconds / 1000
        return "\(ms / 1000).\(String(ms % 1000 + 1000).dropFirst())"
    }
}
