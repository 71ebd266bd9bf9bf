#!/usr/bin/env bash
# Alert latency of `doralog run` against the Kafka round-trip floor (bench/alert_latency.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh kcat
swift build -c release --product doralog >&2
python3 bench/alert_latency.py .build/release/doralog "${1:-200}"
