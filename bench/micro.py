"""What each step of a manage costs, measured one at a time in one thread.

``python -m bench.micro [--db postgresql|sqlite] [--count N]`` times, with the CPU
clock of this thread (``time.thread_time``, little disturbed by other load on the
machine) and the wall clock, the building blocks a manage is made of — volmgr's own
functions, called as the daemons call them:

* flows: a linear flow shaped like the volume manager's (6 tasks, same
  provides/requires) and like the API's (3 tasks), run by taskflow's serial engine
  (built + loaded + run, or loaded + run from a prebuilt flow) and by volmgr's own
  linear runner (``volmgr_common.flows.run_flow``) as the daemons run them today;
* every database call of a manage (API, scheduler, volume manager), on a throwaway
  database with the current schema;
* a cast and a notification on a throwaway RabbitMQ vhost, the request context's
  (de)serialization, and one oslo.log line to a file.

Adding the steps up per daemon gives a cost model to compare with the CPU the
daemons really spend per manage (``bench.manage``'s table).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import _daemons as d

BACKEND_HOST = "benchhost@fake"


def timed(count: int, action: Callable[[int], Any]) -> tuple[float, float]:
    """(CPU ms, wall ms) per call of ``action(i)`` over ``count`` calls."""
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    for i in range(count):
        action(i)
    cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
    return cpu * 1000 / count, wall * 1000 / count


# -- taskflow -------------------------------------------------------------------------------


def _flows() -> dict[str, Callable[[], Any]]:
    from taskflow.patterns import linear_flow

    from volmgr_common.flows import VolmgrTask

    class NotifyStart(VolmgrTask):
        def execute(self, context: Any, volume: dict[str, Any]) -> None:
            return None

    class PrepareForQuotaReservation(VolmgrTask):
        def __init__(self) -> None:
            super().__init__(provides="size")

        def execute(self, volume: dict[str, Any]) -> int:
            return 1

    class QuotaReserve(VolmgrTask):
        def __init__(self) -> None:
            super().__init__(provides="reservation_id")

        def execute(self, volume: dict[str, Any], size: int) -> str:
            return "r"

    class ManageExisting(VolmgrTask):
        def __init__(self) -> None:
            super().__init__(provides="provider_location")

        def execute(self, volume: dict[str, Any]) -> str:
            return "volume-x"

    class QuotaCommit(VolmgrTask):
        def execute(self, volume: dict[str, Any], size: int, reservation_id: str) -> None:
            return None

    class OnFinish(VolmgrTask):
        def execute(self, context: Any, volume: dict[str, Any], provider_location: str) -> None:
            return None

    class ExtractManageRequest(VolmgrTask):
        def __init__(self) -> None:
            super().__init__(provides="request")

        def execute(self, context: Any, host: Any, ref: Any) -> dict[str, Any]:
            return {}

    class EntryCreate(VolmgrTask):
        def __init__(self) -> None:
            super().__init__(provides="volume")

        def execute(self, request: dict[str, Any]) -> dict[str, Any]:
            return {}

    class ManageCast(VolmgrTask):
        def execute(self, context: Any, volume: dict[str, Any], request: Any) -> None:
            return None

    def volume_flow() -> Any:
        return linear_flow.Flow("volume_manage_existing").add(
            NotifyStart(),
            PrepareForQuotaReservation(),
            QuotaReserve(),
            ManageExisting(),
            QuotaCommit(),
            OnFinish(),
        )

    def api_flow() -> Any:
        return linear_flow.Flow("api_manage_existing").add(
            ExtractManageRequest(), EntryCreate(), ManageCast()
        )

    return {"volume (6 tasks)": volume_flow, "api (3 tasks)": api_flow}


def bench_taskflow(count: int) -> dict[str, tuple[float, float]]:
    import taskflow.engines

    from volmgr_common.flows import run_flow

    results = {}
    stores = {
        "volume (6 tasks)": {"context": object(), "volume": {"id": "v"}},
        "api (3 tasks)": {"context": object(), "host": "h", "ref": {}},
    }
    for name, build in _flows().items():
        store = stores[name]

        def engine(flow: Any, s: dict[str, Any]) -> dict[str, Any]:
            loaded = taskflow.engines.load(flow, store=dict(s), engine="serial")
            loaded.run()
            return dict(loaded.storage.fetch_all())

        results[f"flow {name}: taskflow engine, built per run"] = timed(
            count, lambda _i, b=build, s=store: engine(b(), s)
        )
        prebuilt = build()
        results[f"flow {name}: taskflow engine, prebuilt"] = timed(
            count, lambda _i, f=prebuilt, s=store: engine(f, s)
        )
        results[f"flow {name}: run_flow, prebuilt (today)"] = timed(
            count, lambda _i, f=prebuilt, s=store: run_flow(f, s)
        )
    return results


# -- database -------------------------------------------------------------------------------


def bench_database(url: str, count: int, workdir: Path) -> dict[str, tuple[float, float]]:
    from tests.integration.daemons import open_database
    from volmgr_common import cache
    from volmgr_common.db import (
        migration,
        quota,
        reservations,
        volume_creation,
        volume_ownership,
        volume_transitions,
    )
    from volmgr_common.db import services as services_db
    from volmgr_common.db import volume_types as types_db

    conf_file = d.write_config(workdir / "micro.conf", {"database": {"connection": url}})
    db = open_database(conf_file)
    migration.sync(db)
    services_db.register(db, BACKEND_HOST, "volmgr-volume", "volmgr-volume", "nova")
    vtype = types_db.get_or_create(db, "__DEFAULT__")
    limits = quota.DefaultLimits(-1, -1, -1, 600)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    reserved: dict[str, str | None] = {}
    type_cache: cache.ShortLivedCache[dict[str, Any]] = cache.ShortLivedCache()
    service_cache: cache.ShortLivedCache[dict[str, Any]] = cache.ShortLivedCache()

    def create(i: int) -> None:
        reference = {"source-name": f"micro-{ids[i]}"}
        values = {
            "id": ids[i],
            "project_id": f"micro-project-{i % 16}",
            "user_id": "micro",
            "display_name": None,
            "display_description": None,
            "host": BACKEND_HOST,
            "availability_zone": "nova",
            "volume_type_id": vtype["id"],
            "bootable": False,
            "reference": json.dumps(reference),
            "reference_key": volume_creation.reference_key(BACKEND_HOST, reference),
            "request_id": f"req-{ids[i]}",
        }
        volume_creation.create_managing(db, values, {}, limits, vtype["name"])

    def reserve(i: int) -> None:
        deltas = quota.volume_deltas(vtype["name"], gigabytes=1)
        project = f"micro-project-{i % 16}"
        reserved[ids[i]] = reservations.reserve(db, project, deltas, limits, volume_id=ids[i])

    steps: list[tuple[str, Callable[[int], Any]]] = [
        ("api: volume_types.get_or_create", lambda i: types_db.get_or_create(db, "__DEFAULT__")),
        (
            "api: services.get_by_host",
            lambda i: services_db.get_by_host(db, BACKEND_HOST, "volmgr-volume", down_time=60),
        ),
        ("api: volumes.create_managing (row + quota charge)", create),
        (
            "api: the same two reads through the 1 s row cache",
            lambda i: (
                type_cache.get("__DEFAULT__", lambda: types_db.get_or_create(db, "__DEFAULT__")),
                service_cache.get(
                    BACKEND_HOST,
                    lambda: services_db.get_by_host(
                        db, BACKEND_HOST, "volmgr-volume", down_time=60
                    ),
                ),
            ),
        ),
        (
            "scheduler: volumes.place (host, scheduled_at)",
            lambda i: volume_ownership.place(db, ids[i], f"{BACKEND_HOST}#pool0"),
        ),
        ("volume: volumes.claim_flow", lambda i: volume_ownership.claim_flow(db, ids[i], "owner")),
        ("volume: reservations.reserve", reserve),
        (
            "volume: volumes.commit_gigabytes",
            lambda i: volume_transitions.commit_gigabytes(db, ids[i], reserved[ids[i]], 1),
        ),
        (
            "volume: volumes.finish_manage",
            lambda i: volume_transitions.finish_manage(db, ids[i], f"volume-{ids[i]}"),
        ),
    ]
    results = {name: timed(count, step) for name, step in steps}
    db.dispose()
    return results


# -- messaging, context, logging -------------------------------------------------------------


def bench_messaging(url: str, count: int, workdir: Path) -> dict[str, tuple[float, float]]:
    from oslo_log import log as logging

    from bench import chain
    from volmgr_common import notifications, rpc
    from volmgr_common.conf import startup
    from volmgr_common.context import RequestContext
    from volmgr_common.manage_request import RequestSpec
    from volmgr_scheduler import rpcapi as scheduler_rpcapi

    conf = startup.new_conf()
    conf([], project=None, default_config_files=[], default_config_dirs=[])
    conf.set_override("transport_url", url)
    conf.set_override("log_file", str(workdir / "micro.log"))
    conf.set_override("debug", False)
    logging.setup(conf, "volmgr")
    log = logging.getLogger("volmgr_scheduler.manager")
    messaging = rpc.Messaging(conf, publisher="bench-micro")
    scheduler = scheduler_rpcapi.SchedulerAPI(messaging)
    notifier = messaging.notifier.prepare(publisher_id="volmgr.volume.bench")
    ctxt = RequestContext(user_id="bench-user", project_id="bench-project-0", roles=["admin"])
    serializer = rpc.RequestContextSerializer()
    volume = {"id": str(uuid.uuid4()), "status": "available", "size": 1, "host": BACKEND_HOST}
    spec = RequestSpec.from_wire(chain.request_spec(volume["id"]))
    results = {
        "rpc cast (publish + confirm), no consumer": timed(
            count, lambda _i: scheduler.manage_existing(ctxt, volume["id"], spec)
        ),
        "notification (publish + confirm)": timed(
            count, lambda _i: notifications.notify(notifier, ctxt, "manage_existing.end", volume)
        ),
        "request context to_dict + from_dict": timed(
            count,
            lambda _i: serializer.deserialize_context(serializer.serialize_context(ctxt)),
        ),
        "one oslo.log INFO line to a file": timed(
            count, lambda _i: log.info("Volume %s placed on %s", volume["id"], BACKEND_HOST)
        ),
    }
    messaging.cleanup()
    return results


def run(db: str, count: int) -> dict[str, tuple[float, float]]:
    results: dict[str, tuple[float, float]] = {}
    with d.cleanup_on_exit() as cleanup:
        workdir = d.temp_dir(cleanup, "volmgr-bench-micro-")
        results.update(bench_taskflow(count))
        url = d.make_pg_database(cleanup) if db == "postgresql" else None
        url = url or f"sqlite:///{workdir / 'micro.sqlite'}"
        results.update(bench_database(url, count, workdir))
        results.update(
            bench_messaging(d.make_vhost(cleanup, "volmgr-bench-micro-"), count, workdir)
        )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.micro", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args(argv)
    count = max(10, min(args.count, 10_000))
    results = run(args.db, count)
    print(f"{'step (' + args.db + ', ' + str(count) + ' each)':<62}{'CPU ms':>8}{'wall ms':>9}")
    for name, (cpu, wall) in results.items():
        print(f"{name:<62}{cpu:>8.2f}{wall:>9.2f}")
    print(json.dumps({k: [round(c, 3), round(w, 3)] for k, (c, w) in results.items()}))


if __name__ == "__main__":
    main()
