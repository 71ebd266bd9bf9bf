import DoraEvents
import DoraTestSupport
import Testing

@testable import DoraMetrics

/// The first-deploy map keeps no keys, only their low 32 bits and a position in the commits:
/// held here to a dictionary of whole short fingerprints, and to `FingerprintTable`'s slot order.
@Suite struct FirstDeployMapTests {
    typealias Commit = ServiceState.CommitRecord

    /// 4,000 deploys of 1 to 5 commits each, drawn from shas of which 300 share their low 32
    /// bits in groups (`crowded`), so that only the whole key, read from the commits, tells
    /// them apart; shas recur across deploys.
    static func commits(seed: UInt64) -> (commits: ChunkedArray<Commit>, ends: [Int]) {
        var random = SplitMix64(state: seed)
        let pool = crowded(300) + (0..<2_000).map { ShortFingerprint(id: "sha-\($0)") }
        var commits = ChunkedArray<Commit>()
        var ends: [Int] = []
        for _ in 0..<4_000 {
            for _ in 0..<(Int(random.next() % 5) + 1) {
                commits.append(Commit(sha: pool[Int(random.next() % UInt64(pool.count))], time: Int64(random.next() % 1_000_000)))
            }
            ends.append(commits.count)
        }
        return (commits, ends)
    }

    /// `n` short fingerprints in 7 groups that share their low 32 bits, each differing in its high ones.
    static func crowded(_ n: Int) -> [ShortFingerprint] {
        (0..<n).map { ShortFingerprint(bits: (UInt64($0 + 1) &* 0x9E37_79B9_7F4A_7C15) & 0xFFFF_FFFF_0000_0000 | UInt64($0 % 7) << 16) }
    }

    @Test(arguments: [(1, 0), (2, 20_000)] as [(UInt64, Int)])
    func eachShaKeepsTheDeployThatPrecedesTheOthersAsADictionaryOfWholeKeysWould(seed: UInt64, capacity: Int) {
        let (commits, ends) = Self.commits(seed: seed)
        var random = SplitMix64(state: seed + 100)
        let rank = (0..<ends.count).map { _ in random.next() }  // deploy order: by rank
        var map = FirstDeployMap(capacity: capacity)
        var expected: [ShortFingerprint: (deploy: Int, time: Int64)] = [:]
        var mismatches = 0
        var start = 0
        for (deploy, end) in ends.enumerated() {
            for position in start..<end {
                let c = commits[position]
                let held = map.offer(position, deploy: deploy, in: commits) { rank[deploy] < rank[$0] }
                let before = expected[c.sha]
                if let before {
                    if rank[deploy] < rank[before.deploy] {
                        expected[c.sha] = (deploy, c.time)
                        if held?.deploy != before.deploy || held?.commitTime != before.time { mismatches += 1 }
                    } else if held != nil {
                        mismatches += 1
                    }
                } else {
                    expected[c.sha] = (deploy, c.time)
                    if held == nil || held!.deploy != nil { mismatches += 1 }
                }
            }
            start = end
        }
        #expect(mismatches == 0)
        #expect(map.count == expected.count)
        var listed = 0
        map.forEachWithSHA(in: commits) { deploy, time, sha in
            listed += 1
            if expected[sha]?.deploy != deploy || expected[sha]?.time != time { mismatches += 1 }
        }
        #expect(listed == expected.count && mismatches == 0)
        // Held shas are found; a sha that shares the low bits of a held one but is not held is not.
        var wrong = 0
        for sha in expected.keys {
            if !map.contains(sha, in: commits) { wrong += 1 }
            let twin = ShortFingerprint(bits: sha.bits ^ 1 << 40)
            if expected[twin] == nil && map.contains(twin, in: commits) { wrong += 1 }
        }
        #expect(wrong == 0)
    }

    @Test func theSameOffersListTheShasInTheOrderAFingerprintTableHoldsThem() {
        let (commits, ends) = Self.commits(seed: 3)
        var map = FirstDeployMap()
        var table = FingerprintTable<Int32>()
        var start = 0
        for (deploy, end) in ends.enumerated() {
            for position in start..<end {
                map.offer(position, deploy: deploy, in: commits) { _ in false }
                table.withValue(forKey: commits[position].sha.fingerprint, inserting: Int32(deploy)) { _, _ in }
            }
            start = end
        }
        var mapOrder: [ShortFingerprint] = []
        map.forEachWithSHA(in: commits) { _, _, sha in mapOrder.append(sha) }
        var tableOrder: [ShortFingerprint] = []
        table.forEach { fingerprint, _ in tableOrder.append(ShortFingerprint(bits: fingerprint.low)) }
        let same = mapOrder == tableOrder
        #expect(same, "reports list lead-time origins in this order")
    }
}
