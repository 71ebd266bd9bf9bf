#!/usr/bin/env bash
# Benchmark of the HTML page (issue 12): on a 1,000-service, 90-day log, the time of
# `report --format html` (which also computes the weekly series, the comparison with the
# previous period, the distributions' samples and the longest recoveries) against
# `report --format json` of the same period in the same run, as a ratio, and the page's size.
# Usage: bench/html.sh [events]   (default 1,000,000; data kept in bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
bash scripts/ensure-deps.sh time
swift build -c release --product doralog >&2
doralog=.build/release/doralog
mkdir -p bench/out
data="bench/out/events-$events-1000svc-90d.jsonl"
log="bench/out/html-log-$events"
[ -f "$data" ] || "$doralog" generate --events "$events" --days 90 --start 2025-06-01 --services 1000 --teams 40 --output "$data"
source bench/lib.sh
ensure_log "$doralog" "$data" "$log"
runs="${RUNS:-3}"
period=(--from 2025-07-15 --to 2025-08-30)  # compared with the 46 days before
read -r json_s json_rss < <(best "$runs" "$doralog" report --log "$log" --format json "${period[@]}")
read -r html_s html_rss < <(best "$runs" "$doralog" report --log "$log" --format html "${period[@]}" --pipeline pipelines/demo.yaml)
"$doralog" report --log "$log" --format html "${period[@]}" --pipeline pipelines/demo.yaml --output bench/out/report.html 2>/dev/null
page_bytes=$(stat -c %s bench/out/report.html)
awk -v n="$events" -v js="$json_s" -v hs="$html_s" -v jr="$json_rss" -v hr="$html_rss" -v pb="$page_bytes" 'BEGIN {
    printf "| events | report json s | report html s | html / json | json RSS MiB | html RSS MiB | page MB |\n"
    printf "|---|---|---|---|---|---|---|\n"
    printf "| %d | %.2f | %.2f | %.2f | %.0f | %.0f | %.2f |\n", n, js, hs, hs/js, jr/1024, hr/1024, pb/1e6
}'
