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
"$doralog" broker --topic events --partitions 6 > "$work/broker.txt" &
broker=$!
trap 'kill $broker 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/broker.txt" ] && break; sleep 0.1; done
brokers=$(head -1 "$work/broker.txt")
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
