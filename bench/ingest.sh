#!/usr/bin/env bash
# Benchmark of `doralog ingest --file` against its physical floor, in one run on one file:
# `zstd -T1` at the log's default level compressing the same JSONL to /dev/null.
# Usage: bench/ingest.sh [events]   (default 10,000,000; data kept in bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-10000000}"
runs="${RUNS:-3}"
bash scripts/ensure-deps.sh time
swift build -c release --product doralog >&2
doralog=.build/release/doralog
mkdir -p bench/out
data="bench/out/events-$events.jsonl"
if [ ! -f "$data" ]; then
    echo "generating $events events into $data" >&2
    /usr/bin/time -f "generate: %e s" "$doralog" generate --events "$events" --days 365 --services 200 --teams 12 --output "$data"
fi
bytes=$(stat -c %s "$data")
cat "$data" > /dev/null  # warm the page cache for both contenders

source bench/lib.sh
read -r floor_s floor_rss < <(best "$runs" zstd -3 -T1 -c "$data")
log=bench/out/ingest-log
read -r ours_s ours_rss < <(PREPARE="rm -rf $log" best "$runs" "$doralog" ingest --file "$data" --log "$log")
summary=$("$doralog" ingest --file "$data" --log "$log")  # a re-run: everything is a duplicate
log_bytes=$(du -sb "$log" | cut -f1)

awk -v n="$events" -v b="$bytes" -v fs="$floor_s" -v os="$ours_s" -v fr="$floor_rss" -v or="$ours_rss" -v lb="$log_bytes" 'BEGIN {
    printf "| events | JSONL MB | zstd -3 -T1 s | zstd ev/s | ingest s | ingest ev/s | ratio | ingest peak RSS MiB | log MB |\n"
    printf "|---|---|---|---|---|---|---|---|---|\n"
    printf "| %d | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f | %.0f | %.0f |\n", n, b/1e6, fs, n/fs, os, n/os, fs/os, or/1024, lb/1e6
}'
echo "re-ingest of the same file: $summary" >&2
