// doralog-aggregator-bench: the live aggregator's own cost, without Kafka or the log's I/O.
//
// Reads every event of a log into memory, then feeds them to `doralog run`'s live state
// (`LiveState`) in rounds of a fixed number of events, as the aggregator takes durable appends,
// and prints the CPU and wall time spent inside the rounds. The rounds are the same on every
// run, so the CPU time compares two builds far more steadily than `run`'s wall time does on a
// noisy machine (bench/run-ingest.sh measures the whole service).
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
    var events: [Event] = []
    try LogReader(directory: arguments[1]).forEachEvent { events.append($0) }
    let state = LiveState(configuration: definition.metrics, slos: definition.slos, assignments: definition.assignments)
    var (cpu, wall, rounds, alerts) = (0.0, Duration.zero, 0, 0)
    let clock = ContinuousClock()
    var start = 0
    while start < events.count {
        let round = Array(events[start..<min(start + perRound, events.count)])
        start += round.count
        var summary = AppendSummary()
        summary.stored = round.count
        let (cpuBefore, began) = (cpuSeconds(), clock.now)
        alerts += await state.add(round, summary: summary).count
        cpu += cpuSeconds() - cpuBefore
        wall += clock.now - began
        rounds += 1
    }
    let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
    print("events \(events.count) rounds \(rounds) slos \(definition.slos.count) alerts \(alerts) cpu_s \(String(format: "%.3f", cpu)) wall_s \(String(format: "%.3f", seconds))")
} catch {
    FileHandle.standardError.write("doralog-aggregator-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
