#!/usr/bin/env bash
# Fail when etc/volmgr/volmgr.conf.sample is not what oslo-config-generator makes
# from the code. Regenerate it with:
#   oslo-config-generator --config-file etc/volmgr/volmgr-config-generator.conf
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$VENV/bin/oslo-config-generator" --config-file etc/volmgr/volmgr-config-generator.conf \
    --output-file "$tmp/volmgr.conf.sample" 2>/dev/null
if ! diff -u etc/volmgr/volmgr.conf.sample "$tmp/volmgr.conf.sample"; then
    echo "etc/volmgr/volmgr.conf.sample is stale: regenerate it (see tools/check-samples.sh)" >&2
    exit 1
fi
echo "samples are current"
