#!/usr/bin/env bash
# Benchmark of the HTML page (issue 12): on a 1,000-service, 90-day log, in one run, the time of
# `report --format html` (which also computes the weekly series, the comparison with the
# previous period, the distributions' samples and the longest recoveries) against
# `report --format json` of the same period (the plain report), and against the JSON of the
# same figures (`--series week --compare previous`: what the page adds is then the rendering
# alone); as ratios, with the page's size. With --pipeline the page also runs the SLO backtest.
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
read -r same_s _ < <(best "$runs" "$doralog" report --log "$log" --format json "${period[@]}" --series week --compare previous)
read -r html_s html_rss < <(best "$runs" "$doralog" report --log "$log" --format html "${period[@]}")
read -r slo_s _ < <(best "$runs" "$doralog" report --log "$log" --format html "${period[@]}" --pipeline pipelines/demo.yaml)
"$doralog" report --log "$log" --format html "${period[@]}" --pipeline pipelines/demo.yaml --output bench/out/report.html 2>/dev/null
page_bytes=$(stat -c %s bench/out/report.html)
awk -v n="$events" -v js="$json_s" -v ss="$same_s" -v hs="$html_s" -v ps="$slo_s" -v jr="$json_rss" -v hr="$html_rss" -v pb="$page_bytes" 'BEGIN {
    printf "| events | json s | json, same figures s | html s | html --pipeline s | html / json | html / same figures | html RSS / json RSS MiB | page MB |\n"
    printf "|---|---|---|---|---|---|---|---|---|\n"
    printf "| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f / %.0f | %.2f |\n", n, js, ss, hs, ps, hs/js, hs/ss, hr/1024, jr/1024, pb/1e6
}'
