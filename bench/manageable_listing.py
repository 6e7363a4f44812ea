"""Bench: how long the drivers take to answer one page of a manageable listing.

The RPC call ``get_manageable_volumes`` must answer well inside the RPC timeout
(60 s by default) even on a backend holding 100,000 objects. This makes N sparse
files (raw for the file driver; a mix of qcow2 and raw for the image driver) in a
temporary directory, and optionally M LVs in a scratch volume group on a loop
device (``--lvm-objects``; ~0.1 s per lvcreate, so keep M in the hundreds), then
times the first, a middle (continued by marker) and the last page for each sort
key. It prints a table and, last, one JSON line with every figure.

    python -m bench.manageable_listing --objects 100000 --page 1000 [--lvm-objects 500]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oslo_log import log as logging

from tests.driver_support import make_conf
from tests.image_support import qcow2_header
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.base import GIB, VolumeDriver

SIZES_GIB = 10  # object n is (n % SIZES_GIB) + 1 GiB
SORTS = (("reference", "asc"), ("size", "desc"))


def object_name(n: int) -> str:
    return f"disk-{n:07d}.img"


def object_gib(n: int) -> int:
    return n % SIZES_GIB + 1


def make_files(directory: Path, count: int, images: bool) -> None:
    """``count`` sparse files; with ``images``, every other one is a qcow2 image."""
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        with open(directory / object_name(n), "wb") as f:
            if images and n % 2:
                f.write(qcow2_header(object_gib(n) * GIB))
            else:
                f.truncate(object_gib(n) * GIB - 512)


def expected_order(objects: list[tuple[str, int]], sort_key: str, sort_dir: str) -> list[str]:
    """Names of ``(name, GiB)`` objects in the order the driver must return them."""
    key: Callable[[tuple[str, int]], Any] = lambda item: item[0]  # noqa: E731
    if sort_key == "size":
        key = lambda item: (item[1], item[0])  # noqa: E731
    return [name for name, _ in sorted(objects, key=key, reverse=sort_dir == "desc")]


def time_page(
    driver: VolumeDriver, marker: str | None, page: int, sort: tuple[str, str]
) -> dict[str, float]:
    """Seconds of the first of three calls for one page, and their median."""
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        entries = driver.list_manageable({}, PageRequest(marker, page, sort=(sort,)))
        timings.append(time.perf_counter() - start)
        assert len(entries) == page, f"expected a full page, got {len(entries)}"
    return {"first_call": round(timings[0], 4), "seconds": round(statistics.median(timings), 4)}


def bench_driver(
    driver: VolumeDriver, objects: list[tuple[str, int]], page: int
) -> list[dict[str, Any]]:
    """Timings of the first, a middle and the last page for each sort."""
    rows = []
    for sort in SORTS:
        order = expected_order(objects, *sort)
        count = len(order)
        markers = {"first": None, "middle": order[count // 2 - 1], "last": order[-page - 1]}
        for position, marker in markers.items():
            timing = time_page(driver, marker, page, sort)
            rows.append({"sort": "/".join(sort), "page": position, **timing})
    return rows


@contextmanager
def lvm_driver(state: Path, count: int) -> Iterator[VolumeDriver]:
    """The LVM driver on a scratch VG holding ``count`` LVs (removed afterwards)."""
    from tests.lvm_support import scratch_volume_group

    with scratch_volume_group(f"{count * 4 + 64}M") as vg:
        for n in range(count):
            vg.create_lv(object_name(n), 4 * 1024**2)
        conf = make_conf(state, **vg.driver_overrides())
        driver = load_driver(conf)
        driver.do_setup()
        yield driver


def run(args: argparse.Namespace, state: Path) -> list[dict[str, Any]]:
    results = []
    files = [(object_name(n), object_gib(n)) for n in range(args.objects)]
    for name in ("file", "image"):
        start = time.perf_counter()
        driver = load_driver(make_conf(state, volume__volume_driver=name))
        make_files(Path(driver.conf[driver.conf_group].directory), args.objects, name == "image")
        setup = round(time.perf_counter() - start, 1)
        for row in bench_driver(driver, files, args.page):
            results.append({"driver": name, "objects": args.objects, **row, "setup_s": setup})
    if args.lvm_objects:
        lvs = [(object_name(n), 1) for n in range(args.lvm_objects)]
        with lvm_driver(state, args.lvm_objects) as driver:
            for row in bench_driver(driver, lvs, min(args.page, args.lvm_objects // 4)):
                results.append({"driver": "lvm", "objects": args.lvm_objects, **row})
    return results


def print_table(results: list[dict[str, Any]], page: int) -> None:
    print(f"{'driver':<7} {'objects':>8} {'sort':<15} {'page':<7} {'1st call':>9} {'median':>8}")
    for row in results:
        print(
            f"{row['driver']:<7} {row['objects']:>8} {row['sort']:<15} {row['page']:<7} "
            f"{row['first_call']:>9.3f} {row['seconds']:>8.3f}"
        )
    print(f"(seconds; page size {page}; median of 3 calls, the first of them shown apart)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000, help="files per directory")
    parser.add_argument("--page", type=int, default=1000, help="entries per page")
    parser.add_argument("--lvm-objects", type=int, default=0, help="LVs (0: skip LVM)")
    parser.add_argument("--dir", default=None, help="where to make the temporary directory")
    args = parser.parse_args(argv)
    if args.objects < 2 * args.page or (args.lvm_objects and args.lvm_objects < 8):
        parser.error("need --objects >= 2 * --page and --lvm-objects 0 or >= 8")
    logging.getLogger("volmgr_volume").logger.setLevel("WARNING")
    with tempfile.TemporaryDirectory(prefix="volmgr-bench-", dir=args.dir) as state:
        results = run(args, Path(state))
    print_table(results, args.page)
    worst = max(max(row["seconds"], row["first_call"]) for row in results)
    summary = {"bench": "manageable_listing", "page": args.page, "worst_seconds": worst}
    print(json.dumps({**summary, "results": results}))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LVM_SUPPRESS_FD_WARNINGS", "1")
    sys.exit(main())
