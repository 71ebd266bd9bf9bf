# Shared by the benchmark scripts.

# best N CMD...: runs CMD N times under /usr/bin/time and prints "seconds maxrss_kib" of the
# fastest run. $PREPARE, when set, is evaluated before each run (e.g. to remove a log).
best() {
    local runs=$1
    shift
    local b="" r=""
    for _ in $(seq "$runs"); do
        [ -n "${PREPARE:-}" ] && eval "$PREPARE"
        local line
        line=$( { /usr/bin/time -f "%e %M" "$@" > /dev/null; } 2>&1 | tail -1)
        local t=${line% *} m=${line#* }
        if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; r=$m; fi
    done
    echo "$b $r"
}

# ensure_log DORALOG DATA LOG: ingests DATA into LOG unless LOG is already a clean log, then
# reads the log's segments once (a warm page cache for every contender).
ensure_log() {
    local doralog=$1 data=$2 log=$3
    if ! "$doralog" verify --log "$log" >/dev/null 2>&1; then
        rm -rf "$log"
        "$doralog" ingest --file "$data" --log "$log" >&2
    fi
    cat "$log"/segment-*.zst > /dev/null
}

# start_broker DORALOG WORK PARTITIONS: starts the embedded broker with topic `events`, sets
# $brokers to its address and $broker to its pid, and removes WORK and the broker on exit.
start_broker() {
    local doralog=$1 work=$2 partitions=$3
    "$doralog" broker --topic events --partitions "$partitions" > "$work/broker.txt" &
    broker=$!
    trap "kill $broker 2>/dev/null || true; rm -rf '$work'" EXIT
    for _ in $(seq 100); do [ -s "$work/broker.txt" ] && break; sleep 0.1; done
    brokers=$(head -1 "$work/broker.txt")
}

# broker_with_events DORALOG WORK EVENTS PARTITIONS: generates EVENTS events (one year, 200
# services) into WORK/events.jsonl, starts the embedded broker (see start_broker) and produces
# them to its topic `events`.
broker_with_events() {
    local doralog=$1 work=$2 events=$3 partitions=$4
    "$doralog" generate --events "$events" --days 365 --start 2025-01-01 --services 200 --output "$work/events.jsonl"
    start_broker "$doralog" "$work" "$partitions"
    "$doralog" produce --brokers "$brokers" --topic events --file "$work/events.jsonl" >&2
}

# slo_pipeline BROKERS LOGDIR: prints the pipeline file of the live benchmarks: source topic
# `events` (group `live`), the log in LOGDIR, no alert output, and 50 SLOs over every metric,
# per service and pooled, several percentiles, objectives and windows.
slo_pipeline() {
    printf 'source:\n  kafka:\n    brokers: "%s"\n    topics: [events]\n    group: live\n' "$1"
    printf 'log: {directory: "%s"}\nalerts: {stdout: false}\nslos:\n' "$2"
    local metrics=(rollback_time recovery_time time_to_restore detect decide act verify lead_time)
    for i in $(seq 0 49); do
        local m=${metrics[$((i % 8))]}
        local per
        per=$([ $((i % 2)) -eq 0 ] && echo service || echo group)
        printf '  - {name: slo-%d, metric: %s, per: %s, percentile: %s, objective: %s, window: %s}\n' \
            "$i" "$m" "$per" "$([ $((i % 3)) -eq 0 ] && echo 95 || echo 90)" "$([ $((i % 4)) -eq 0 ] && echo 10m || echo 2h)" \
            "$([ $((i % 5)) -eq 0 ] && echo 7d || echo 28d)"
    done
}

# scaled_stream N: sets `days`, `services` and `start` for N generated events as the scale
# benchmarks make them: about 2,000 a day, 90 to 1,095 days, one service per 5,000 events (50
# to 2,000), ending before today (a live state's retention follows the latest event that is
# not in the future).
scaled_stream() {
    local n=$1
    days=$(( n / 2000 < 90 ? 90 : (n / 2000 > 1095 ? 1095 : n / 2000) ))
    services=$(( n / 5000 < 50 ? 50 : (n / 5000 > 2000 ? 2000 : n / 5000) ))
    start=$(date -u -d "-$(( days + 2 )) days" +%F)
}

# doralog_build: sets $doralog to $DORALOG when given (another build, for an A/B comparison),
# else to this checkout's release build, built first.
doralog_build() {
    if [ -n "${DORALOG:-}" ]; then
        doralog=$(realpath "$DORALOG")
    else
        swift build -c release --product doralog >&2
        doralog=$PWD/.build/release/doralog
    fi
}

# three_slo_pipeline BROKERS LOGDIR GROUP [PORT [LAG]]: prints bench/run-startup.sh's pipeline
# on topic `events` of BROKERS: three SLOs with 28-day windows and `live: {retention: 60d}`, no
# alert output; PORT adds an endpoint on that port of 127.0.0.1, LAG sets
# `alerts.wall_clock_lag`.
three_slo_pipeline() {
    printf 'source: {kafka: {brokers: "%s", topics: [events], group: %s}}\n' "$1" "$3"
    printf 'log: {directory: "%s"}\nalerts: {stdout: false%s}\n' "$2" "${5:+, wall_clock_lag: $5}"
    [ -n "${4:-}" ] && printf 'http: {listen: "127.0.0.1:%s"}\n' "$4"
    printf '%s\n' 'slos:' \
        '  - {name: rb, metric: rollback_time, objective: 5m, window: 28d}' \
        '  - {name: rec, metric: recovery_time, objective: 1h, window: 28d, per: group}' \
        '  - {name: lt, metric: lead_time, objective: 1d, window: 28d, per: group}' \
        'live: {retention: 60d}'
}
