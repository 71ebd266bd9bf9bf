#!/usr/bin/env bash
# How time and memory grow with the log (issue 15): N generated events go straight into
# `doralog ingest --file -` (no JSONL file on disk), then `report` over everything, a quarter
# with `--margin`, and `doralog run`'s replay of the log at start-up (until /readyz), with the
# whole history and with `live: {retention: 60d}`, each with its peak RSS (once ingestion has
# also read the log's id index). Usage: bench/scale.sh N [N...]   (for example 1000000 10000000)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build -c release --product doralog >&2
doralog=$PWD/.build/release/doralog
source bench/lib.sh
for n in "${@:-1000000}"; do
    work=$(mktemp -d)
    scaled_stream "$n"
    echo "== N = $n events, $days days, $services services"
    # `time -f` measures the ingest end of the pipe (the generator runs beside it).
    ingest=$( { "$doralog" generate --events "$n" --days "$days" --start "$start" --services "$services" --teams 12 \
        | /usr/bin/time -f "%e s, peak RSS %M KiB" "$doralog" ingest --file - --log "$work/log" > "$work/ingest.out"; } 2>&1 | tail -1)
    echo "ingest: $ingest; $(cat "$work/ingest.out"); log $(du -sh "$work/log" | cut -f1)"
    report=$( { /usr/bin/time -f "%e s, peak RSS %M KiB" "$doralog" report --log "$work/log" --format json > "$work/report.json"; } 2>&1 | tail -1)
    echo "report (everything): $report"
    end=$(python3 -c "import json; print(json.load(open('$work/report.json'))['period']['to'][:10])")
    from=$(python3 -c "import datetime; print((datetime.date.fromisoformat('$end') - datetime.timedelta(days=92)).isoformat())")
    quarter=$( { /usr/bin/time -f "%e s, peak RSS %M KiB" "$doralog" report --log "$work/log" --format json --from "$from" --to "$end" --margin 30d > /dev/null; } 2>&1 | tail -1)
    echo "report (last quarter, --margin 30d): $quarter"
    # `run` keeps about 315 bytes per event of the history it holds (bench/RESULTS.md): with
    # the whole history, where that cannot fit in this machine's available memory, its replay is
    # not started (the kernel would kill it). With `live.retention` it replays only the blocks
    # that reach into the retention.
    for retention in none 60d; do
        avail_kib=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
        if [ "$retention" = none ] && (( n / 1024 * 350 > avail_kib * 9 / 10 )); then
            echo "run (replay until ready): skipped: about $(( n / 1024 * 350 / 1048576 )) GiB needed, $(( avail_kib / 1048576 )) GiB available"
            continue
        fi
        port=$(( 20000 + RANDOM % 10000 ))
        {
            echo 'source: {kafka: {brokers: embedded, topics: [events], group: scale}, embedded: {partitions: 2}}'
            echo "log: {directory: \"$work/log\"}"
            echo 'alerts: {stdout: false}'
            echo "http: {listen: \"127.0.0.1:$port\"}"
            echo 'slos:'
            echo '  - {name: rb, metric: rollback_time, objective: 5m}'
            [ "$retention" = none ] || echo "live: {retention: $retention}"
        } > "$work/p.yaml"
        started=$(date +%s.%N)
        "$doralog" run --pipeline "$work/p.yaml" > /dev/null 2> "$work/run.err" &
        pid=$!
        until curl -sf "http://127.0.0.1:$port/readyz" > /dev/null; do
            kill -0 $pid 2> /dev/null || { echo "run exited: $(tail -3 "$work/run.err")"; break; }
            sleep 0.2
        done
        ready=$(date +%s.%N)
        # The peak counts the log's id index, which ingestion reads once the replay is done.
        for _ in $(seq 300); do grep -q "read the log's id index" "$work/run.err" && break; sleep 0.2; done
        rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status 2> /dev/null || echo "?")
        kill -TERM $pid 2> /dev/null || true
        wait $pid 2> /dev/null || true
        label=$([ "$retention" = none ] && echo "run (replay until ready)" || echo "run with live.retention $retention (replay until ready)")
        echo "$label: $(awk "BEGIN{printf \"%.1f\", $ready - $started}") s, peak RSS ${rss} KiB"
    done
    rm -rf "$work"
done
