#!/usr/bin/env bash
# The live aggregator's own CPU cost (issue 5), apart from Kafka and the log's I/O: a log
# written by Kafka ingest (partitions interleaved, as `doralog run` sees them) is fed to the
# live state in fixed rounds by bench/aggregator (doralog-aggregator-bench), with the 50 SLOs
# of bench/run-ingest.sh. The rounds are the same on every run, so the CPU time compares two
# builds more steadily than `run`'s wall time. The floor printed beside it is the CPU time of
# plain `doralog ingest` of the same events in the same run: the aggregator's cost as a ratio
# of the ingest it rides on.
# Usage: bench/aggregator.sh [events] [events per round...]   (default 1,000,000; 65536 and 262144)
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
shift || true
if [ $# -gt 0 ]; then rounds=("$@"); else rounds=(65536 262144); fi
bash scripts/ensure-deps.sh time
swift build -c release --product doralog >&2
swift build -c release --product doralog-aggregator-bench >&2
doralog=.build/release/doralog
bench=.build/release/doralog-aggregator-bench
work=$(mktemp -d)
source bench/lib.sh
broker_with_events "$doralog" "$work" "$events" 128
slo_pipeline "$brokers" "$work/unused" > "$work/pipeline.yaml"
line=$( { /usr/bin/time -f "%U %S" "$doralog" ingest --brokers "$brokers" --topic events --group bench --log "$work/log" --until-end > /dev/null; } 2>&1 | tail -1)
ingest_cpu=$(awk -v u="${line% *}" -v s="${line#* }" 'BEGIN { printf "%.2f", u + s }')
runs="${RUNS:-3}"
echo "| events per round | rounds | aggregator CPU s (best of $runs) | wall s | plain ingest CPU s | aggregator / ingest CPU |"
echo "|---|---|---|---|---|---|"
for size in "${rounds[@]}"; do
    best="" best_wall="" count=""
    for _ in $(seq "$runs"); do
        out=$("$bench" "$work/log" "$work/pipeline.yaml" "$size")
        cpu=$(sed -E 's/.*cpu_s ([0-9.]+).*/\1/' <<< "$out")
        if [ -z "$best" ] || awk "BEGIN{exit !($cpu < $best)}"; then
            best=$cpu
            best_wall=$(sed -E 's/.*wall_s ([0-9.]+).*/\1/' <<< "$out")
            count=$(sed -E 's/.*rounds ([0-9]+).*/\1/' <<< "$out")
        fi
    done
    awk -v z="$size" -v r="$count" -v c="$best" -v w="$best_wall" -v i="$ingest_cpu" \
        'BEGIN { printf "| %d | %d | %.2f | %.2f | %.2f | %.2f |\n", z, r, c, w, i, c / i }'
done
