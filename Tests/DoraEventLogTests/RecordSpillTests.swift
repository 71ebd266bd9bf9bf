import DoraEvents
import DoraTestSupport
import Foundation
import Testing

@testable import DoraEventLog

/// A partitioned replay sets a log's records aside by service and folds them back one
/// partition at a time: every record must come back once, in its service's partition.
@Suite struct RecordSpillTests {
    @Test(arguments: [1, 3, 16])
    func everyRecordComesBackOnceInItsServicesPartition(partitions: Int) throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir + "/log", configuration: LogTesting.smallSegments)
            let lines = (0..<3_000).map { i in
                EventJSON.deploy("d-\(i)", at: "2026-07-01T10:00:00Z", service: "svc-\(i % 50)", commits: [("sha-\(i)", "2026-07-01T09:00:00Z")])
            }
            for chunk in stride(from: 0, to: lines.count, by: 250) { _ = try log.append(LogTesting.batch(Array(lines[chunk..<chunk + 250]))) }
            let reader = try LogReader(directory: dir + "/log")
            // Small chunks, so that each partition has several, from both writers.
            let spill = RecordSpill(partitions: partitions, directory: dir, chunkBytes: 2_048)
            let written = try reader.foldEncoded(reader.blocks(overlapping: nil), into: try spill.writers(2)) { writer, record, encoded in
                writer.add(record, encoded: encoded)
            }
            try spill.finish(written)
            var seen: [String: Int] = [:]  // id -> partition
            for p in 0..<spill.partitions {
                #expect(spill.size(ofPartition: p).chunks > 1 || partitions == 16)
                let parts = try spill.fold(partition: p, into: [[Event](), [Event]()]) { events, record in events.append(Event(record)) }
                for event in parts.joined() {
                    #expect(seen.updateValue(p, forKey: event.id) == nil, "\(event.id) came back twice")
                    var service = event.service
                    let expected = service.withUTF8 { spill.partition(ofService: UnsafeRawBufferPointer($0)) }
                    #expect(p == expected)
                    if case .deploy(let d) = event.details { #expect(d.commits.first?.sha == "sha-" + event.id.dropFirst(2)) }
                }
            }
            #expect(seen.count == lines.count)
            // Every service in one partition, and with more partitions than one, several used.
            #expect(Set(seen.values).count == min(partitions, 50) || partitions == 16 && Set(seen.values).count > 8)
        }
    }

    @Test func aSpillInADirectoryThatDoesNotExistSaysWhichItIs() throws {
        let spill = RecordSpill(partitions: 2, directory: "/no/such/dir")
        do {
            _ = try spill.writers(2)
            Issue.record("a spill was made in a directory that does not exist")
        } catch {
            #expect(error.description.contains("/no/such/dir"))
        }
    }
}

@Suite struct SpillFileTests {
    @Test func appendsAreReadBackAtTheirOffsetsAndTheFileHasNoName() throws {
        try withTemporaryDirectory { dir in
            let file = try SpillFile(directory: dir)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
            let a: [UInt8] = Array(0..<200)
            let b: [UInt8] = Array(repeating: 7, count: 5_000)
            let offsetA = try a.withUnsafeBytes { try file.append($0) }
            let offsetB = try b.withUnsafeBytes { try file.append($0) }
            #expect(offsetA == 0 && offsetB == 200 && file.size == 5_200)
            var back = [UInt8](repeating: 0, count: 5_000)
            try back.withUnsafeMutableBytes { try file.read(into: $0, at: offsetB) }
            #expect(back == b)
            var past = [UInt8](repeating: 0, count: 10)
            #expect(throws: EventLogError.self) { try past.withUnsafeMutableBytes { try file.read(into: $0, at: 5_195) } }
        }
    }
}
