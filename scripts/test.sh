#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (the build's libraries; Prometheus,
# promtool and Alertmanager, which `doralog run`'s tests start for real; wrk; chromium, which
# opens the HTML report; Python's jsonschema), builds (the CLI tests run the binary), then
# `swift test` (its exit status is the verdict).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh prometheus prometheus-alertmanager wrk chromium
# The event schema's tests validate with the `jsonschema` package, as producers would.
python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install -q jsonschema
swift build
swift test
