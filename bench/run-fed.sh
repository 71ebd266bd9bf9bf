#!/usr/bin/env bash
# `doralog run` fed a whole generated stream through Kafka, from an empty log (issue 15: "`run`
# fed 100M events: peak RSS under 1 GiB"). Unlike bench/run-startup.sh, which restarts `run` on
# a log already written, this `run` consumes, stores and evaluates every event itself: its
# peak holds the live state under its retention, the log's id index as it grows with the
# stored ids, the consumer's queue and the rounds.
# - the broker is `doralog broker` in a process of its own (64 partitions), so its memory is
#   not counted; it keeps only a bounded tail per partition, so the events are produced at
#   RATE a second (default 20,000), below `run`'s ingest rate, and the script checks that
#   `run` accounted for every one (stored + duplicates + rejected = produced);
# - the stream is bench/scale.sh's for N events: 2,000 services, 12 teams, about 91,000 a day
#   (1,095 days for 100M), ending before today; the pipeline is bench/run-startup.sh's: three
#   SLOs with 28-day windows and `live: {retention: 60d}`;
# - it prints the peak RSS (VmHWM) every 10 s, the events accounted for every minute, and at
#   the end the peak, `run`'s CPU seconds, the retained items and the time.
# Usage: bench/run-fed.sh [N]   (default 12,800,000: 140 days at the 100M stream's density)
# Environment: RATE (events produced a second); DORALOG (a doralog binary to measure instead
# of this checkout's release build).
# 100M takes about 85 minutes at the default rate and needs about 11 GB of disk for the log.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-12800000}
rate=${RATE:-20000}
bash scripts/ensure-deps.sh time
source bench/lib.sh
doralog_build
work=$(mktemp -d)
start_broker "$doralog" "$work" 64
days=$(( n / 91000 < 30 ? 30 : n / 91000 ))
start=$(date -u -d "-$(( days + 2 )) days" +%F)
port=$(( 20000 + RANDOM % 10000 ))
three_slo_pipeline "$brokers" "$work/log" fed "$port" > "$work/p.yaml"
"$doralog" run --pipeline "$work/p.yaml" > /dev/null 2> "$work/run.err" &
pid=$!
trap 'kill $pid $broker 2> /dev/null || true; rm -rf "$work"' EXIT
until curl -sf -m 1 "http://127.0.0.1:$port/readyz" > /dev/null; do
    kill -0 $pid 2> /dev/null || { echo "run exited: $(tail -3 "$work/run.err")"; exit 1; }
    sleep 0.2
done
started=$(date +%s)
"$doralog" generate --events "$n" --days "$days" --start "$start" --services 2000 --teams 12 \
    | "$doralog" produce --brokers "$brokers" --topic events --file - --rate "$rate" > "$work/produce.txt" 2>&1 &
producer=$!
# Events accounted for (stored, duplicates and rejected), from /metrics; empty if it did not answer.
accounted() {
    local text
    text=$(curl -sf -m 30 "http://127.0.0.1:$port/metrics") || return 0
    awk '/^doralog_events_total\{outcome="(stored|duplicates|rejected)"\}/ {s += $2} END {printf "%d", s}' <<< "$text"
}
# Until every produced event is accounted for, or nothing moved for two minutes once the producer
# is done (events lost from the broker's tail: reported, not waited for).
# /metrics is read once a minute: rendering it takes the live state's thread for seconds (2,000
# services), which a scrape every few seconds would take from the rounds.
last=-1 still=0 tick=0
while :; do
    sleep 10
    kill -0 $pid 2> /dev/null || { echo "run exited: $(tail -3 "$work/run.err")"; exit 1; }
    tick=$(( tick + 1 ))
    if [ $(( tick % 6 )) != 0 ]; then
        echo "$(( $(date +%s) - started )) s: VmHWM $(awk '/VmHWM/ {print $2}' /proc/$pid/status) KiB, VmRSS $(awk '/VmRSS/ {print $2}' /proc/$pid/status) KiB"
        continue
    fi
    done_n=$(accounted)
    [ -n "$done_n" ] || done_n=$last
    echo "$(( $(date +%s) - started )) s: $done_n of $n accounted for, VmHWM $(awk '/VmHWM/ {print $2}' /proc/$pid/status) KiB"
    [ "$done_n" -ge "$n" ] && break
    if ! kill -0 $producer 2> /dev/null; then
        if [ "$done_n" = "$last" ]; then still=$(( still + 1 )); else still=0; fi
        [ $still -ge 2 ] && { echo "stopped at $done_n of $n: the rest was lost from the broker's tail (lower RATE)"; break; }
    fi
    last=$done_n
done
wait $producer || echo "produce failed: $(tail -3 "$work/produce.txt")"
rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
# CPU seconds of `run` (user + system): comparable between builds when both accounted for every event.
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' /proc/$pid/stat)
items=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^doralog_live_retained_items / {print $2}')
kill -TERM $pid && wait $pid || true
echo "fed $n events over $days days in $(( $(date +%s) - started )) s: peak RSS $rss KiB, $cpu CPU-s, $items retained items"
