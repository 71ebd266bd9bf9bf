@testable import DoraReports
import Testing

/// The JSON writer of the reports: a long array is written in slices on every core.
@Suite struct JSONOutTests {
    /// The text one loop over the items writes: what the slices must join up to.
    func expected(_ count: Int, nested: Bool) -> String {
        let items = (0..<count).map { i in
            nested ? "    {\n      \"n\": \(i)\n    }" : "  {\n    \"n\": \(i)\n  }"
        }
        let array = "[\n" + items.joined(separator: ",\n") + (nested ? "\n  ]" : "\n]")
        return nested ? "{\n  \"items\": " + array + "\n}" : array
    }

    @Test(arguments: [0, 1, 255, 256, 257, 300, 1000, 1001])
    func anArrayOfAnyLengthIsWrittenAsOneLoopWouldWriteIt(count: Int) {
        let items = (0..<count).map { JSONOut.object([("n", .int($0))]) }
        let want = count == 0 ? "[]" : expected(count, nested: false)
        #expect(JSONOut.array(items).serialized() == want)
        let nested = JSONOut.object([("items", .array(items))]).serialized()
        #expect(nested == (count == 0 ? "{\n  \"items\": []\n}" : expected(count, nested: true)))
    }
}
