#!/usr/bin/env bash
# Benchmark of `doralog report --format json` on the 10M-event log, in one run against:
#  (a) the floor: `zstd -dc` of the log's segments to /dev/null;
#  (b) DuckDB (PyPI `duckdb`) computing, from the same events as JSONL, deploy counts and
#      rollback and incident duration p50/p95 per service;
# and a quarter out of the year (--from/--to with --margin 7d) against the full replay.
# Usage: bench/report.sh [events]   (default 10,000,000; reuses bench/out/ from ingest.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-10000000}"
bash scripts/ensure-deps.sh time
python3 -c "import duckdb" 2>/dev/null || pip install -q duckdb
swift build -c release --product doralog >&2
doralog=.build/release/doralog
data="bench/out/events-$events-from-2025.jsonl"  # dated in the past: the default period ends a day from now
log="bench/out/report-log-$events"
mkdir -p bench/out
[ -f "$data" ] || "$doralog" generate --events "$events" --days 365 --start 2025-01-01 --services 200 --teams 12 --output "$data"
source bench/lib.sh
ensure_log "$doralog" "$data" "$log"
runs="${RUNS:-3}"
read -r floor_s _ < <(best "$runs" sh -c "cat $log/segment-*.zst | zstd -dc")
read -r full_s full_rss < <(best "$runs" "$doralog" report --log "$log" --format json)
read -r quarter_s quarter_rss < <(best "$runs" "$doralog" report --log "$log" --format json --from 2025-10-01 --to 2026-01-01 --margin 7d)
read -r duck_s duck_rss < <(best "$runs" python3 bench/duckdb_report.py "$data")

awk -v f="$floor_s" -v o="$full_s" -v orss="$full_rss" -v q="$quarter_s" -v qrss="$quarter_rss" -v d="$duck_s" -v drss="$duck_rss" -v n="$events" 'BEGIN {
    printf "| events | zstd -dc s | report s | report / floor | DuckDB s | report / DuckDB | report peak RSS MiB | quarter s | quarter / full | quarter RSS MiB | DuckDB RSS MiB |\n"
    printf "|---|---|---|---|---|---|---|---|---|---|---|\n"
    printf "| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.2f | %.2f | %.0f | %.0f |\n", n, f, o, o/f, d, o/d, orss/1024, q, q/o, qrss/1024, drss/1024
}'
