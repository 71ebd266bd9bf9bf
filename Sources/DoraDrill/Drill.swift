import DoraEvents

/// A rollback rehearsal to run: which service and environment, the commands of its steps, and
/// how long it may take (docs/drills.md).
///
/// Invariant: every command has at least one word; `timeout` is positive.
public struct DrillPlan: Sendable {
    public var id: String
    public var service: String
    public var environment: String
    public var team: String?
    public var fromVersion: String?
    public var toVersion: String?
    /// Deploys the known-bad version first (optional).
    public var bad: [String]?
    /// The rollback itself: its run is the drill's act phase.
    public var rollback: [String]
    /// Run until it succeeds: the verify phase (optional).
    public var verify: [String]?
    /// Bounds the rollback and its verification together, from the rollback's start; the bad
    /// deploy has a bound of its own of the same length.
    public var timeout: Duration
    /// The first pause between two verification attempts; each pause doubles, up to 30 s.
    public var retryDelay: Duration

    public init(
        id: String, service: String, environment: String, rollback: [String], timeout: Duration = .seconds(600),
        retryDelay: Duration = .seconds(1)
    ) {
        self.id = id
        self.service = service
        self.environment = environment
        self.rollback = rollback
        self.timeout = timeout
        self.retryDelay = retryDelay
    }

    /// The variables the commands get on top of doralog's environment.
    public var childEnvironment: [String: String] {
        var out = ["DORALOG_DRILL_ID": id, "DORALOG_DRILL_SERVICE": service, "DORALOG_DRILL_ENVIRONMENT": environment]
        if let fromVersion { out["DORALOG_DRILL_FROM_VERSION"] = fromVersion }
        if let toVersion { out["DORALOG_DRILL_TO_VERSION"] = toVersion }
        return out
    }
}

/// What a drill measured and how it ended.
///
/// Invariant: `failure` is nil exactly when the rollback and the verification succeeded;
/// `act` is set once the rollback command ended, `verify` once verification ended.
public struct DrillResult: Sendable, Equatable {
    /// The step at which a drill failed.
    public enum Step: String, Sendable {
        case bad, rollback, verify
    }

    public struct Failure: Sendable, Equatable {
        public var step: Step
        /// One line: why (exit status, signal, timeout, interruption, not found).
        public var reason: String
        /// The step's exit status when it exited.
        public var exitStatus: Int32?
        /// The last lines the step wrote (standard output and error together).
        public var outputTail: [String]
        public var interrupted: Bool
    }

    /// Wall-clock time of the rollback's start (microseconds since 1970).
    public var started: Int64
    public var bad: Duration?
    public var act: Duration?
    public var verify: Duration?
    /// Verification attempts made.
    public var attempts = 0
    public var failure: Failure?

    /// Rollback start to completion (or failure): act plus verify.
    public var total: Duration { (act ?? .zero) + (verify ?? .zero) }
    /// The instant of the drill's outcome: the start plus the measured time.
    public var ended: Int64 { started + total.microseconds }
}

extension Duration {
    /// This duration in whole microseconds (truncated), as event times count.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

/// Runs a drill's steps (`DrillPlan`) as child processes and measures them: the bad deploy,
/// then the rollback (act), then verification until it succeeds (verify), within the timeout.
///
/// `emitStarted` is called when the rollback starts, with the instant it is stamped with, so
/// that the `started` event is on its way while the rollback runs. Output of the steps goes to
/// `output` as it comes; the last lines of each step are kept for the failure's record.
public struct DrillRunner {
    public var plan: DrillPlan
    public var interruption: Interruption
    /// Where the steps' output goes as it comes (the command line copies it to stderr).
    public var output: (UnsafeRawBufferPointer) -> Void
    /// The wall clock, microseconds since 1970 (a test can fix it).
    public var wallClock: () -> Int64

    public init(plan: DrillPlan, interruption: Interruption, output: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }) {
        self.plan = plan
        self.interruption = interruption
        self.output = output
        self.wallClock = { Timestamp.now().microseconds }
    }

    public func run(emitStarted: (Int64) throws(DrillError) -> Void) throws(DrillError) -> DrillResult {
        let clock = ContinuousClock()
        if let bad = plan.bad {
            let begin = clock.now
            var tail = OutputTail()
            let end = try step(bad, deadline: begin.advanced(by: plan.timeout), tail: &tail)
            let took = begin.duration(to: clock.now)
            if let failure = Self.failure(.bad, end, tail: tail, timeout: plan.timeout) {
                // The rollback was never tried; the record still says the drill failed, at once.
                let started = wallClock()
                try emitStarted(started)
                return DrillResult(started: started, bad: took, failure: failure)
            }
        }
        let started = wallClock()
        let begin = clock.now
        let deadline = begin.advanced(by: plan.timeout)
        try emitStarted(started)
        var result = DrillResult(started: started)
        var tail = OutputTail()
        let end = try step(plan.rollback, deadline: deadline, tail: &tail)
        let actEnded = clock.now
        result.act = begin.duration(to: actEnded)
        if let failure = Self.failure(.rollback, end, tail: tail, timeout: plan.timeout) {
            result.failure = failure
            return result
        }
        guard let verify = plan.verify else { return result }
        var pause = plan.retryDelay
        var last: (end: Termination, tail: OutputTail)? = nil
        while true {
            if let last, clock.now >= deadline {
                // The last attempt failed and no time is left for another.
                result.verify = actEnded.duration(to: clock.now)
                var failure = Self.failure(.verify, .timedOut, tail: last.tail, timeout: plan.timeout)!
                if case .exited(let status) = last.end {
                    failure.reason = "did not succeed within the timeout (\(Self.seconds(plan.timeout)) s); attempt \(result.attempts) exited with status \(status)"
                    failure.exitStatus = status
                }
                result.failure = failure
                return result
            }
            result.attempts += 1
            var tail = OutputTail()
            let end = try step(verify, deadline: deadline, tail: &tail)
            switch end {
            case .exited(0):
                result.verify = actEnded.duration(to: clock.now)
                return result
            case .timedOut, .interrupted, .notStarted:
                result.verify = actEnded.duration(to: clock.now)
                result.failure = Self.failure(.verify, end, tail: tail, timeout: plan.timeout)
                return result
            case .exited, .signaled:
                last = (end, tail)
            }
            // Pause before the next attempt (never past the deadline), unless interrupted.
            if interruption.wait(for: min(pause, max(clock.now.duration(to: deadline), .zero))) {
                result.verify = actEnded.duration(to: clock.now)
                result.failure = Self.failure(.verify, .interrupted, tail: tail, timeout: plan.timeout)
                return result
            }
            pause = min(pause * 2, .seconds(30))
        }
    }

    private func step(_ command: [String], deadline: ContinuousClock.Instant, tail: inout OutputTail) throws(DrillError) -> Termination {
        if interruption.isTriggered { return .interrupted }
        return try ChildProcess.run(command, environment: plan.childEnvironment, deadline: deadline, interruption: interruption) { bytes in
            output(bytes)
            tail.append(bytes)
        }
    }

    /// The failure a step's end means; nil when it succeeded.
    static func failure(_ step: DrillResult.Step, _ end: Termination, tail: OutputTail, timeout: Duration) -> DrillResult.Failure? {
        let lines = tail.lines
        switch end {
        case .exited(0):
            return nil
        case .exited(let status):
            return .init(step: step, reason: "exited with status \(status)", exitStatus: status, outputTail: lines, interrupted: false)
        case .signaled(let signal):
            return .init(step: step, reason: "killed by signal \(signal)", exitStatus: nil, outputTail: lines, interrupted: false)
        case .timedOut:
            return .init(step: step, reason: "still running after the timeout (\(seconds(timeout)) s); stopped", exitStatus: nil, outputTail: lines, interrupted: false)
        case .interrupted:
            return .init(step: step, reason: "interrupted", exitStatus: nil, outputTail: lines, interrupted: true)
        case .notStarted(let why):
            return .init(step: step, reason: "could not be started: \(why)", exitStatus: nil, outputTail: lines, interrupted: false)
        }
    }

    /// Seconds with millisecond precision: `12.345`.
    public static func seconds(_ d: Duration) -> String {
        let ms = d.microseconds / 1000
        return "\(ms / 1000).\(String(ms % 1000 + 1000).dropFirst())"
    }
}

/// The last bytes a step wrote, bounded (8 KiB), read back as its last 20 lines.
struct OutputTail {
    private var bytes: [UInt8] = []
    private static let limit = 8 << 10

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: chunk.suffix(Self.limit))
        if bytes.count > Self.limit { bytes.removeFirst(bytes.count - Self.limit) }
    }

    var lines: [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).suffix(20).map(String.init)
    }
}
