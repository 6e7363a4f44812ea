#!/usr/bin/env bash
# Set up a virtualenv from the project's own files, start the local services the
# tests need if they are down, then run the checks and every test layer:
# lint, type checks (mypy), generated samples, the documentation site, the container
# image (when a container engine is present), unit, functional, driver contract and
# integration.
#
#   bash tools/run-tests.sh            # everything
#   bash tools/run-tests.sh tests/unit # only some tests (pytest arguments)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VOLMGR_VENV:-.venv}
PYTHON=${PYTHON:-python3}

step() { printf '\n=== %s\n' "$*"; }

step "virtualenv $VENV"
if [ "${CI:-}" = "true" ] || [ ! -x "$VENV/bin/python" ]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test,docs]"

step "local services"
bash tools/start-services.sh

step "lint"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .

step "mypy"
"$VENV/bin/mypy" volmgr_common volmgr_api volmgr_scheduler volmgr_volume volmgr_all

step "generated samples are current"
bash tools/check-samples.sh "$VENV"

step "documentation site (warnings are errors)"
docs_out=$(mktemp -d)
"$VENV/bin/sphinx-build" -W --keep-going -q -b html docs "$docs_out"
rm -rf "$docs_out"

step "container image"
# Built only where a container engine runs; tests/unit/test_deployment_files.py checks
# the Dockerfile's commands against the console scripts everywhere else.
engine=$(command -v docker || command -v podman || true)
if [ -n "$engine" ] && "$engine" info >/dev/null 2>&1; then
    "$engine" build -q -t volmgr:ci .
    "$engine" run --rm volmgr:ci volmgr-manage --version
else
    echo "no container engine: image not built"
fi

step "tests"
if [ $# -gt 0 ]; then
    "$VENV/bin/pytest" -p no:cacheprovider --durations=10 "$@"
    exit
fi
# Driver contract tests share one loop-device VG: they run alone; the rest on two
# workers, a module per worker (a module's tests keep their order and fixtures).
"$VENV/bin/pytest" -p no:cacheprovider --durations=10 tests/contract
"$VENV/bin/pytest" -p no:cacheprovider --durations=10 -n "${VOLMGR_TEST_WORKERS:-2}" \
    --dist loadfile tests --ignore=tests/faults --ignore=tests/contract

step "fault suite (test modules on ${VOLMGR_FAULT_WORKERS:-2} workers)"
# Each module has its cluster (a throwaway vhost and database, or the worker's shared
# one), so modules run side by side; most of their time is spent waiting for daemons.
"$VENV/bin/pytest" -p no:cacheprovider --durations=10 -n "${VOLMGR_FAULT_WORKERS:-2}" \
    --dist loadfile tests/faults
