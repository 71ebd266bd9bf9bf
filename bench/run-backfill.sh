#!/usr/bin/env bash
# `doralog run` catching up on a backlog (issue 15: `run`'s memory must not depend on how far
# behind it is): N events of bench/run-fed.sh's stream (2,000 services, about 91,000 a day) are
# produced to a broker first, then `run --until-end` starts on an empty log with three SLOs and
# `live: {retention: 60d}`, and reads them at ingestion's speed, which is several times the
# live state's. Prints `run`'s time, peak RSS (VmHWM) and events stored, and its aggregator's
# rounds and the seconds it took after ingestion ended.
# The broker (`doralog broker`, 256 partitions, in a process of its own) keeps only a bounded
# tail of each partition, about 5 MiB: a few million of these events in all.
# Usage: bench/run-backfill.sh [N]   (default 2,000,000)
# Environment: DORALOG (a doralog binary to measure instead of this checkout's release build);
# SLOS=50 (bench/run-ingest.sh's 50 SLOs instead of three: a slower live state).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000000}
bash scripts/ensure-deps.sh time
source bench/lib.sh
doralog_build
work=$(mktemp -d)
start_broker "$doralog" "$work" 256
days=$(( n / 91000 < 7 ? 7 : n / 91000 ))
"$doralog" generate --events "$n" --days "$days" --start "$(date -u -d "-$(( days + 2 )) days" +%F)" --services 2000 --teams 12 \
    | "$doralog" produce --brokers "$brokers" --topic events --file - > /dev/null
if [ "${SLOS:-3}" = 50 ]; then
    # bench/run-ingest.sh's 50 SLOs: a live state several times slower per event.
    { slo_pipeline "$brokers" "$work/log" | sed 's/group: live/group: backfill/'; echo 'live: {retention: 60d}'; } > "$work/p.yaml"
else
    three_slo_pipeline "$brokers" "$work/log" backfill > "$work/p.yaml"
fi
/usr/bin/time -o "$work/time" -f "%e %M" "$doralog" run --pipeline "$work/p.yaml" --until-end --report-format json > /dev/null 2> "$work/run.err"
read -r seconds rss < <(tail -1 "$work/time")
stored=$(grep -o 'stored=[0-9]*' "$work/run.err" | tail -1 | cut -d= -f2)
drained=$(grep -o 'after_ingestion_seconds=[0-9.]* busy_seconds=[0-9.]* rounds=[0-9]*' "$work/run.err" | tail -1 || true)
echo "backlog of $n events over $days days: run took $seconds s, peak RSS $rss KiB, stored $stored; aggregator: $drained"
