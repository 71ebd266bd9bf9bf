#!/usr/bin/env bash
# Installs the Debian packages doralog builds against, when they are missing.
# Usage: scripts/ensure-deps.sh [extra-package ...]
set -euo pipefail
packages=(libzstd-dev librdkafka-dev pkg-config zstd "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
