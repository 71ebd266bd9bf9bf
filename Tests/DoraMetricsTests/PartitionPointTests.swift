import DoraMetrics
import Testing

@Suite struct PartitionPointTests {
    @Test func theBinarySearchFindsWhatALinearScanFinds() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let values = (0..<Int.random(in: 0...40, using: &generator)).map { _ in Int64.random(in: 0...20, using: &generator) }.sorted()
            let bound = Int64.random(in: -1...21, using: &generator)
            #expect(values.partitionPoint { $0 >= bound } == (values.firstIndex { $0 >= bound } ?? values.count))
            #expect(values.partitionPoint { $0 > bound } == (values.firstIndex { $0 > bound } ?? values.count))
            if values.count >= 3 {  // a slice: indices are the collection's
                #expect(values[3...].partitionPoint { $0 > bound } == (values[3...].firstIndex { $0 > bound } ?? values.endIndex))
            }
        }
    }
}
