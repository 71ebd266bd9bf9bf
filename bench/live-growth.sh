#!/usr/bin/env bash
# Does the live state's cost grow with how long `doralog run` has run? (issue 15, items 3-4)
# N generated events (as bench/scale.sh makes them: about 2,000 a day, up to three years) are
# ingested into a log, then fed to the live state in rounds of 65,536 events in log order by
# bench/aggregator (`doralog-aggregator-bench`: the aggregator's rounds without Kafka), once
# keeping the whole history and once with `live: {retention: 60d}`. For each: the peak RSS,
# what the state holds at the end, and a round's wall time at 10 %, 50 % and 90 % of the
# stream (medians of five rounds of the same size; not at its very end, where a generated
# stream longer than its days wraps around to its first day, a backfill). The whole-history run is skipped where it
# cannot fit in memory (about 350 bytes per event).
# Usage: bench/live-growth.sh [N...]   (default 10000000)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build -c release --product doralog >&2
swift build -c release --product doralog-aggregator-bench >&2
doralog=$PWD/.build/release/doralog
bench=$PWD/.build/release/doralog-aggregator-bench
source bench/lib.sh
for n in "${@:-10000000}"; do
    work=$(mktemp -d)
    scaled_stream "$n"
    echo "== N = $n events, $days days, $services services"
    "$doralog" generate --events "$n" --days "$days" --start "$start" --services "$services" --teams 12 | "$doralog" ingest --file - --log "$work/log" > /dev/null
    echo "| live state | peak RSS | held at the end | round at 10 % | 50 % | 90 % | 90 % / 10 % | CPU s in rounds |"
    echo "|---|---|---|---|---|---|---|---|"
    for retention in none 60d; do
        {
            echo 'source: {kafka: {brokers: "127.0.0.1:1", topics: [events], group: bench}}'
            echo "log: {directory: \"$work/unused\"}"
            echo 'slos:'
            echo '  - {name: rb, metric: rollback_time, objective: 5m, window: 28d}'
            echo '  - {name: rec, metric: recovery_time, objective: 1h, window: 28d, per: group}'
            echo '  - {name: lt, metric: lead_time, objective: 1d, window: 28d, per: group}'
            [ "$retention" = none ] || echo "live: {retention: $retention}"
        } > "$work/p-$retention.yaml"
        avail_kib=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
        if [ "$retention" = none ] && (( n / 1024 * 350 > avail_kib * 9 / 10 )); then
            echo "| whole history | skipped: about $(( n / 1024 * 350 / 1048576 )) GiB needed | | | | | | |"
            continue
        fi
        out=$("$bench" "$work/log" "$work/p-$retention.yaml" 65536)
        field() { sed -E "s/.* $1 ([0-9.?]+).*/\1/" <<< "$out"; }
        awk -v r="$retention" -v rss="$(field peak_rss_kib)" -v held="$(field retained_items)" -v f="$(field first_round_s)" \
            -v m="$(field mid_round_s)" -v l="$(field last_round_s)" -v c="$(field cpu_s)" 'BEGIN {
            printf "| %s | %.0f MiB | %d items | %.3f s | %.3f s | %.3f s | %.2fx | %.1f |\n",
                (r == "none" ? "whole history" : "retention " r), rss / 1024, held, f, m, l, (f > 0 ? l / f : 0), c }'
    done
    rm -rf "$work"
done
