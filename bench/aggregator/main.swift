// doralog-aggregator-bench: the live aggregator's own cost, without Kafka or the log's I/O.
//
// Reads the events of a log block by block and feeds them to `doralog run`'s live state
// (`LiveState`) in rounds of a fixed number of events, as the aggregator takes durable appends,
// and prints the CPU and wall time spent inside the rounds. The rounds are the same on every
// run, so the CPU time compares two builds far more steadily than `run`'s wall time does on a
// noisy machine (bench/run-ingest.sh measures the whole service). It also prints how a round's
// wall time grows along the stream (the median of five rounds at 10 %, 50 % and 90 % of it,
// all of one size), the peak RSS and what the live state holds at the end: with the pipeline
// file's `live.retention`, both should stay flat (bench/live-growth.sh). A round's time
// includes the retention step it is due, as in `run`, which sends the round's transitions
// before that step: the steps' count, median and longest time are printed apart.
//
// Usage: doralog-aggregator-bench LOG_DIR PIPELINE_FILE [EVENTS_PER_ROUND]   (default 65536)
import DoraEventLog
import DoraEvents
import DoraPipelineFile
import DoraService
import Foundation

/// CPU time of the whole process (every thread: the rounds run on several).
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let perRound = Int(arguments.count > 3 ? arguments[3] : "65536"), perRound > 0 else {
    FileHandle.standardError.write("usage: doralog-aggregator-bench LOG_DIR PIPELINE_FILE [EVENTS_PER_ROUND]\n".data(using: .utf8)!)
    exit(2)
}
do {
    let definition = try PipelineFile.load(arguments[2])
    let reader = try LogReader(directory: arguments[1])
    let state = LiveState(
        configuration: definition.metrics, slos: definition.slos, readiness: definition.readiness, assignments: definition.assignments,
        retention: definition.retention?.wholeMicroseconds)
    var (cpu, wall, rounds, alerts, total) = (0.0, Duration.zero, 0, 0, 0)
    var roundSeconds: [Double] = []
    var stepSeconds: [Double] = []
    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    let clock = ContinuousClock()
    var pending: [Event] = []
    let blocks = reader.blocks(overlapping: nil)
    var next = 0
    while next < blocks.count || !pending.isEmpty {
        // Decoded a block at a time, outside the rounds, so only a round's events are held.
        while pending.count < perRound && next < blocks.count {
            try reader.forEachEvent(in: [blocks[next]]) { pending.append($0) }
            next += 1
        }
        let round = Array(pending.prefix(perRound))
        pending.removeFirst(round.count)
        total += round.count
        var summary = AppendSummary()
        summary.stored = round.count
        let (cpuBefore, began) = (cpuSeconds(), clock.now)
        alerts += await state.add(round, summary: summary, deferringRetention: true).count
        let (retainedBefore, stepBegan) = (await state.retainedFrom, clock.now)
        await state.applyRetention()
        if await state.retainedFrom != retainedBefore { stepSeconds.append(seconds(clock.now - stepBegan)) }
        cpu += cpuSeconds() - cpuBefore
        let took = clock.now - began
        wall += took
        // Only full rounds compare: the last one may be short.
        if round.count == perRound { roundSeconds.append(seconds(took)) }
        rounds += 1
    }
    func median(_ values: ArraySlice<Double>) -> Double { values.sorted()[values.count / 2] }
    // Five rounds around a point of the stream: at 10 %, 50 % and 90 % of it (not its very
    // end: a generated stream longer than its days wraps around to its first day at the end,
    // and those rounds are a backfill).
    func around(_ fraction: Double) -> Double {
        guard roundSeconds.count >= 5 else { return 0 }
        let c = min(max(Int(Double(roundSeconds.count) * fraction), 2), roundSeconds.count - 3)
        return median(roundSeconds[(c - 2)...(c + 2)])
    }
    let (first, middle, last) = (around(0.1), around(0.5), around(0.9))
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.map { $0.filter(\.isNumber) } ?? "?"
    print(
        "events \(total) rounds \(rounds) slos \(definition.slos.count) alerts \(alerts) cpu_s \(String(format: "%.3f", cpu)) "
            + "wall_s \(String(format: "%.3f", seconds(wall))) first_round_s \(String(format: "%.4f", first)) "
            + "mid_round_s \(String(format: "%.4f", middle)) last_round_s \(String(format: "%.4f", last)) peak_rss_kib \(peak) retained_items \(await state.retainedItems) "
            + "retention_steps \(stepSeconds.count) retention_step_median_s \(String(format: "%.4f", stepSeconds.isEmpty ? 0 : median(stepSeconds[...]))) "
            + "retention_step_max_s \(String(format: "%.4f", stepSeconds.max() ?? 0))")
} catch {
    FileHandle.standardError.write("doralog-aggregator-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
