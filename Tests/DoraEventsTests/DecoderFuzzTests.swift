import DoraEvents
import DoraTestSupport
import Testing

/// Random and mutated inputs: the decoder never traps, and what it accepts round-trips.
@Suite struct DecoderFuzzTests {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    func check(_ bytes: [UInt8]) {
        let (record, viaEvent) = RecordPathTests.outcomes(bytes)
        switch (record, viaEvent) {
        case (.success(let a), .success(let b)): #expect(a.0 == b.0 && a.1 == b.1, "the record path differs")
        case (.failure(let a), .failure(let b)): #expect(a == b, "the record path rejects differently")
        default: Issue.record("the record path's verdict differs")
        }
        guard let event = try? EventDecoder.decode(bytes) else { return }
        var encoded: [UInt8] = []
        EventBinaryCodec.encode(event, into: &encoded)
        let decoded = encoded.withUnsafeBytes { raw -> Event? in
            var reader = BinaryReader(raw)
            return try? EventBinaryCodec.decode(from: &reader)
        }
        #expect(decoded == event)
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var rng = Rng(state: 7)
        for _ in 0..<30_000 {
            let bytes = (0..<rng.below(64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            check(bytes)
        }
    }

    @Test func mutatedValidEventsNeverCrashAndRoundTripWhenAccepted() {
        var rng = Rng(state: 11)
        let seeds = EventJSON.specExample.map { Array($0.utf8) } + [
            Array(#"{"id":"x","type":"deploy","time":"2026-07-01T00:00:00.123456789+05:30","service":"s","version":"v","commits":[{"sha":"a","time":"2026-06-30T00:00:00Z","extra":[1,{"b":null}]}],"unplanned":true,"schema_version":3}"#.utf8)
        ]
        let pieces: [[UInt8]] = ["\\u0000", "\\ud83d\\ude00", "\"", "\\", "{", "}", "[", "]", ",", ":", "null", "true", "-0.0e+1", "\u{7F}", "é", "\t"].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80]]
        var accepted = 0
        for i in 0..<40_000 {
            var bytes = seeds[i % seeds.count]
            for _ in 0..<(1 + rng.below(4)) {
                let at = rng.below(bytes.count + 1)
                switch rng.below(4) {
                case 0: if at < bytes.count { bytes.remove(at: at) }
                case 1: bytes.insert(contentsOf: pieces[rng.below(pieces.count)], at: at)
                case 2: if at < bytes.count { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) }
                default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + rng.below(20))], at: at)
                }
            }
            if (try? EventDecoder.decode(bytes)) != nil { accepted += 1 }
            check(bytes)
        }
        #expect(accepted > 1_000, "the mutations still produce many valid events (\(accepted))")
    }
}
