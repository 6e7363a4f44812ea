"""How the cost of a manage grows: with the number of backends, and over many manages.

``python -m bench.growth backends`` (also ``python -m bench.manage --growth``):
throughput and scheduler CPU with 1, 10, 100 and 1,000 backends reporting
capabilities. One real ``volmgr-volume`` serves the requests; the other backends are
faked the way the scheduler sees them — a ``services`` row each (registered with
volmgr's own ``services.register``, kept up by one heartbeat UPDATE of all fake rows
every ``report_interval``) and a ``update_service_capabilities`` fanout cast each,
spread evenly over every ``capability_report_interval``, with the payload a fake
driver reports. What is not reproduced: the N separate heartbeat transactions that
N real services would write (here one UPDATE per interval for all of them).

``python -m bench.growth memory`` (also ``python -m bench.manage --memory``): resident
memory (``VmRSS``) of each daemon after a warm-up, half-way and after 10,000 more
manages (fake driver, SQLite), checked against :data:`PER_MANAGE_KIB` and, for a
flood, :data:`FLOOD_WORKING_SET_MIB`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import threading
import time
from typing import Any

import sqlalchemy as sa

from bench import _daemons as d
from bench import manage as m

BACKEND_LEVELS = (1, 10, 100, 1000)
MAX_BACKENDS = 10_000
REPORT_INTERVAL = 10.0
CAPABILITY_INTERVAL = 30.0
IDLE_SECONDS = 10.0
MEMORY_WARMUP = 500
MEMORY_REQUESTS = 10_000
# Largest growth of VmRSS per manage and daemon, over the whole run and over its second
# half alone (where a leak would show and a one-time working set would not). It
# includes the fake driver's record of every managed object (~0.3-0.5 KiB), which a
# real driver does not keep.
PER_MANAGE_KIB = 2.0
# A flood also brings each daemon, once, to its working set at full concurrency
# (measured up to ~50 MiB for the volume service on SQLite; docs/performance.rst,
# "Memory"); a paced run gets no such allowance.
FLOOD_WORKING_SET_MIB = 64.0


def fake_host(index: int) -> str:
    return f"benchfake{index:05d}@{m.BACKEND}"


def capabilities(backend_name: str) -> dict[str, Any]:
    """What a fake-driver volume service reports (see FakeDriver.get_capabilities)."""
    return {
        "backend_name": backend_name,
        "vendor_name": "volmgr",
        "driver_version": "1.0",
        "storage_protocol": "fake",
        "availability_zone": "nova",
        "pools": [
            {
                "pool_name": "pool0",
                "total_capacity_gb": 1000,
                "free_capacity_gb": 1000,
                "allocated_capacity_gb": 0,
                "reserved_percentage": 0,
                "thin_provisioning_support": False,
            }
        ],
    }


class FakeBackends:
    """Service rows, heartbeats and capability fanouts of N backends without processes."""

    def __init__(self, cluster: m.Cluster, client: m.Client) -> None:
        from volmgr_common.conf import startup
        from volmgr_common.db import api as db_api
        from volmgr_scheduler import rpcapi as scheduler_rpcapi

        conf = startup.new_conf()
        conf(
            ["--config-file", str(cluster.manage_conf)],
            project=None,
            default_config_files=[],
            default_config_dirs=[],
        )
        self.db = db_api.Database(conf)
        self.scheduler = scheduler_rpcapi.SchedulerAPI(client.messaging)
        self.cluster = cluster
        self.hosts: list[str] = []
        self.casts = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def grow_to(self, count: int) -> None:
        """Register backends until there are ``count`` fake ones; each reports once now."""
        from volmgr_common.context import get_admin_context
        from volmgr_common.db import services as services_db

        ctxt = get_admin_context()
        for index in range(len(self.hosts), min(count, MAX_BACKENDS)):
            host = fake_host(index)
            service_id = services_db.register(
                self.db, host, "volmgr-volume", "volmgr-volume", "nova"
            )
            services_db.heartbeat(self.db, service_id, capabilities(m.BACKEND))
            self.scheduler.update_service_capabilities(ctxt, host, capabilities(m.BACKEND))
            self.hosts.append(host)

    def start(self) -> None:
        for target, name in ((self._heartbeats, "heartbeats"), (self._reports, "reports")):
            thread = threading.Thread(target=target, name=f"fake-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _heartbeats(self) -> None:
        query = sa.text(
            "UPDATE services SET last_heartbeat = :now, report_count = report_count + 1 "
            "WHERE host LIKE 'benchfake%'"
        )
        while not self._stop.wait(REPORT_INTERVAL):
            with self.cluster.engine.begin() as conn:
                conn.execute(query, {"now": dt.datetime.now(dt.UTC).replace(tzinfo=None)})

    def _reports(self) -> None:
        from volmgr_common.context import get_admin_context

        ctxt = get_admin_context()
        index = 0
        while not self._stop.is_set():
            hosts = list(self.hosts)
            if not hosts:
                self._stop.wait(1.0)
                continue
            self._stop.wait(CAPABILITY_INTERVAL / len(hosts))
            host = hosts[index % len(hosts)]
            index += 1
            try:
                self.scheduler.update_service_capabilities(ctxt, host, capabilities(m.BACKEND))
                self.casts += 1
            except Exception as error:  # the broker going away ends the run elsewhere
                print(f"fake report failed: {error}", flush=True)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []
        self.db.dispose()


def run_backends(args: argparse.Namespace) -> list[dict[str, Any]]:
    kind = "postgresql" if args.db == "both" else args.db
    levels = sorted({max(1, min(n, MAX_BACKENDS)) for n in args.backends})
    rows = []
    with d.cleanup_on_exit() as cleanup:
        workdir = d.temp_dir(cleanup, "volmgr-bench-growth-", keep=args.keep)
        cluster = m.start_cluster(kind, cleanup, workdir)
        client = m.Client(cluster.transport_url, args.projects)
        cleanup.push("close the bench client", client.close)
        m.measure_sizes(cluster, client)
        fakes = FakeBackends(cluster, client)
        cleanup.push("stop the fake backends", fakes.stop)
        fakes.start()
        scheduler_pid = cluster.daemons["volmgr-scheduler"].pid
        for level in levels:
            fakes.grow_to(level - 1)  # plus the real backend
            time.sleep(2.0)
            m.wait_quiet(cluster.pids(), args.wait_quiet)
            cpu0, casts0 = d.cpu_seconds(scheduler_pid), fakes.casts
            time.sleep(IDLE_SECONDS)
            idle_cpu = (d.cpu_seconds(scheduler_pid) - cpu0) / IDLE_SECONDS
            idle_casts = (fakes.casts - casts0) / IDLE_SECONDS
            phase = m.run_phase(cluster, client, args.requests, args.concurrency)
            row = {
                "backends": level,
                "manages_per_s": round(phase.per_s, 1),
                "scheduler_cpu_ms_per_manage": round(phase.cpu_ms["volmgr-scheduler"], 2),
                "scheduler_idle_cpu_pct": round(idle_cpu * 100, 2),
                "capability_casts_per_s": round(idle_casts, 1),
                "scheduler_rss_mib": round(d.rss_kib(scheduler_pid) / 1024, 1),
                "errors": phase.errors,
                "others_ms_per_manage": round(phase.cpu_ms["others"], 2),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
        fakes.stop()  # before the scheduler goes, and its fanout exchange with it
        m.stop_cluster(cluster)
    print()
    print(
        f"{'backends':>9}{'manages/s':>10}{'sched ms/manage':>16}{'sched idle %':>13}"
        f"{'reports/s':>10}{'sched RSS MiB':>14}{'errors':>7}"
    )
    for row in rows:
        print(
            f"{row['backends']:>9}{row['manages_per_s']:>10.1f}"
            f"{row['scheduler_cpu_ms_per_manage']:>16.2f}{row['scheduler_idle_cpu_pct']:>13.2f}"
            f"{row['capability_casts_per_s']:>10.1f}{row['scheduler_rss_mib']:>14.1f}"
            f"{row['errors']:>7}"
        )
    return rows


def run_memory(args: argparse.Namespace) -> dict[str, Any]:
    kind = "sqlite" if args.db == "both" else args.db
    with d.cleanup_on_exit() as cleanup:
        workdir = d.temp_dir(cleanup, "volmgr-bench-memory-", keep=args.keep)
        cluster = m.start_cluster(kind, cleanup, workdir)
        client = m.Client(cluster.transport_url, args.projects)
        cleanup.push("close the bench client", client.close)
        m.measure_sizes(cluster, client)
        m.run_phase(cluster, client, MEMORY_WARMUP, args.concurrency)
        before = {name: d.rss_kib(pid) for name, pid in cluster.pids().items()}
        rate = args.rate or None
        half = args.memory_requests // 2
        phase = m.run_phase(cluster, client, half, args.concurrency, rate=rate)
        middle = {name: d.rss_kib(pid) for name, pid in cluster.pids().items()}
        phase2 = m.run_phase(
            cluster, client, args.memory_requests - half, args.concurrency, rate=rate
        )
        time.sleep(2.0)
        after = {name: d.rss_kib(pid) for name, pid in cluster.pids().items()}
        m.stop_cluster(cluster)
    result: dict[str, Any] = {
        "db": kind,
        "manages": args.memory_requests,
        "rate": rate or "flood",
        "manages_per_s": round((phase.per_s + phase2.per_s) / 2, 1),
        "errors": phase.errors + phase2.errors,
    }
    print()
    print(
        f"{'daemon':<18}{'RSS before MiB':>15}{'half-way':>9}{'after MiB':>10}{'growth MiB':>11}"
        f"{'KiB/manage':>11}{'2nd half':>9}{'bound MiB':>10}  ok"
    )
    ok = True
    second_half = args.memory_requests - half
    for name in m.DAEMONS:
        growth = (after[name] - before[name]) / 1024
        late_kib = (after[name] - middle[name]) / max(second_half, 1)
        bound = PER_MANAGE_KIB * args.memory_requests / 1024
        if rate is None:
            bound += FLOOD_WORKING_SET_MIB
        within = growth <= bound and late_kib <= PER_MANAGE_KIB
        ok = ok and within
        print(
            f"{name:<18}{before[name] / 1024:>15.1f}{middle[name] / 1024:>9.1f}"
            f"{after[name] / 1024:>10.1f}{growth:>11.1f}"
            f"{(after[name] - before[name]) / args.memory_requests:>11.2f}{late_kib:>9.2f}"
            f"{bound:>10.1f}  {'yes' if within else 'NO'}"
        )
        result[name] = {
            "rss_before_mib": round(before[name] / 1024, 1),
            "rss_half_way_mib": round(middle[name] / 1024, 1),
            "rss_after_mib": round(after[name] / 1024, 1),
            "growth_mib": round(growth, 1),
            "second_half_kib_per_manage": round(late_kib, 2),
            "bound_mib": round(bound, 1),
        }
    result["within_bounds"] = ok
    print(json.dumps(result))
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.growth", description=__doc__.split("\n")[0]
    )
    parser.add_argument("mode", choices=["backends", "memory"])
    parser.add_argument("--backends", type=int, nargs="+", default=list(BACKEND_LEVELS))
    parser.add_argument("--requests", type=int, default=1000, help="manages per backend level")
    parser.add_argument("--memory-requests", type=int, default=MEMORY_REQUESTS)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="memory mode: manages per second (0: flood, which queues a backlog)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--projects", type=int, default=16)
    parser.add_argument("--db", choices=["both", "postgresql", "sqlite"], default="both")
    parser.add_argument("--wait-quiet", type=float, default=15.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    args.requests = max(1, min(args.requests, m.MAX_REQUESTS))
    args.memory_requests = max(1, min(args.memory_requests, m.MAX_REQUESTS))
    args.concurrency = max(1, min(args.concurrency, m.MAX_CONCURRENCY))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        if args.mode == "backends":
            run_backends(args)
        else:
            run_memory(args)
    except d.BenchError as error:
        raise SystemExit(f"bench.growth: {error}") from None
    except KeyboardInterrupt:
        raise SystemExit("bench.growth: interrupted; everything it made was removed") from None


if __name__ == "__main__":
    main()
