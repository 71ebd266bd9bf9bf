#!/usr/bin/env bash
# The delay from produce to durable-in-log at a steady rate, through the embedded broker:
# `doralog produce --rate` paces the producer (Kafka CreateTime stamps each message at send);
# `doralog ingest --latency-stats` records, once each batch is durable, now minus that stamp.
# Usage: bench/kafka-latency.sh [rate] [seconds]   (default 5000 events/s for 20 s)
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-5000}"
seconds="${2:-20}"
bash scripts/ensure-deps.sh
swift build -c release --product doralog >&2
doralog=.build/release/doralog
work=$(mktemp -d)
"$doralog" generate --events $((rate * seconds)) --output "$work/events.jsonl"
source bench/lib.sh
start_broker "$doralog" "$work" 6
"$doralog" ingest --brokers "$brokers" --topic events --group latency --log "$work/log" --latency-stats \
    > "$work/ingest.out" 2> "$work/ingest.err" &
ingest=$!
sleep 5  # let it join the group
"$doralog" produce --brokers "$brokers" --topic events --file "$work/events.jsonl" --rate "$rate" >&2
sleep 1
kill -TERM $ingest
wait $ingest
cat "$work/ingest.out" >&2
echo "rate $rate events/s for $seconds s: $(grep latency "$work/ingest.err")"
