#!/usr/bin/env bash
# The main job on the embedded default: `doralog run` on pipelines/demo.yaml. It starts the
# embedded Kafka-protocol broker, produces sample-events/ to it, ingests them through a consumer
# group into a fresh event log while keeping the metrics live, prints every SLO alert the sample
# data triggers (JSON lines), then the DORA and MTTR report in Markdown. Installs what is
# missing and builds in release mode. Set DORALOG_DEMO_LOG to keep the log somewhere.
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
