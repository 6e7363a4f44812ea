"""Run a volmgr daemon under yappi (CPU clock, every thread) and save where its CPU went.

``python -m bench._profiled --out FILE BINARY ARGS...`` runs the console script
``BINARY``'s entry point in this process with ``ARGS``; when the daemon stops (SIGTERM)
the function statistics are saved to ``FILE`` in pstats format. yappi counts CPU time
per function in every thread (C functions included), which a sampling profiler
attached from outside can miss; it slows the daemon down, so throughput measured
with it is not a result. Analyse the files with ``python -m bench.profile``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

ENTRY_POINTS = {
    "volmgr-api": "volmgr_api.cmd",
    "volmgr-scheduler": "volmgr_scheduler.cmd",
    "volmgr-volume": "volmgr_volume.cmd",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._profiled")
    parser.add_argument("--out", required=True)
    parser.add_argument("binary", choices=sorted(ENTRY_POINTS))
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    import yappi

    entry = importlib.import_module(ENTRY_POINTS[args.binary]).main
    sys.argv = [args.binary, *args.args]
    yappi.set_clock_type("cpu")
    yappi.start(builtins=True, profile_threads=True)
    try:
        entry()
    finally:
        yappi.stop()
        yappi.get_func_stats().save(args.out, type="pstat")


if __name__ == "__main__":
    main()
