#!/usr/bin/env bash
# Replay against its floor and a peer, in one run (issue 15's first target): a held-out-style
# stream (900k events, 1,000 services, 180 days) is ingested once, then, best of $RUNS each:
#  (a) the floor: `zstd -dc` of the log's segments to /dev/null (one core);
#  (b) `doralog report --format json` over the whole log, with its CPU time / wall time;
#  (c) DuckDB (PyPI `duckdb`) computing deploy counts and rollback and incident p50/p95 per
#      service from the same events as JSONL (bench/duckdb_report.py).
# Usage: bench/replay.sh [events] [services] [days]   (default 900000 1000 180)
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-900000}"
services="${2:-1000}"
days="${3:-180}"
bash scripts/ensure-deps.sh time
python3 -c "import duckdb" 2>/dev/null || pip install -q duckdb
swift build -c release --product doralog >&2
doralog=.build/release/doralog
mkdir -p bench/out
data="bench/out/replay-$events-$services-$days.jsonl"
log="bench/out/replay-log-$events-$services-$days"
# Dated in the past, so that the default period holds every event.
[ -f "$data" ] || "$doralog" generate --events "$events" --days "$days" --start 2025-01-01 --services "$services" --teams 12 --output "$data"
source bench/lib.sh
ensure_log "$doralog" "$data" "$log"
runs="${RUNS:-5}"

# best_cpu N CMD...: like `best`, also printing the fastest run's CPU time (user + system).
best_cpu() {
    local runs=$1
    shift
    local b="" c="" out
    out=$(mktemp)
    for _ in $(seq "$runs"); do
        /usr/bin/time -o "$out" -f "%e %U %S" "$@" > /dev/null 2>&1
        read -r t u s < "$out"
        if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; c=$(awk "BEGIN{print $u + $s}"); fi
    done
    rm -f "$out"
    echo "$b $c"
}

read -r floor_s _ < <(best "$runs" sh -c "cat $log/segment-*.zst | zstd -dc")
read -r report_s report_cpu < <(best_cpu "$runs" "$doralog" report --log "$log" --format json)
read -r _ report_rss < <(best 1 "$doralog" report --log "$log" --format json)
read -r duck_s _ < <(best "$runs" python3 bench/duckdb_report.py "$data")

awk -v f="$floor_s" -v r="$report_s" -v c="$report_cpu" -v m="$report_rss" -v d="$duck_s" -v n="$events" -v s="$services" 'BEGIN {
    printf "| events | services | zstd -dc s | report s | report / floor | CPU / wall | DuckDB s | DuckDB / report | report peak RSS MiB |\n"
    printf "|---|---|---|---|---|---|---|---|---|\n"
    printf "| %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f |\n", n, s, f, r, r/f, c/r, d, d/r, m/1024
}'
