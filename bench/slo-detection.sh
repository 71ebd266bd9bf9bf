#!/usr/bin/env bash
# Measures the regression detector (docs/slo.md): stationary false-alarm rate and delay to see a
# 1.5x step, over 20 seeds and five sample shapes, with the evaluator code the live run uses.
set -euo pipefail
cd "$(dirname "$0")/.."
DORALOG_PRINT_DETECTION=1 swift test -c release --filter 'RegressionDetectionTests/detectionFigures' 2>&1 | grep 'detection:'
