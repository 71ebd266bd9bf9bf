#!/usr/bin/env bash
# `doralog run` fed a whole generated stream through Kafka, from an empty log (issue 15: "`run`
# fed 100M events: peak RSS under 1 GiB"). Unlike bench/run-startup.sh, which restarts `run` on
# a log already written, this `run` consumes, stores and evaluates every event itself: its
# peak holds the live state under its retention, the log's id index as it grows with the
# stored ids, the consumer's queue and the rounds.
# - the broker is `doralog broker` in a process of its own (64 partitions), so its memory is
#   not counted. librdkafka's mock cluster keeps a bounded tail per partition, as a list of
#   the message sets produced, and walks that list from its head for every fetch: paced
#   messages sent one by one (librdkafka's default linger of 5 ms) made sets of one or two
#   messages, and the broker took a whole core to serve 5,000 events a second. So the
#   producer lingers 100 ms (sets of about 30 messages at 20,000 a second over 64
#   partitions). And so that no event falls out of a tail, the stream is produced in chunks
#   of LAG / 4 events, each at most RATE a second (default 20,000), and a chunk waits until
#   the group's committed offsets are within LAG (default 400,000) of its start. `run` is
#   fed as fast as it stores, and the script checks that it accounted for every event
#   (stored + duplicates + rejected = produced);
# - the stream is bench/scale.sh's for N events: 2,000 services, 12 teams, about 91,000 a day
#   (1,095 days for 100M), ending before today; the pipeline is bench/run-startup.sh's: three
#   SLOs with 28-day windows and `live: {retention: 60d}`, and a `wall_clock_lag` longer than
#   the stream (docs/slo.md, "The clock"). The stream is months to years old when it is fed,
#   so with the default lag of 30 s the SLO clock would jump to today whenever `run` caught
#   up with the producer, and the windows would hold nothing until the stream's last 56
#   days; a service fed as its events happen holds full windows all along;
# - it prints the committed offsets and the peak RSS (VmHWM) every 10 s, and at the end the
#   events accounted for, the peak, `run`'s CPU seconds, the retained items and the time.
# Usage: bench/run-fed.sh [N]   (default 12,800,000: 140 days at the 100M stream's density)
# Environment: RATE (events produced a second), LAG (events produced ahead of the committed
# offsets), SCRAPE (seconds between reads of /metrics); DORALOG (a doralog binary to measure
# instead of this checkout's release build).
# 100M takes about 85 minutes at the default rate and needs about 11 GB of disk for the log.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-12800000}
rate=${RATE:-20000}
lag=${LAG:-400000}
chunk=$(( lag / 4 ))
partitions=64
group=fed
bash scripts/ensure-deps.sh time
python3 -c "import confluent_kafka" 2> /dev/null || python3 -m pip install -q "confluent-kafka==2.16.1"
source bench/lib.sh
doralog_build
work=$(mktemp -d)
start_broker "$doralog" "$work" $partitions
days=$(( n / 91000 < 30 ? 30 : n / 91000 ))
start=$(date -u -d "-$(( days + 2 )) days" +%F)
port=$(( 20000 + RANDOM % 10000 ))
three_slo_pipeline "$brokers" "$work/log" $group "$port" "$(( days + 30 ))d" > "$work/p.yaml"
"$doralog" run --pipeline "$work/p.yaml" > /dev/null 2> "$work/run.err" &
pid=$!
trap 'kill $pid $broker 2> /dev/null || true; rm -rf "$work"' EXIT
until curl -sf -m 1 "http://127.0.0.1:$port/readyz" > /dev/null; do
    kill -0 $pid 2> /dev/null || { echo "run exited: $(tail -3 "$work/run.err")"; exit 1; }
    sleep 0.2
done
started=$(date +%s)
# committed.py BROKERS GROUP PARTITIONS prints the sum of the group's committed offsets (what
# `run` has stored and acknowledged), read without joining the group. split(1) runs
# feed-chunk.sh once per chunk, in order, with the chunk on its stdin and its name (x000000,
# x000001, ...) in FILE.
cat > "$work/committed.py" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
brokers, group, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False})
print(sum(max(tp.offset, 0) for tp in c.committed([TopicPartition("events", p) for p in range(partitions)], timeout=30)))
c.close()
PY
cat > "$work/feed-chunk.sh" <<SH
set -eu
need=\$(( 10#\${FILE#x} * $chunk - $lag ))
while [ \$need -gt 0 ]; do
    committed=\$(python3 "$work/committed.py" "$brokers" $group $partitions) || exit 1  # the broker is gone: stop feeding
    [ \$committed -ge \$need ] && break
    sleep 2
done
exec "$doralog" produce --brokers "$brokers" --topic events --file - --rate "$rate" -X linger.ms=100
SH
"$doralog" generate --events "$n" --days "$days" --start "$start" --services 2000 --teams 12 \
    | split -l $chunk -a 6 -d --filter="bash $work/feed-chunk.sh" - > "$work/produce.txt" 2>&1 &
producer=$!
# Progress is the group's committed offsets, read every 10 s without touching `run`. /metrics
# is read every SCRAPE seconds (default 60, a Prometheus scrape interval; 0: only at the end),
# and each read counts: it computes the live report, whose transient memory is part of a
# scraped process's peak.
scrape=${SCRAPE:-60}
hwm() { awk '/VmHWM/ {print $2}' /proc/$pid/status; }
last=-1 still=0 next_scrape=$scrape
while :; do
    sleep 10
    kill -0 $pid 2> /dev/null || { echo "run exited: $(tail -3 "$work/run.err")"; exit 1; }
    elapsed=$(( $(date +%s) - started ))
    if [ "$scrape" -gt 0 ] && [ $elapsed -ge $next_scrape ]; then
        curl -sf -m 60 -o /dev/null "http://127.0.0.1:$port/metrics" || echo "$elapsed s: /metrics did not answer"
        next_scrape=$(( next_scrape + scrape ))
    fi
    done_n=$(python3 "$work/committed.py" "$brokers" $group $partitions 2> /dev/null) || done_n=$last
    echo "$elapsed s: $done_n of $n committed, VmHWM $(hwm) KiB, VmRSS $(awk '/VmRSS/ {print $2}' /proc/$pid/status) KiB"
    [ "$done_n" -ge "$n" ] && break
    if ! kill -0 $producer 2> /dev/null; then
        if [ "$done_n" = "$last" ]; then still=$(( still + 1 )); else still=0; fi
        [ $still -ge 12 ] && { echo "stopped at $done_n of $n committed: the rest was lost from the broker's tail (lower LAG)"; break; }
    fi
    last=$done_n
done
wait $producer || echo "produce failed: $(tail -3 "$work/produce.txt")"
rss=$(hwm)
# CPU seconds of `run` (user + system): comparable between builds when both accounted for every event.
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' /proc/$pid/stat)
# Stored + duplicates + rejected must be every event produced (read after the peak was taken).
metrics=$(curl -sf -m 60 "http://127.0.0.1:$port/metrics")
accounted=$(awk '/^doralog_events_total\{outcome="(stored|duplicates|rejected)"\}/ {s += $2} END {printf "%d", s}' <<< "$metrics")
items=$(awk '/^doralog_live_retained_items / {print $2}' <<< "$metrics")
kill -TERM $pid && wait $pid || true
[ "$accounted" = "$n" ] || echo "NOT every event accounted for: $accounted of $n"
echo "fed $n events over $days days in $(( $(date +%s) - started )) s (/metrics every ${scrape} s): $accounted accounted for, peak RSS $rss KiB, $cpu CPU-s, $items retained items"
