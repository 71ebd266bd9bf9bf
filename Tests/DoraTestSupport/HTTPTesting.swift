import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Blocking HTTP calls for tests (run them on their own thread: see `onOwnThread`).
public enum HTTPTesting {
    /// The status and body of a request, or nil when nothing answered.
    public static func request(
        _ url: String, method: String = "GET", body: Data? = nil, headers: [String: String] = [:], timeout: TimeInterval = 5
    ) -> (status: Int, body: String)? {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = timeout
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let done = DispatchSemaphore(value: 0)
        let result = Box()
        URLSession.shared.dataTask(with: request) { data, response, _ in
            if let response = response as? HTTPURLResponse {
                result.set((response.statusCode, String(decoding: data ?? Data(), as: UTF8.self)))
            }
            done.signal()
        }.resume()
        done.wait()
        return result.get()
    }

    /// Polls `url` until `accept` says yes, and returns that answer; nil if `seconds` pass first.
    public static func poll(_ url: String, seconds: Double, until accept: ((status: Int, body: String)) -> Bool) -> (status: Int, body: String)? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let answer = request(url, timeout: 2), accept(answer) { return answer }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return nil
    }

    private final class Box: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (Int, String)?
        func set(_ v: (Int, String)) { lock.withLock { value = v } }
        func get() -> (status: Int, body: String)? { lock.withLock { value.map { (status: $0.0, body: $0.1) } } }
    }
}
