#!/usr/bin/env bash
# The main job on the embedded default: start the embedded Kafka-protocol broker, produce
# sample-events/ to it, ingest them through a consumer group into a fresh event log, verify the
# log, and print the DORA and MTTR report in Markdown. Installs what is missing and builds in
# release mode. Set DORALOG_DEMO_LOG to keep the log somewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build -c release --product doralog >&2
doralog=".build/release/doralog"
work="$(mktemp -d)"
log="${DORALOG_DEMO_LOG:-$work/log}"

"$doralog" broker --topic events --partitions 6 > "$work/broker.txt" &
broker=$!
trap 'kill $broker 2>/dev/null || true; wait $broker 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/broker.txt" ] && break; sleep 0.1; done
brokers=$(head -1 "$work/broker.txt")
echo "embedded broker at $brokers" >&2

for file in sample-events/*.jsonl; do
    echo "produce $file -> topic events" >&2
    "$doralog" produce --brokers "$brokers" --topic events --file "$file" >&2
done
echo "ingest topic events (group demo) -> $log" >&2
"$doralog" ingest --brokers "$brokers" --topic events --group demo --log "$log" --until-end >&2
"$doralog" verify --log "$log" >&2
"$doralog" report --log "$log" --format markdown
