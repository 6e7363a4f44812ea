#!/usr/bin/env bash
# Fail when etc/volmgr/volmgr.conf.sample or policy.yaml.sample is not what the
# oslo generators make from the code. Regenerate them with:
#   oslo-config-generator --config-file etc/volmgr/volmgr-config-generator.conf
#   oslopolicy-sample-generator --config-file etc/volmgr/volmgr-policy-generator.conf
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
"$VENV/bin/oslopolicy-sample-generator" \
    --config-file etc/volmgr/volmgr-policy-generator.conf \
    --output-file "$tmp/policy.yaml.sample" 2>/dev/null
if ! diff -u etc/volmgr/policy.yaml.sample "$tmp/policy.yaml.sample"; then
    echo "etc/volmgr/policy.yaml.sample is stale: regenerate it (see tools/check-samples.sh)" >&2
    exit 1
fi
echo "samples are current"
