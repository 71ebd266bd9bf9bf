#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (the build's libraries, plus Prometheus
# and Alertmanager, which `doralog run`'s tests start for real), builds (the CLI tests run the
# binary), then `swift test` (its exit status is the verdict).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh prometheus prometheus-alertmanager wrk
swift build
swift test
