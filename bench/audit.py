"""Bench: one audit of a file backend holding N managed files.

Makes N real sparse files under their managed names (``volume-<uuid>``) in a
temporary directory, inserts their N volume rows in bulk (identity, provenance,
provider location, as a manage leaves them) into the database the bench uses
(SQLite in the temporary directory, or with ``--db postgresql`` a throwaway
database on the local PostgreSQL, dropped at the end), makes
``--orphans`` more files in managed form that no row knows (a restored database's
orphans), then changes some objects by hand (deleted, grown, renamed back) and runs
the audit of ``volmgr_volume.audit`` twice: the first records the drift and the
orphans (found in the same reading of the directory), the second (nothing changed)
writes no drift and finds no new orphan. While an audit runs, a thread samples the process's
resident memory every 10 ms; the growth reported is the peak over the RSS just
before the audit. A manageable listing page is timed while the first audit runs,
to show that it does not wait for the audit. Prints a table and, last, one JSON
line.

    python -m bench.audit --objects 100000 [--drift 300] [--orphans 100] [--db sqlite|postgresql]
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import oslo_messaging as messaging
import sqlalchemy as sa
from oslo_config import cfg
from oslo_log import log as logging

from bench._daemons import cleanup_on_exit, make_pg_database
from tests.driver_support import make_conf
from volmgr_common import provenance
from volmgr_common.context import get_admin_context
from volmgr_common.db import api as db_api
from volmgr_common.db import migration, models, volume_identity
from volmgr_common.page_request import PageRequest
from volmgr_volume.audit import Auditor, AuditSummary
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.base import GIB, VolumeDriver
from volmgr_volume.drivers.file import file_identity

BACKEND = "bench@files"
INSERT_CHUNK = 5000
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


class PeakMemory:
    """Samples the resident memory every 10 ms while active: the peak over the start."""

    def __init__(self) -> None:
        self.baseline = self.peak = rss_bytes()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mib(self) -> float:
        return round((self.peak - self.baseline) / 2**20, 1)


def make_objects(directory: Path, count: int) -> list[tuple[str, str]]:
    """``count`` sparse 1 GiB files under managed names: ``(volume id, identity)`` each."""
    directory.mkdir(parents=True, exist_ok=True)
    made = []
    for _ in range(count):
        volume_id = str(uuid.uuid4())
        path = directory / f"volume-{volume_id}"
        with open(path, "wb") as f:
            f.truncate(GIB)
        made.append((volume_id, file_identity(os.lstat(path))))
    return made


def insert_rows(db: db_api.Database, objects: list[tuple[str, str]]) -> None:
    """The rows a manage leaves for each object, inserted in bulk."""
    type_id = str(uuid.uuid4())
    now = models.utcnow()
    volumes = models.table_of(models.Volume)
    with db.engine.begin() as connection:
        connection.execute(
            sa.insert(models.table_of(models.VolumeType)),
            [{"id": type_id, "name": "__DEFAULT__", "is_public": True, "created_at": now}],
        )
        for start in range(0, len(objects), INSERT_CHUNK):
            connection.execute(
                sa.insert(volumes),
                [row(volume_id, identity, type_id, now) for volume_id, identity in
                 objects[start : start + INSERT_CHUNK]],
            )  # fmt: skip


def analyze(db: db_api.Database) -> None:
    """Statistics of the loaded table, as PostgreSQL's autovacuum gathers them after a
    bulk change (without them its planner sorts every remaining row for each page)."""
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE volumes" if db.engine.name != "sqlite" else "ANALYZE")


def row(volume_id: str, identity: str, type_id: str, now: Any) -> dict[str, Any]:
    name = f"disk-{volume_id[:8]}.img"
    origin = {key: None for key in provenance.KEYS}
    origin.update(
        reference={"source-name": name},
        original_name=name,
        size_bytes=GIB,
        backend=BACKEND,
        backend_identity=identity,
    )
    return {
        "id": volume_id,
        "project_id": "bench",
        "status": "available",
        "host": f"{BACKEND}#pool0",
        "availability_zone": "nova",
        "volume_type_id": type_id,
        "size": 1,
        "bootable": False,
        "reference": json.dumps({"source-name": name}),
        "reference_key": volume_id,
        "backend_identity": identity,
        "identity_key": volume_identity.identity_key(BACKEND, identity),
        "provenance": origin,
        "provider_location": f"volume-{volume_id}",
        "quota_volumes": True,
        "quota_gigabytes": 1,
        "created_at": now,
    }


def drift_by_hand(directory: Path, objects: list[tuple[str, str]], count: int) -> int:
    """Delete, grow and rename back ``count`` objects (a third each); how many changed."""
    step = max(1, len(objects) // max(count, 1))
    chosen = [objects[n][0] for n in range(0, len(objects), step)][:count]
    for n, volume_id in enumerate(chosen):
        path = directory / f"volume-{volume_id}"
        if n % 3 == 0:
            path.unlink()
        elif n % 3 == 1:
            os.truncate(path, GIB + 4096)
        else:
            path.rename(directory / f"disk-{volume_id[:8]}.img")
    return len(chosen)


def timed_audit(auditor: Auditor) -> tuple[AuditSummary, float, float]:
    """One audit: its summary, seconds and peak RSS growth (MiB)."""
    with PeakMemory() as memory:
        start = time.perf_counter()
        summary = auditor.run(get_admin_context())
        seconds = time.perf_counter() - start
    return summary, round(seconds, 3), memory.growth_mib


def listing_during(auditor: Auditor, driver: VolumeDriver) -> tuple[Any, float, float]:
    """The first audit, with a manageable listing page timed while it runs."""
    listing: list[float] = []

    def list_page() -> None:
        time.sleep(0.5)  # the audit has read the backend and is checking volumes
        start = time.perf_counter()
        driver.list_manageable({}, PageRequest(None, 100))
        listing.append(time.perf_counter() - start)

    thread = threading.Thread(target=list_page)
    thread.start()
    result = timed_audit(auditor)
    thread.join()
    return result, listing[0], 0.0


def run(args: argparse.Namespace, state: Path, database_url: str | None) -> dict[str, Any]:
    overrides: dict[str, Any] = {"volume__backend_name": "files"}
    if database_url:
        overrides["database__connection"] = database_url
    conf: cfg.ConfigOpts = make_conf(state, **overrides)
    conf.set_override("host", "bench")
    db = db_api.Database(conf)
    migration.sync(db)
    driver = load_driver(conf)
    driver.do_setup()
    directory = Path(conf.file_backend.directory)
    start = time.perf_counter()
    objects = make_objects(directory, args.objects)
    make_objects(directory, args.orphans)  # no row knows them
    insert_rows(db, objects)
    analyze(db)
    db.dispose()  # the audit reads on connections of its own, as in a volume service
    setup = round(time.perf_counter() - start, 1)
    changed = drift_by_hand(directory, objects, args.drift)
    transport = messaging.get_notification_transport(conf, url="fake:")
    notifier = messaging.Notifier(transport, driver="noop")
    auditor = Auditor(conf, db, driver, [BACKEND], notifier)
    (first, first_s, first_mib), listing_s, _ = listing_during(auditor, driver)
    second, second_s, second_mib = timed_audit(auditor)
    assert first.checked == second.checked == args.objects, (first.checked, second.checked)
    assert first.drifted == first.detected == changed, first.as_dict()
    assert second.drifted == changed and second.detected == second.changed == 0
    assert first.orphans == first.orphans_detected == args.orphans, first.as_dict()
    assert second.orphans == args.orphans and second.orphans_detected == 0, second.as_dict()
    db.dispose()
    return {
        "bench": "audit",
        "objects": args.objects,
        "database": db.engine.url.get_backend_name(),
        "page_size": conf.audit.page_size,
        "drifted": changed,
        "orphans": args.orphans,
        "first_audit_s": first_s,
        "first_audit_rss_growth_mib": first_mib,
        "second_audit_s": second_s,
        "second_audit_rss_growth_mib": second_mib,
        "listing_page_during_audit_s": round(listing_s, 3),
        "kinds": first.kinds,
        "setup_s": setup,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000, help="managed files")
    parser.add_argument("--drift", type=int, default=300, help="objects changed by hand")
    parser.add_argument(
        "--orphans", type=int, default=100, help="files in managed form without a row"
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--dir", default=None, help="where to make the temporary directory")
    args = parser.parse_args(argv)
    if not 0 < args.drift <= args.objects:
        parser.error("need 0 < --drift <= --objects")
    if args.orphans < 0:
        parser.error("need --orphans >= 0")
    logging.getLogger("volmgr_volume").logger.setLevel("ERROR")
    with (
        cleanup_on_exit() as cleanup,
        tempfile.TemporaryDirectory(prefix="volmgr-bench-", dir=args.dir) as state,
    ):
        database_url = make_pg_database(cleanup) if args.db == "postgresql" else None
        result = run(args, Path(state), database_url)
    print(f"{'audit':<8} {'seconds':>8} {'RSS growth MiB':>15}")
    for which in ("first", "second"):
        seconds, growth = result[f"{which}_audit_s"], result[f"{which}_audit_rss_growth_mib"]
        print(f"{which:<8} {seconds:>8.2f} {growth:>15}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
