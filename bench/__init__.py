"""Benchmarks of volmgr: run ``python -m bench.manage`` (see docs/performance.rst)."""
