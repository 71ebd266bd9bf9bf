import DoraReports
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP side of `doralog run`: `/metrics` (Prometheus text format), `/report.json` (the
/// live report, the schema of `doralog report --format json`), `/healthz` (the process
/// answers) and `/readyz` (200 once the log has been replayed, 503 before).
struct HTTPEndpoint: Sendable {
    let state: LiveState
    let exposition: MetricsExposition

    func application(listen: String, logger: Logger) throws -> some Service {
        let parts = listen.split(separator: ":")
        guard parts.count >= 2, let port = Int(parts.last!) else { throw ServiceError("http.listen: expected HOST:PORT, got \(listen)") }
        let host = parts.dropLast().joined(separator: ":")
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            let text = await exposition.render(state)
            return Self.text(text, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("report.json") { _, _ -> Response in
            guard let report = await state.report() else {
                return Self.text("{\"error\": \"no events yet\"}\n", contentType: "application/json", status: .notFound)
            }
            return Self.text(JSONReportRenderer.render(report), contentType: "application/json")
        }
        router.get("healthz") { _, _ -> Response in Self.text("ok\n", contentType: "text/plain") }
        router.get("readyz") { _, _ -> Response in
            await state.isReady
                ? Self.text("ready\n", contentType: "text/plain")
                : Self.text("replaying the log\n", contentType: "text/plain", status: .serviceUnavailable)
        }
        var quiet = logger
        quiet.logLevel = .warning
        let application = Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: quiet)
        return EndpointService(application: application, listen: listen)
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
