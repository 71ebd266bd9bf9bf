import DoraEvents
import DoraInputs
import Testing

/// A rejected item reaches the dead letters through the topic with its exact bytes.
@Suite struct RejectedItemTests {
    @Test func anItemsBytesAreFoundAsSentAndCarriedWhole() throws {
        let body = Array(#"{"version":"4","alerts":[ {"a": 1.50e3, "b":"x\u00e9"} ,[1,2],"s"], "z":{}}"#.utf8)
        let found = try #require(JSONValue.rawMember("alerts", in: body))
        let items = try #require(found.elements).map { String(decoding: body[$0], as: UTF8.self) }
        #expect(items == [#"{"a": 1.50e3, "b":"x\u00e9"}"#, "[1,2]", #""s""#])
        #expect(JSONValue.rawMember("missing", in: body) == nil)
        #expect(JSONValue.rawMember("alerts", in: Array("not json".utf8)) == nil)
        let ranges = found.elements!
        let message = RejectedItem.message(input: "alertmanager", request: "r1", index: 0, reason: "no \"service\" label", raw: body[ranges[0]])
        let letter = try #require(RejectedItem.deadLetter(of: message))
        #expect(letter.reason == #"input alertmanager, request r1, item 0: no "service" label"#)
        #expect(Array(letter.item) == Array(body[ranges[0]]))
        #expect(RejectedItem.deadLetter(of: Array(#"{"id":"x","type":"deploy"}"#.utf8)) == nil, "any other message is not one")
    }
}
