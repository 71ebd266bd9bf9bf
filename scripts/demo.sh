#!/usr/bin/env bash
# The main job on the embedded default: `doralog run` on pipelines/demo.yaml. It starts the
# embedded Kafka-protocol broker, produces sample-events/ to it, ingests them through a consumer
# group into a fresh event log while keeping the metrics live, prints every SLO alert the sample
# data triggers (JSON lines), then the DORA and MTTR report in Markdown. Then it writes the
# reports for people (Markdown and HTML, the sample's second half against its first) and says
# where. Installs what is missing and builds in release mode. Set DORALOG_DEMO_LOG to keep the
# log somewhere, DORALOG_DEMO_OUT to choose where the reports go.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build -c release --product doralog >&2
doralog=".build/release/doralog"
work="$(mktemp -d)"
log="${DORALOG_DEMO_LOG:-$work/log}"

echo "doralog run --pipeline pipelines/demo.yaml (log: $log)" >&2
"$doralog" run --pipeline pipelines/demo.yaml --log "$log" --until-end --report-format markdown
"$doralog" verify --log "$log" >&2
# The reports for people, side by side: the second half of the sample's 90 days against the
# first half, in Markdown and as a self-contained HTML page.
out="${DORALOG_DEMO_OUT:-$work}"
mkdir -p "$out"
for format in markdown html; do
    "$doralog" report --log "$log" --pipeline pipelines/demo.yaml --from 2026-08-15 --to 2026-09-29 --compare previous \
        --format "$format" --output "$out/report.${format/markdown/md}" 2>/dev/null
done
echo "reports: $out/report.md and $out/report.html (open the page in a browser; it needs no network)" >&2
