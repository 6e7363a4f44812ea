"""Bench: how long an adoption plan of a large file backend takes.

``python -m bench.adopt_plan --objects 100000`` makes that many sparse files (the
helper of :mod:`bench.manageable_listing`), a throwaway PostgreSQL database at the
newest schema (``--database sqlite`` for an SQLite file), and runs the planner of
the file backend's volume service in this process, as ``create_adoption_plan``
runs it: one look at the backend, one query for the volumes that hold its
objects, the quota, every verdict, and the plan stored with every item. The quota
is unlimited so that every object is planned for a manage (the heaviest plan).

It times the whole plan twice (a first plan and a second one on the same
backend; wall and this process's CPU, which a busy machine inflates less), and
apart: the driver's ``fingerprints`` and reading one page of 1,000 items; and how
much the process's peak resident memory grew while planning. With
``--profile`` it prints the 25 most expensive functions of the first plan
(cProfile, cumulative). The last line is one JSON object with every figure.
:func:`plan_backend` is what ``bench.adopt`` calls for its plan part.
"""

import argparse
import cProfile
import json
import pstats
import resource
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from oslo_log import log as logging

from bench import _daemons as d
from bench.manageable_listing import make_files
from tests.conftest import make_conf
from volmgr_common.adoption import PlanRequest
from volmgr_common.db import adoption_plans, migration
from volmgr_common.db import api as db_api
from volmgr_common.db import volume_types as types_db
from volmgr_volume.drivers import load_driver
from volmgr_volume.planner import Planner

BACKEND = "benchhost@files"
PROJECT = "bench-project"


def server_cpu(db: db_api.Database) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend process serving this database (a local
    server; empty for SQLite)."""
    if db.engine.dialect.name != "postgresql":
        return {}
    with db.engine.connect() as conn:
        pids = conn.scalars(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    found = {}
    for pid in pids:
        try:
            found[pid] = d.cpu_seconds(pid)
        except OSError:  # gone meanwhile
            continue
    return found


def plan_backend(planner: Planner, db: db_api.Database) -> tuple[dict[str, Any], dict[str, float]]:
    """Make one plan of every object of the planner's backend; the plan, and its seconds:
    wall clock, this process's CPU and the database server's CPU for this database
    (on a busy machine, the two CPU figures added up are what an idle one would take)."""
    vtype = types_db.get_or_create(db, planner.conf.default_volume_type)
    request = PlanRequest(
        plan_id=str(uuid.uuid4()),
        host=BACKEND,
        backend=BACKEND,
        project_id=PROJECT,
        user_id="bench",
        target_project_id=PROJECT,
        volume_type={key: vtype[key] for key in ("id", "name", "extra_specs")},
    )
    server = server_cpu(db)
    start, cpu = time.perf_counter(), time.process_time()
    plan = planner.plan(request)
    seconds = {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}
    after = server_cpu(db)
    seconds["server_cpu"] = sum(used - server.get(pid, 0.0) for pid, used in after.items())
    return plan, seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    with d.cleanup_on_exit() as cleanup:
        state = d.temp_dir(cleanup, "volmgr-bench-plan-")
        url = (
            d.make_pg_database(cleanup)
            if args.database == "postgresql"
            else f"sqlite:///{state / 'volmgr.sqlite'}"
        )
        conf = make_conf(state, database__connection=url, quota__volumes=-1, quota__gigabytes=-1)
        db = db_api.Database(conf)
        cleanup.push("close the database", db.dispose)
        migration.sync(db)
        started = time.perf_counter()
        make_files(Path(conf.file_backend.directory), args.objects, images=False)
        setup_s = time.perf_counter() - started
        driver = load_driver(conf)
        driver.do_setup()
        planner = Planner(conf, db, driver, (BACKEND,))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        plan, first = plan_backend(planner, db)
        if profile is not None:
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        _, second = plan_backend(planner, db)
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        seen = driver.fingerprints()
        fingerprints_s = time.perf_counter() - started
        assert len(seen) == args.objects == plan["totals"]["manage"], plan["totals"]
        started = time.perf_counter()
        stored = adoption_plans.items_page(db, plan["id"], limit=1000)
        page_s = time.perf_counter() - started
        assert len(stored) == min(1000, args.objects)
        return {
            "objects": args.objects,
            "database": args.database,
            "plan_s": round(first["wall"], 2),
            "second_plan_s": round(second["wall"], 2),
            "plan_cpu_s": round(first["cpu"], 2),
            "plan_server_cpu_s": round(first["server_cpu"], 2),
            "second_plan_cpu_s": round(second["cpu"], 2),
            "second_plan_server_cpu_s": round(second["server_cpu"], 2),
            "fingerprints_s": round(fingerprints_s, 2),
            "items_page_1000_s": round(page_s, 3),
            "objects_per_s": round(args.objects / first["wall"]),
            "peak_rss_growth_mib": round((rss_peak - rss_before) / 1024),
            "setup_s": round(setup_s, 1),
        }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.adopt_plan", description=__doc__)
    parser.add_argument("--objects", type=int, default=100_000, help="Files (default 100000).")
    parser.add_argument(
        "--database", choices=("postgresql", "sqlite"), default="postgresql",
        help="Where the plan is stored (default: a throwaway PostgreSQL database).",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="Profile the first plan.")
    args = parser.parse_args(argv)
    if not 1 <= args.objects <= 1_000_000:
        parser.error("--objects must be from 1 to 1000000")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.set_defaults(default_log_levels=["volmgr_volume=WARN", "volmgr_common=WARN"])
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
