#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds (the CLI tests run the binary),
# then `swift test` (its exit status is the verdict).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build
swift test
