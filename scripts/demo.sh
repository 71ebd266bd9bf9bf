#!/usr/bin/env bash
# The main job on the embedded default: ingest sample-events/ into a fresh event log, check
# it, and print what it holds. Installs what is missing and builds in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build -c release --product doralog >&2
doralog=".build/release/doralog"
log="${DORALOG_DEMO_LOG:-$(mktemp -d)/log}"
for file in sample-events/*.jsonl; do
    echo "ingest $file -> $log" >&2
    "$doralog" ingest --file "$file" --log "$log"
done
"$doralog" verify --log "$log"
if "$doralog" report --help >/dev/null 2>&1 && "$doralog" report --log "$log" --format markdown 2>/dev/null; then
    :
fi
