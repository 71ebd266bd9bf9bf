import DoraEvents
import DoraInputs
import DoraPipelineFile
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The HTTP inputs of `doralog run` (docs/inputs.md): `POST /v1/KIND` for each input of the
/// pipeline file. A request is authenticated (bearer token), bounded (body size, event count),
/// mapped (`DoraInputs`), produced to the pipeline's topic and answered once the broker has
/// acknowledged its events: 200 with the per-item counts; 4xx for a request that cannot be
/// taken (nothing of it is stored); 503 when the broker did not acknowledge (retry: the ids are
/// deterministic, so a retry stores duplicates, never second events).
///
/// Every answer but a 200 with no rejected item is logged (never with the token) and counted on
/// `/metrics` (`doralog_input_requests_total`, `doralog_input_items_rejected_total`).
struct HTTPInputs: Sendable {
    /// One input as served: its definition and its token, read from the environment.
    struct Served: Sendable {
        var input: PipelineDefinition.Input
        var token: String?
        /// The signing secret of a signed input.
        var secret: String?
    }

    let served: [Served]
    let publisher: InputPublisher
    let exposition: MetricsExposition
    let logger: Logger
    /// A body not received within this is answered 408: a slow sender holds no request for ever.
    var readTimeout: Duration = .seconds(30)

    /// Resolves each input's token from the environment and checks that an endpoint reachable
    /// from other machines asks for one.
    /// - Throws: `ServiceError` for a missing token variable, or an input without a token on an
    ///   address that is not loopback.
    static func resolve(
        _ inputs: [PipelineDefinition.Input], listen: String, environment: [String: String]
    ) throws -> [Served] {
        let host = listen.split(separator: ":").dropLast().joined(separator: ":")
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host) || host.hasPrefix("127.")
        return try inputs.map { input in
            func value(_ variable: String?, _ setting: String, _ what: String) throws -> String? {
                guard let variable else { return nil }
                guard let value = environment[variable], !value.isEmpty else {
                    throw ServiceError("inputs (\(input.kind.rawValue)): the environment variable \(variable) named by \(setting) is not set; set it to \(what)")
                }
                return value
            }
            let token = try value(input.tokenVariable, "token_env", "the token senders must present")
            let secret = try value(input.secretVariable, "secret_env", "the secret senders sign with")
            if token == nil && secret == nil && !loopback {
                throw ServiceError(
                    "inputs (\(input.kind.rawValue)): http.listen \(listen) is reachable from other machines, so the input must ask for a token: set token_env (or listen on 127.0.0.1)")
            }
            return Served(input: input, token: token, secret: secret)
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        for s in served {
            router.post("v1/\(s.input.kind.rawValue)") { request, _ -> Response in
                await handle(request, s)
            }
        }
    }

    private func handle(_ request: Request, _ s: Served) async -> Response {
        let kind = s.input.kind.rawValue
        func refuse(_ outcome: String, _ status: HTTPResponse.Status, _ message: String) -> Response {
            count(kind, outcome)
            logger.warning("input request refused", metadata: ["input": "\(kind)", "outcome": "\(outcome)", "reason": "\(message)"])
            return HTTPEndpoint.error(message, status: status)
        }
        if let token = s.token {
            let given = request.headers[.authorization] ?? ""
            guard ConstantTime.equals(given.utf8, ("Bearer " + token).utf8) else {
                return refuse("unauthorized", .unauthorized, "missing or wrong bearer token (Authorization: Bearer TOKEN)")
            }
        }
        let body: ByteBuffer
        let limit = s.input.maxBodyBytes
        let timeout = readTimeout
        do {
            body = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask { try await request.body.collect(upTo: limit) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                let first = try await group.next()!
                group.cancelAll()
                guard let first else { throw ReadTimedOut() }
                return first
            }
        } catch is ReadTimedOut {
            return refuse("read_timeout", .requestTimeout, "the body did not arrive within \(timeout) (http.read_timeout)")
        } catch {
            return refuse("too_large", .contentTooLarge, "the body is over \(limit) bytes (max_body_bytes)")
        }
        let bytes = Array(body.readableBytesView)
        if let secret = s.secret {
            let header = request.headers.first { $0.name.canonicalName == "x-pagerduty-signature" }?.value ?? ""
            guard PagerDutyMapping.signatureIsValid(header: header, body: bytes, secret: secret) else {
                return refuse("bad_signature", .unauthorized, "missing or wrong X-PagerDuty-Signature (HMAC-SHA256 of the body with the secret)")
            }
        }
        var messages: [InputPublisher.Message] = []
        var rejections: [ItemRejection] = []
        var ignored = 0
        if s.input.kind == .events {
            for line in NativeEvents.lines(bytes) { messages.append(.init(key: line.service.map { Array($0.utf8) }, value: line.bytes)) }
        } else {
            let mapped: MappedPayload
            do {
                mapped = try Self.map(bytes, for: s.input, contentType: request.headers[.contentType]?.lowercased() ?? "")
            } catch {
                return refuse("bad_payload", .badRequest, error.message)
            }
            messages = mapped.events.map { .init(key: Array($0.service.utf8), value: Array($0.json.utf8)) }
            rejections = mapped.rejections
            ignored = mapped.ignored
        }
        // The rejected items travel to the dead letters through the topic, with their bytes.
        let request = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let eventCount = messages.count
        if !rejections.isEmpty {
            let elements = Self.itemRanges(of: s.input.kind, in: bytes)
            for r in rejections {
                guard let i = r.index, let ranges = elements, i < ranges.count else { continue }
                let value = RejectedItem.message(input: kind, request: request, index: i, reason: r.reason, raw: bytes[ranges[i]])
                messages.append(.init(key: nil, value: value))
            }
        }
        guard messages.count <= s.input.maxEvents else {
            return refuse("too_many_events", .contentTooLarge, "the request maps to \(messages.count) events; the limit is \(s.input.maxEvents) (max_events)")
        }
        do {
            try await publisher.publish(messages)
        } catch {
            return refuse("not_acknowledged", .serviceUnavailable, "the events were not stored: \(error); retry")
        }
        count(kind, "accepted")
        if !rejections.isEmpty {
            exposition.registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "doralog", metricName: "input_items_rejected", unitName: "total",
                    helpText: "Items of accepted HTTP input requests that could not be mapped (in the dead letters)."),
                labels: [("input", kind)]
            ).increment(by: Int64(rejections.count))
            for r in rejections {
                logger.warning("input item rejected", metadata: ["input": "\(kind)", "item": "\(r.index ?? -1)", "reason": "\(r.reason)"])
            }
        }
        let items = rejections.map { "{\"index\": \($0.index ?? -1), \"reason\": \(JSONText.quoted($0.reason))}" }
        let text = "{\"request\": \"\(request)\", \"events\": \(eventCount), \"ignored\": \(ignored), \"rejected\": ["
            + items.joined(separator: ", ") + "]}\n"
        return HTTPEndpoint.text(text, contentType: "application/json")
    }

    private struct ReadTimedOut: Error {}

    /// A foreign body through its input's mapping (`DoraInputs`).
    static func map(_ body: [UInt8], for input: PipelineDefinition.Input, contentType: String) throws(InputError) -> MappedPayload {
        switch input.kind {
        case .events:
            preconditionFailure("doralog's events are forwarded as they are")
        case .alertmanager:
            return try AlertmanagerMapping(labels: input.alertmanagerLabels).map(body)
        case .pagerduty:
            var mapping = PagerDutyMapping()
            mapping.serviceField = input.pagerDutyServiceField
            return try mapping.map(body)
        case .flagger:
            return try FlaggerMapping().map(body)
        case .argoRollouts:
            return try ArgoRolloutsMapping().map(body)
        case .cdevents:
            var mapping = CDEventsMapping()
            mapping.failedPipelinesAreFailedDeploys = input.failedPipelinesAreFailedDeploys
            if contentType.hasPrefix("application/cloudevents-batch+json") { return try mapping.mapBatch(body) }
            // Structured mode (application/cloudevents+json), or binary mode (ce-* headers, the
            // CDEvent as the body): the CDEvent carries its own context either way.
            return MappedPayload(events: try mapping.map(body))
        }
    }

    /// Where each item of a batch payload lies in the body: Alertmanager's `alerts`, or a
    /// CloudEvents batch (the whole body is the array).
    static func itemRanges(of kind: PipelineDefinition.Input.Kind, in body: [UInt8]) -> [Range<Int>]? {
        switch kind {
        case .alertmanager: return JSONValue.rawMember("alerts", in: body)?.elements
        case .cdevents:
            // A batch body is an array: wrap it to reuse the member scanner.
            let wrapped = Array("{\"b\":".utf8) + body + [UInt8(ascii: "}")]
            return JSONValue.rawMember("b", in: wrapped)?.elements?.map { ($0.lowerBound - 5)..<($0.upperBound - 5) }
        default: return nil
        }
    }

    private func count(_ input: String, _ outcome: String) {
        exposition.registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "doralog", metricName: "input_requests", unitName: "total", helpText: "Requests to the HTTP inputs by outcome."),
            labels: [("input", input), ("outcome", outcome)]
        ).increment()
    }
}
