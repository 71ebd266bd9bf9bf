import DoraEvents
import DoraMetrics
import DoraReports
import DoraPipelineFile
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP side of `doralog run`: `/metrics` (Prometheus text format), `/report.json` and
/// `/report.md` (the live report as `doralog report --format json|markdown` prints it, with
/// optional `from`/`to` query parameters), `/healthz` (the process answers) and `/readyz` (200
/// once the log has been replayed and while a Kafka broker is reachable, 503 otherwise).
struct HTTPEndpoint: Sendable {
    let state: LiveState
    let exposition: MetricsExposition
    /// The pipeline file's HTTP inputs (`POST /v1/KIND`), when it has any.
    var inputs: HTTPInputs? = nil

    func application(listen: String, settings: PipelineDefinition.HTTPSettings = .init(), logger: Logger) throws -> some Service {
        let parts = listen.split(separator: ":")
        guard parts.count >= 2, let port = Int(parts.last!) else { throw ServiceError("http.listen: expected HOST:PORT, got \(listen)") }
        let host = parts.dropLast().joined(separator: ":")
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            let text = await exposition.render(state)
            return Self.text(text, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("report.json") { request, _ -> Response in
            await report(request, contentType: "application/json") { JSONReportRenderer.render($0) }
        }
        router.get("report.md") { request, _ -> Response in
            await report(request, contentType: "text/markdown; charset=utf-8") { MarkdownReportRenderer.render($0) }
        }
        router.get("healthz") { _, _ -> Response in Self.text("ok\n", contentType: "text/plain") }
        inputs?.register(on: router)
        router.get("readyz") { _, _ -> Response in
            if !(await state.isReady) {
                return Self.text("replaying the log\n", contentType: "text/plain", status: .serviceUnavailable)
            }
            if !exposition.sourceConnected.load(ordering: .relaxed) {
                return Self.text("no Kafka broker is reachable\n", contentType: "text/plain", status: .serviceUnavailable)
            }
            return Self.text("ready\n", contentType: "text/plain")
        }
        var quiet = logger
        quiet.logLevel = .warning
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .nanoseconds(Int64(settings.idleTimeout.wholeMicroseconds) * 1000)))
        var server = http1
        if let tls = settings.tls {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
                server = try .tls(http1, tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
            } catch {
                throw ServiceError("http.tls: cannot use \(tls.certificate) and \(tls.key): \(error); give PEM files of the certificate chain and its private key")
            }
        }
        let application = Application(router: router, server: server, configuration: .init(address: .hostname(host, port: port)), logger: quiet)
        return EndpointService(application: application, listen: listen)
    }

    /// The live report, over the period of the `from` and `to` query parameters (as `doralog
    /// report` takes them: `YYYY-MM-DD` or RFC 3339; a missing one defaults as there).
    private func report(_ request: Request, contentType: String, render: (Report) -> String) async -> Response {
        let query = request.uri.queryParameters
        var bounds: [Timestamp?] = []
        for name in ["from", "to"] {
            guard let text = query[name[...]].map(String.init) else {
                bounds.append(nil)
                continue
            }
            guard let t = Timestamp.parse(dateOrTime: text) else {
                return Self.error("\(name): '\(text)' is not a date (YYYY-MM-DD) or an RFC 3339 time", status: .badRequest)
            }
            bounds.append(t)
        }
        let fallback = await state.defaultPeriod
        guard let from = bounds[0] ?? fallback?.from, let to = bounds[1] ?? fallback?.to else {
            return Self.error("no events yet; give both from and to to report on an empty period", status: .notFound)
        }
        guard from < to else { return Self.error("the period is empty: from \(from) is not before to \(to)", status: .badRequest) }
        if let kept = await state.retainedFrom, from < kept {
            return Self.error(
                "from \(from) is before the live state's retention, which starts at \(kept) (live.retention); "
                    + "run doralog report on the log for earlier periods", status: .badRequest)
        }
        guard let report = await state.report(period: Period(from: from, to: to)) else {
            return Self.error("no events yet", status: .notFound)
        }
        return Self.text(render(report), contentType: contentType)
    }

    /// A JSON error answer: `{"error": MESSAGE}`.
    static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        text("{\"error\": \(JSONText.quoted(message))}\n", contentType: "application/json", status: status)
    }

    static func text(_ text: String, contentType: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The endpoint's application as a service whose failure (an address in use, say) names the
/// address and what to do, instead of a bare socket error.
struct EndpointService<Wrapped: Service>: Service, CustomStringConvertible {
    let application: Wrapped
    let listen: String
    var description: String { "HTTP endpoint on \(listen)" }

    func run() async throws {
        do {
            try await application.run()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ServiceError(
                "the HTTP endpoint cannot serve on \(listen): \(error); free that address or set another http.listen in the pipeline file")
        }
    }
}

/// A failure of `doralog run` outside Kafka and the log: configuration it cannot use, an
/// endpoint it cannot serve.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
