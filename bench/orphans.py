"""Bench: how long the orphan search takes on a large file backend, and its memory.

``find_orphans`` (``volmgr_volume.orphans``) is what ``GET os-orphans`` runs in the
volume service, and what the drift audit may call. This makes N empty files in
managed form (``volume-<uuid>``, each with its ``user.volmgr.origin`` mark, as the
file driver leaves them) in a temporary directory, gives a row to all but
``--orphans`` of them in a throwaway SQLite database (current schema), then times
one search — the driver's listing (one directory scan, an ``lstat`` and a
``getxattr`` per file) and the database compared a page at a time. With
``--memory`` the search runs under tracemalloc (slower) and reports the Python
memory it allocated at its peak. One JSON line at the end.

    python -m bench.orphans --objects 100000 --orphans 1000 [--memory]
"""

import argparse
import json
import os
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.driver_support import make_conf
from volmgr_common.db import api as db_api
from volmgr_common.db import migration, models
from volmgr_common.db import volume_types as types_db
from volmgr_volume import orphans
from volmgr_volume.drivers import file_marks, load_driver

BACKEND = "benchhost@files"
INSERT_CHUNK = 5000


def make_files(directory: Path, ids: list[str]) -> None:
    for volume_id in ids:
        fd = os.open(directory / f"volume-{volume_id}", os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            file_marks.write(fd, file_marks.mark_value(volume_id, "bench", "disk.img"))
        finally:
            os.close(fd)


def make_rows(db: db_api.Database, ids: list[str]) -> None:
    type_id = types_db.get_or_create(db, "bench")["id"]
    rows: list[dict[str, Any]] = [
        {
            "id": volume_id,
            "project_id": "bench",
            "status": "available",
            "host": BACKEND,
            "availability_zone": "nova",
            "volume_type_id": type_id,
            "reference": json.dumps({"source-name": f"disk-{volume_id}"}),
            "provider_location": f"volume-{volume_id}",
        }
        for volume_id in ids
    ]
    with db.engine.begin() as conn:
        for start in range(0, len(rows), INSERT_CHUNK):
            conn.execute(
                sa.insert(models.table_of(models.Volume)), rows[start : start + INSERT_CHUNK]
            )


def run(objects: int, orphan_count: int, workdir: Path, memory: bool) -> dict[str, Any]:
    conf = make_conf(workdir, database__connection=f"sqlite:///{workdir / 'bench.sqlite'}")
    driver = load_driver(conf)
    driver.do_setup()
    db = db_api.Database(conf)
    migration.sync(db)
    ids = [str(uuid.uuid4()) for _ in range(objects)]
    started = time.perf_counter()
    make_files(Path(conf.file_backend.directory), ids)
    make_rows(db, ids[orphan_count:])
    setup_s = time.perf_counter() - started
    if memory:
        tracemalloc.start()
    started = time.perf_counter()
    found = list(orphans.find_orphans(db, [BACKEND], driver.list_managed_objects()))
    search_s = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if memory else None
    tracemalloc.stop()
    db.dispose()
    assert {obj.volume_id for obj in found} == set(ids[:orphan_count])
    return {
        "objects": objects,
        "orphans": len(found),
        "setup_s": round(setup_s, 2),
        "search_s": round(search_s, 2),
        "per_object_us": round(search_s / objects * 1e6, 1),
        "peak_python_mib": None if peak is None else round(peak / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000, help="Files in managed form.")
    parser.add_argument("--orphans", type=int, default=1000, help="Of them, with no row.")
    parser.add_argument("--memory", action="store_true", help="Trace the search's memory.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="volmgr-bench-orphans-") as workdir:
        result = run(args.objects, args.orphans, Path(workdir), args.memory)
    for key, value in result.items():
        print(f"{key:>16}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
