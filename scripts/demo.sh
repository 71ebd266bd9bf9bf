#!/usr/bin/env bash
# The main job on the embedded default: ingest sample-events/ into a fresh event log, verify
# it, and print the DORA and MTTR report in Markdown. Installs what is missing and builds in
# release mode. Set DORALOG_DEMO_LOG to keep the log somewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
swift build -c release --product doralog >&2
doralog=".build/release/doralog"
log="${DORALOG_DEMO_LOG:-$(mktemp -d)/log}"
for file in sample-events/*.jsonl; do
    echo "ingest $file -> $log" >&2
    "$doralog" ingest --file "$file" --log "$log" >&2
done
"$doralog" verify --log "$log" >&2
"$doralog" report --log "$log" --format markdown
