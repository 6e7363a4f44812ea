#!/usr/bin/env bash
# Set up a virtualenv from the project's own files, start the local services the
# tests need if they are down, then run the checks and every test layer:
# lint, type checks (mypy), generated samples, the documentation site, the container
# image (when a container engine is present), unit, functional, driver contract,
# db, integration and the fault suite. The fault suite and the checks run in the
# background alongside the test layers; their output follows at the end.
#
#   bash tools/run-tests.sh            # everything
#   bash tools/run-tests.sh tests/unit # only some tests (pytest arguments)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VOLMGR_VENV:-.venv}
PYTHON=${PYTHON:-python3}

step() { printf '\n=== %s (at %d s)\n' "$*" "$SECONDS"; }

# Steps that run alongside others write to a log of their own, printed when they end.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A started_at pid_of
in_background() {  # NAME COMMAND...: run in the background, output to $logs/NAME
    local name=$1
    shift
    started_at[$name]=$SECONDS
    (
        start=$SECONDS
        trap 'echo "(took $((SECONDS - start)) s)"' EXIT
        "$@"
    ) >"$logs/$name" 2>&1 &
    pid_of[$name]=$!
}
failed=()
collect() {  # NAME TITLE: wait for a background step, print its output and time
    local name=$1 code=0
    wait "${pid_of[$name]}" || code=$?
    step "$2 (ran in the background from $((started_at[$name])) s, exit $code)"
    cat "$logs/$name"
    [ "$code" -eq 0 ] || failed+=("$2")
}

# The local services start (those that are down) while the virtualenv is made.
in_background services bash tools/start-services.sh

step "virtualenv $VENV"
if [ "${CI:-}" = "true" ] || [ ! -x "$VENV/bin/python" ]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test,docs]"

collect services "local services"

checks() {
    step "lint"
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .

    step "mypy"
    "$VENV/bin/mypy" volmgr_common volmgr_api volmgr_scheduler volmgr_volume volmgr_all

    step "generated samples are current"
    bash tools/check-samples.sh "$VENV"

    step "documentation site (warnings are errors)"
    local docs_out
    docs_out=$(mktemp -d)
    "$VENV/bin/sphinx-build" -W --keep-going -q -b html docs "$docs_out"
    rm -rf "$docs_out"

    step "container image"
    # Built only where a container engine runs; tests/unit/test_deployment_files.py
    # checks the Dockerfile's commands against the console scripts everywhere else.
    local engine
    engine=$(command -v docker || command -v podman || true)
    if [ -n "$engine" ] && "$engine" info >/dev/null 2>&1; then
        "$engine" build -q -t volmgr:ci .
        "$engine" run --rm volmgr:ci volmgr-manage --version
    else
        echo "no container engine: image not built"
    fi
}

if [ $# -gt 0 ]; then
    checks
    step "tests"
    "$VENV/bin/pytest" -p no:cacheprovider --durations=10 "$@"
    exit
fi

# The fault suite runs after the other layers, its modules on two workers (each module
# has its cluster: a throwaway vhost and database, or the worker's shared one), the
# longest modules first (--no-loadscope-reorder keeps the order LONGEST_MODULES in
# tests/conftest.py gives them). VOLMGR_FAULTS_ALONGSIDE=1 starts it first, alongside
# everything else: quicker on a machine with cores to spare, but on two cores its
# daemons are starved and timing-sensitive fault tests fail.
faults=("$VENV/bin/pytest" -p no:cacheprovider --durations=15
    -n "${VOLMGR_FAULT_WORKERS:-2}" --dist loadfile --no-loadscope-reorder tests/faults)
alongside=${VOLMGR_FAULTS_ALONGSIDE:-0}
[ "$alongside" = "0" ] || in_background faults "${faults[@]}"
in_background checks checks
# The checks keep a core busy for about 20 s and the contract tests one for about
# 90 s: the unit and db tests run in one process beside them, on the other core.
in_background unit_db "$VENV/bin/pytest" -p no:cacheprovider --durations=10 tests/unit tests/db

# Driver contract tests share one loop-device VG: one process runs them. The
# functional and integration tests run on two workers, a module per worker (a
# module's tests keep their order and fixtures), the longest modules first
# (LONGEST_MODULES in tests/conftest.py).
step "tests: driver contract"
contract=0
"$VENV/bin/pytest" -p no:cacheprovider --durations=10 tests/contract || contract=$?
[ "$contract" -eq 0 ] || failed+=("driver contract tests")
collect checks "lint, mypy, samples, documentation site, container image"

step "tests: functional, integration"
layers=0
"$VENV/bin/pytest" -p no:cacheprovider --durations=15 -n "${VOLMGR_TEST_WORKERS:-2}" \
    --dist loadfile --no-loadscope-reorder tests/functional tests/integration || layers=$?
[ "$layers" -eq 0 ] || failed+=("functional and integration tests")
collect unit_db "unit and db tests (one process, beside the contract tests)"

[ "$alongside" != "0" ] || in_background faults "${faults[@]}"
collect faults "fault suite (test modules on ${VOLMGR_FAULT_WORKERS:-2} workers)"

step "all steps done"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
