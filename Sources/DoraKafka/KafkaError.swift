internal import CRdKafka
import Logging

/// A librdkafka failure, with the topic and partition it concerns where known.
///
/// `isFatal` errors end a client (restart it); `isRetriable` ones librdkafka or the caller may
/// simply retry. The message is librdkafka's own, prefixed with what doralog was doing.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public var isFatal: Bool
    public var isRetriable: Bool
    public var topic: String?
    public var partition: Int32?
    /// A connection to one broker failed (refused, reset, name not resolved).
    public var isBrokerTransportFailure = false
    /// No broker of the cluster is connected any more.
    public var isAllBrokersDown = false

    public init(code: Int32, message: String, isFatal: Bool = false, isRetriable: Bool = false, topic: String? = nil, partition: Int32? = nil) {
        self.code = code
        self.message = message
        self.isFatal = isFatal
        self.isRetriable = isRetriable
        self.topic = topic
        self.partition = partition
    }

    init(_ what: String, _ err: rd_kafka_resp_err_t, topic: String? = nil, partition: Int32? = nil) {
        self.init(
            code: err.rawValue, message: "\(what): \(String(cString: rd_kafka_err2str(err)))",
            topic: topic, partition: partition)
    }

    init(_ what: String, error: OpaquePointer?) {
        guard let error else {
            self.init(code: -1, message: what)
            return
        }
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: rd_kafka_error_code(error).rawValue, message: "\(what): \(String(cString: rd_kafka_error_string(error)))",
            isFatal: rd_kafka_error_is_fatal(error) != 0, isRetriable: rd_kafka_error_is_retriable(error) != 0)
    }

    /// The cause in a few words, for a message to a user: librdkafka's own reason for a failed
    /// connection ("connection refused", "failed to resolve 'host:9092': ..."), without the
    /// broker's name and the connection state around it; else the whole message.
    public var cause: String {
        var rest = message[...]
        if let failed = rest.firstRange(of: "failed: ") {
            rest = rest[failed.upperBound...]
        } else if let colon = rest.firstRange(of: ": "), rest[..<colon.lowerBound].contains("/") {
            rest = rest[colon.upperBound...]  // "127.0.0.1:1/bootstrap: ..."
        }
        if let after = rest.firstRange(of: " (after") { rest = rest[..<after.lowerBound] }
        return rest.prefix(1).lowercased() + rest.dropFirst()
    }

    public var description: String {
        var place = ""
        if let topic { place = topic + (partition.map { "/\($0)" } ?? "") + ": " }
        return place + message
    }
}

/// librdkafka configuration: any property can be set (`-X key=value`, pipeline files).
final class KafkaConfiguration {
    let pointer: OpaquePointer

    init(_ properties: [(String, String)]) throws(KafkaError) {
        pointer = rd_kafka_conf_new()
        for (key, value) in properties { try set(key, value) }
    }

    func set(_ key: String, _ value: String) throws(KafkaError) {
        var buffer = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(pointer, key, value, &buffer, buffer.count)
        guard result == RD_KAFKA_CONF_OK else {
            throw KafkaError(code: result.rawValue, message: "configuration \(key)=\(value): \(text(buffer))")
        }
    }
}

/// Makes a client handle, taking ownership of `configuration`.
func makeHandle(_ type: rd_kafka_type_t, _ configuration: KafkaConfiguration) throws(KafkaError) -> OpaquePointer {
    var buffer = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, configuration.pointer, &buffer, buffer.count) else {
        rd_kafka_conf_destroy(configuration.pointer)
        throw KafkaError(code: -1, message: "cannot create a Kafka client: \(text(buffer))")
    }
    return handle
}

/// The text of a NUL-terminated C buffer.
func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// What a client's C callbacks reach through the handle's opaque pointer: at least the logger
/// that librdkafka's own log lines go to. Subclasses add what their callbacks need.
class KafkaClientContext {
    let logger: Logger
    init(logger: Logger) {
        self.logger = logger
    }

    /// Routes librdkafka's log lines (syslog levels) to `logger`. The callback runs on
    /// librdkafka's threads and reads only the immutable logger.
    static func routeLogs(_ configuration: KafkaConfiguration) {
        rd_kafka_conf_set_log_cb(configuration.pointer) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk), let message else { return }
            let context = Unmanaged<KafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
            let swiftLevel: Logger.Level =
                switch level {
                case 0...2: .critical
                case 3: .error
                case 4: .warning
                case 5: .notice
                case 6: .info
                default: .debug
                }
            context.logger.log(
                level: swiftLevel, "\(String(cString: message))",
                metadata: ["kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"])
        }
    }
}
