#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (the build's libraries; Prometheus,
# promtool and Alertmanager, which `doralog run`'s tests start for real; wrk; chromium, which
# opens the HTML report; Python's jsonschema, the CloudEvents SDK and confluent-kafka; a clone of
# the CDEvents spec for its schemas), builds (the CLI tests run the binary), then
# `swift test` (its exit status is the verdict), and a second `swift test` for the tests that
# take mock brokers down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh prometheus prometheus-alertmanager wrk chromium
# The event schema's tests validate with the `jsonschema` package, as producers would; the
# CDEvents input is fed by the CNCF CloudEvents SDK, over HTTP and through Kafka (confluent-kafka).
python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install -q jsonschema
python3 -c "import cloudevents.v1.http, confluent_kafka" 2>/dev/null || python3 -m pip install -q "cloudevents==2.2.0" "confluent-kafka==2.16.1"
# The CDEvents input's samples are checked against the official JSON schemas of cdevents/spec
# (tags v0.4.1 and v0.5.1), read from a bare clone kept in .build/. Without the network the
# clone fails and that one test says it was skipped; CDEVENTS_SPEC_GIT names a clone to use.
if [ -z "${CDEVENTS_SPEC_GIT:-}" ]; then
    spec=$PWD/.build/cdevents-spec.git
    if ! git --git-dir "$spec" rev-parse -q --verify v0.5.1 > /dev/null 2>&1; then
        rm -rf "$spec"
        mkdir -p .build
        timeout 120 git clone -q --bare https://github.com/cdevents/spec "$spec" 2> /dev/null || rm -rf "$spec"
    fi
    if [ -d "$spec" ]; then
        export CDEVENTS_SPEC_GIT=$spec
    else
        echo "scripts/test.sh: github.com/cdevents/spec could not be cloned; the CDEvents schema test will be skipped" >&2
    fi
fi
swift build
# A hung test must not hold CI for ever: the suite takes about 5 minutes here, so after 20 the
# run is stopped (with its test processes) and fails, saying so.
status=0
timeout --kill-after=30s 20m swift test || status=$?
# Then the tests that take mock brokers down, in a test process of their own: librdkafka 2.0.2
# aborts its process when a downed broker's port is still held by a child another test is
# spawning (see KafkaTesting.mayTakeBrokersDown). The first run skipped them.
if [ "$status" -eq 0 ]; then
    DORALOG_TEST_BROKER_FAULTS=1 timeout --kill-after=30s 10m swift test --skip-build --filter BrokerFaultTests || status=$?
fi
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "scripts/test.sh: swift test did not finish in time (a test hung); stopped" >&2
    pkill -KILL -f "^$PWD/.build/" || true  # the test binary and the processes it started
fi
exit "$status"
