#!/usr/bin/env bash
# `doralog run`'s start-up and steady-state memory at the 100M stream's density (issue 15,
# `run` under 1 GiB): 6.4M events generated over 70 days for 2,000 services (about 91,000 a
# day, as bench/live-growth.sh 100000000 makes them), three SLOs with 28-day windows and
# `live: {retention: 60d}`.
# - start-up: `doralog run` on a copy of the log, from launch until /readyz (the replay of the
#   retention, the first evaluation and the first retention step), with its peak RSS (VmHWM)
#   once ingestion has read the log's id index too, three times (the first evaluation's scopes
#   run on two threads, so the peak varies);
# - steady state: the same events fed to the live state in rounds of 65,536
#   (doralog-aggregator-bench), with its peak RSS and the retention steps' times.
# Each prints what the state holds, so the bytes per retained item can be compared.
# Usage: bench/run-startup.sh [LOG]   (default: generates one in a temporary directory)
# Environment: RUNS (start-ups, default 3); STEADY=0 skips the steady state (which feeds every
# event of LOG: about 45 minutes for a 100M-event log); COPY=0 starts `run` on LOG itself
# instead of a copy (for a log too large to copy: the embedded topic is empty, so nothing is
# appended to it). The twenty-sixth session's real run over 100M stored events was
# `STEADY=0 COPY=0 bash bench/run-startup.sh LOG` on bench/scale.sh's 100M stream. EVENTS and
# DAYS size the generated log: `EVENTS=12800000 DAYS=140` (same density) also fills the 60 days
# before the retention, whose commits a long-running service remembers (twenty-seventh session).
# DORALOG (a doralog binary) times another build's start-ups, for an A/B comparison in one hour.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh time
source bench/lib.sh
doralog_build
swift build -c release --product doralog-aggregator-bench >&2
bench=$PWD/.build/release/doralog-aggregator-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=${1:-}
if [ -z "$log" ]; then
    log=$work/log
    "$doralog" generate --events "${EVENTS:-6400000}" --days "${DAYS:-70}" --services 2000 --teams 12 | "$doralog" ingest --file - --log "$log" > /dev/null
fi
slos='slos:
  - {name: rb, metric: rollback_time, objective: 5m, window: 28d}
  - {name: rec, metric: recovery_time, objective: 1h, window: 28d, per: group}
  - {name: lt, metric: lead_time, objective: 1d, window: 28d, per: group}
live: {retention: 60d}'
for i in $(seq "${RUNS:-3}"); do
    rm -rf "$work/copy"
    if [ "${COPY:-1}" = 0 ]; then ln -s "$(realpath "$log")" "$work/copy"; else cp -r "$log" "$work/copy"; fi  # `run` opens the log for writing
    port=$(( 20000 + RANDOM % 10000 ))
    printf '%s\n' 'source: {kafka: {brokers: embedded, topics: [events], group: startup}, embedded: {partitions: 2}}' \
        "log: {directory: \"$work/copy\"}" 'alerts: {stdout: false}' "http: {listen: \"127.0.0.1:$port\"}" "$slos" > "$work/p.yaml"
    started=$(date +%s.%N)
    "$doralog" run --pipeline "$work/p.yaml" > /dev/null 2> "$work/run.err" &
    pid=$!
    until curl -sf -m 1 "http://127.0.0.1:$port/readyz" > /dev/null; do
        kill -0 $pid 2> /dev/null || { echo "run exited: $(tail -3 "$work/run.err")"; exit 1; }
        sleep 0.2
    done
    ready=$(date +%s.%N)
    # Ingestion reads the log's id index once the replay is done (left out of the open): the
    # peak counts it (a few seconds at 100M stored events).
    for _ in $(seq 300); do grep -q "read the log's id index" "$work/run.err" && break; sleep 0.2; done
    rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
    items=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^doralog_live_retained_items / {print $2}')
    kill -TERM $pid && wait $pid || true
    echo "start-up $i: ready in $(awk "BEGIN{printf \"%.1f\", $ready - $started}") s, peak RSS $rss KiB, $items retained items"
done
[ "${STEADY:-1}" = 0 ] && exit 0
printf '%s\n' 'source: {kafka: {brokers: "127.0.0.1:1", topics: [events], group: bench}}' "log: {directory: \"$work/unused\"}" "$slos" > "$work/steady.yaml"
echo "steady state: $("$bench" "$log" "$work/steady.yaml" 65536)"
