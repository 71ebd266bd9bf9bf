#!/usr/bin/env bash
# Benchmark of `doralog ingest --brokers` against kcat (same librdkafka) piping the same topic
# through `zstd -T1` to a file, in one run, from the embedded broker.
# The mock cluster keeps only a few MB per partition, so the topic has many partitions.
# Rates use the messages each side actually read (the mock drops the oldest past its cap).
# Usage: bench/kafka.sh [events] [partitions]   (default 1,000,000 over 128)
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
partitions="${2:-128}"
bash scripts/ensure-deps.sh kcat time
swift build -c release --product doralog >&2
doralog=.build/release/doralog
work=$(mktemp -d)
source bench/lib.sh
broker_with_events "$doralog" "$work" "$events" "$partitions"

kcat_s=$( { /usr/bin/time -f "%e" sh -c "kcat -C -b $brokers -t events -e -q -f '%s\n' | zstd -3 -T1 -q -o $work/kcat.zst"; } 2>&1 | tail -1)
kcat_lines=$(zstd -dc "$work/kcat.zst" | wc -l)
line=$( { /usr/bin/time -f "%e %M" "$doralog" ingest --brokers "$brokers" --topic events --group bench --log "$work/log" --until-end > "$work/ingest.txt"; } 2>&1 | tail -1)
ours_s=${line% *}
ours_rss=${line#* }
echo "ingest: $(cat "$work/ingest.txt")" >&2
ours_read=$(sed -E 's/^read ([0-9]+),.*/\1/' "$work/ingest.txt")
awk -v n="$events" -v p="$partitions" -v k="$kcat_s" -v kl="$kcat_lines" -v o="$ours_s" -v ol="$ours_read" -v r="$ours_rss" 'BEGIN {
    printf "| produced | partitions | kcat read | kcat+zstd s | kcat ev/s | ingest read | ingest s | ingest ev/s | ratio | ingest RSS MiB |\n"
    printf "|---|---|---|---|---|---|---|---|---|---|\n"
    printf "| %d | %d | %d | %.2f | %.0f | %d | %.2f | %.0f | %.2f | %.0f |\n", n, p, kl, k, kl/k, ol, o, ol/o, (ol/o)/(kl/k), r/1024
}'
