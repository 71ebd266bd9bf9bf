import DoraEventLog
import DoraEvents
import DoraInputs
import DoraKafka
import DoraTestSupport
import Foundation
import Testing

@testable import DoraPipeline

/// A Kafka source's `format`: CDEvents are mapped, doralog's events pass as they are, and a
/// message of a CDEvents source that is none lands in the dead letters with its reason.
@Suite struct MessageFormatTests {
    static func message(_ text: String, offset: Int64) -> KafkaMessage {
        KafkaMessage(topic: "events", partition: 0, offset: offset, key: nil, value: Array(text.utf8), timestampMilliseconds: nil)
    }

    static let cdevent = #"{"specversion":"1.0","id":"x","source":"/ci","type":"dev.cdevents.service.deployed.0.3.0","data":{"context":{"specversion":"0.5.1","id":"x","source":"/ci","type":"dev.cdevents.service.deployed.0.3.0","timestamp":"2026-07-01T10:00:00Z"},"subject":{"id":"checkout","content":{"environment":{"id":"production"},"artifactId":"v42"}}}}"#
    static let native = EventJSON.deploy("d-1", at: "2026-07-01T09:00:00Z", service: "cart")

    @Test func eachFormatTakesWhatItShould() throws {
        try withTemporaryDirectory { dir in
            var cases: [(MessageFormat, stored: Int, rejected: Int, reasons: [String])] = []
            cases.append((.doralog, 1, 2, ["missing_field", "invalid_json"]))
            cases.append((.cdevents(CDEventsMapping()), 1, 2, ["unmappable_input", "unmappable_input"]))
            cases.append((.auto(CDEventsMapping()), 2, 1, ["invalid_json"]))
            for (i, c) in cases.enumerated() {
                var batch = MessageBatch()
                for (offset, text) in [Self.cdevent, Self.native, "not json"].enumerated() {
                    KafkaIngestor.append(Self.message(text, offset: Int64(offset)), as: c.0, to: &batch)
                }
                let log = try EventLog(directory: dir + "/log\(i)")
                let summary = try log.append(batch)
                #expect(summary.stored == c.stored && summary.rejected == c.rejected, "case \(i): \(summary)")
                let letters = try String(contentsOfFile: dir + "/log\(i)/dead-letters.jsonl", encoding: .utf8)
                let reasons = letters.split(separator: "\n").compactMap { line in
                    (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["reason"] as? String
                }
                #expect(reasons == c.reasons, "case \(i)")
                if case .cdevents = c.0 {
                    #expect(letters.contains("not a CDEvent"), "the reason says why")
                    #expect(letters.contains(#""offset":1"#), "the source position is the message's")
                }
            }
        }
    }
}
