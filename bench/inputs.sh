#!/usr/bin/env bash
# The HTTP inputs of `doralog run` (docs/inputs.md), against `doralog produce` in the same run:
#  1. webhook to durable: one event per webhook at 500/s for 20 s (bench/webhook_latency.py
#     measures send -> 2xx, when the broker has acknowledged it); a second consumer group
#     (`doralog ingest --latency-stats`) measures Kafka timestamp -> durable in its log. The sum
#     of the two p99s bounds the webhook -> durable p99.
#  2. throughput: `doralog produce` of 200k events against wrk posting the same kind of events
#     for 10 s, one per request and 100 per request (JSON lines), with 16 and 256 connections,
#     as events/s and a ratio. The HTTP floor is the same wrk against GET /readyz of the same
#     server (no body, no Kafka): what one request costs on this machine before any input work.
# Usage: bench/inputs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh wrk
swift build -c release --product doralog >&2
doralog=$PWD/.build/release/doralog
work=$(mktemp -d)
source bench/lib.sh
start_broker "$doralog" "$work" 6
port=$((20000 + RANDOM % 10000))
cat > "$work/pipeline.yaml" <<YAML
source: {kafka: {brokers: "$brokers", topics: [events], group: run}}
log: {directory: "$work/run-log"}
alerts: {stdout: false}
http: {listen: "127.0.0.1:$port"}
inputs:
  - {kind: events, max_events: 100000}
YAML
"$doralog" run --pipeline "$work/pipeline.yaml" > "$work/run.out" 2> "$work/run.err" &
run=$!
# `run` first, while the broker still answers: with the broker gone its shutdown waits for it.
trap "kill $run 2>/dev/null || true; wait $run 2>/dev/null || true; kill $broker 2>/dev/null || true; rm -rf '$work'" EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.2; done
"$doralog" ingest --brokers "$brokers" --topic events --group latency --log "$work/latency-log" --latency-stats \
    > "$work/ingest.out" 2> "$work/ingest.err" &
ingest=$!
sleep 5  # let it join the group

echo "== 1. webhook to durable, 500 webhooks/s for 20 s"
python3 bench/webhook_latency.py "http://127.0.0.1:$port/v1/events" 500 20
sleep 2
kill -TERM $ingest; wait $ingest || true
echo "Kafka timestamp -> durable (second consumer group): $(grep latency "$work/ingest.err" || echo none)"

echo "== 2. throughput"
"$doralog" generate --events 200000 --output "$work/events.jsonl" 2> /dev/null
start=$(date +%s.%N)
"$doralog" produce --brokers "$brokers" --topic events --file "$work/events.jsonl" > "$work/produce.out"
end=$(date +%s.%N)
produced=$(awk '{print $2}' "$work/produce.out" | tr -d ,)
produce_rate=$(awk "BEGIN{printf \"%.0f\", $produced / ($end - $start)}")
echo "doralog produce: $produced events in $(awk "BEGIN{printf \"%.2f\", $end - $start}") s = $produce_rate events/s"
declare -A floor
for c in 16 256; do
    floor[$c]=$(wrk -t2 -c$c -d10s --timeout 10s "http://127.0.0.1:$port/readyz" | awk '/Requests\/sec/ {print $2}')
    echo "HTTP floor, GET /readyz, $c connections: ${floor[$c]} requests/s"
done
for batch in 1 100; do
    cat > "$work/post.lua" <<LUA
n = 0
function request()
  local lines = {}
  for k = 1, $batch do
    n = n + 1
    lines[k] = string.format('{"id":"tp$batch-%d-%d","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s%d","version":"v%d"}', math.random(1e9), n, n % 50, n)
  end
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, table.concat(lines, "\n"))
end
LUA
    for c in 16 256; do
        out=$(wrk -t2 -c$c -d10s --timeout 10s -s "$work/post.lua" "http://127.0.0.1:$port")
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        errors=$(echo "$out" | grep -E "Non-2xx|Socket errors" || true)
        events=$(awk "BEGIN{printf \"%.0f\", $rps * $batch}")
        echo "HTTP input, $batch event(s) per request, $c connections: $rps requests/s = $events events/s," \
            "$(awk "BEGIN{printf \"%.2f\", $events / $produce_rate}")x produce, $(awk "BEGIN{printf \"%.2f\", $rps / ${floor[$c]}}")x the HTTP floor's requests ${errors:+($errors)}"
    done
done
