import DoraEvents

/// Per commit sha (by fingerprint), the position of its first deploy and its commit time:
/// open addressing on the fingerprint's own bits (already uniform), with no re-hashing.
struct FirstDeployMap {
    private struct Slot {
        var sha: IDFingerprint
        var position: Int32  // -1: empty
        var commitTime: Int64
    }

    private var slots: [Slot]
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size * 5 / 8 < capacity { size *= 2 }
        slots = Array(repeating: Slot(sha: IDFingerprint(high: 0, low: 0), position: -1, commitTime: 0), count: size)
        mask = size - 1
    }

    /// Records that `sha` ships in the deploy at `position`, keeping the earliest position.
    mutating func offer(_ sha: IDFingerprint, position: Int, commitTime: Int64) {
        let m = mask
        slots.withUnsafeMutableBufferPointer { s in
            var i = Int(truncatingIfNeeded: sha.low) & m
            while true {
                if s[i].position < 0 {
                    s[i] = Slot(sha: sha, position: Int32(position), commitTime: commitTime)
                    return
                }
                if s[i].sha == sha {
                    if Int(s[i].position) > position {
                        s[i].position = Int32(position)
                        s[i].commitTime = commitTime
                    }
                    return
                }
                i = (i + 1) & m
            }
        }
    }

    /// Calls `body` with each sha's first deploy position and commit time.
    func forEach(_ body: (Int, Int64) -> Void) {
        for slot in slots where slot.position >= 0 { body(Int(slot.position), slot.commitTime) }
    }
}
