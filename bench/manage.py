"""End-to-end manage throughput of volmgr against the messaging limit.

``python -m bench.manage`` in one run:

1. starts the real ``volmgr-api``, ``volmgr-scheduler`` and ``volmgr-volume`` (fake
   driver, no delay) on a throwaway RabbitMQ vhost, once with a throwaway
   PostgreSQL database and once with an SQLite file (schema by ``volmgr-manage db
   sync``, quota unlimited by ``[quota] volumes/gigabytes = -1``);
2. sends a few warm-up manages while a tap queue measures the real size of the
   API → scheduler and scheduler → volume casts on the wire;
3. floods ``--requests`` manage calls through ``ApiAPI`` from ``--concurrency``
   threads and measures completed manages per second (first call sent → last
   volume ``available``; completion is detected by polling one indexed count of
   ``managing`` rows, times come from each row's ``launched_at``), and the CPU each
   process spent per manage (``/proc/<pid>/stat``);
4. paces requests at half the flood rate and measures the latency accepted (call
   returned, status ``managing``) → ``available`` (the row's ``launched_at``);
5. measures the messaging limit with :mod:`bench.chain` (two-hop cast chain with the
   casts' measured sizes) and prints a table, then one JSON line per database,
   PostgreSQL last.

Other modes: ``--growth`` (cost with 1, 10, 100, 1,000 backends reporting
capabilities), ``--memory`` (resident memory before and after 10,000 manages),
``--profile DIR`` (py-spy on every daemon during a flood). Everything made for a run
(vhosts, databases, processes, files) is removed at the end, also after Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import _daemons as d
from bench import chain

HOST = "benchhost"
BACKEND = "fake"
BACKEND_HOST = f"{HOST}@{BACKEND}"
DAEMONS = ("volmgr-api", "volmgr-scheduler", "volmgr-volume")
CALL_TIMEOUT = 120
DRAIN_TIMEOUT = 600.0
MAX_REQUESTS = 100_000
MAX_CONCURRENCY = 256
# Callers of the flood: enough that the daemons, not the callers, set the pace (the
# chain's client never waits at all); docs/performance.rst has the sweep.
FLOOD_CONCURRENCY = 32
WARMUP = 40
EXCHANGE = "volmgr"
CAST_KEYS = {
    "api_call": "volmgr-api",
    "scheduler_cast": "volmgr-scheduler",
    "volume_cast": f"volmgr-volume.{BACKEND_HOST}",
    "notification": "notifications.info",
}
# Command names of the other processes whose CPU a manage costs.
BROKER_COMMANDS = ("beam.smp", "erl_child_setup", "epmd", "inet_gethost")
DB_COMMANDS = ("postgres",)


# -- a running cluster ------------------------------------------------------------------


@dataclass
class Cluster:
    """The three daemons of one run, their database and their vhost."""

    kind: str
    database_url: str
    transport_url: str
    workdir: Path
    daemons: dict[str, d.Daemon]
    engine: sa.Engine
    manage_conf: Path

    def pids(self) -> dict[str, int]:
        return {name: daemon.pid for name, daemon in self.daemons.items()}

    def check_alive(self) -> None:
        for daemon in self.daemons.values():
            if not daemon.alive():
                raise d.BenchError(f"{daemon.name} died:\n{daemon.tail()}")

    def count_status(self, status: str) -> int:
        with self.engine.connect() as conn:
            query = sa.text("SELECT count(*) FROM volumes WHERE status = :s")
            return int(conn.execute(query, {"s": status}).scalar_one())

    def finished_rows(self) -> dict[str, tuple[str, float | None]]:
        """``{volume id: (status, launched_at as epoch seconds)}`` of every row."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, status, launched_at FROM volumes")).all()
        result = {}
        for volume_id, status, launched in rows:
            if isinstance(launched, str):
                launched = dt.datetime.fromisoformat(launched)
            epoch = launched.replace(tzinfo=dt.UTC).timestamp() if launched else None
            result[volume_id] = (status, epoch)
        return result


# Extra daemon options from ``--set SECTION.KEY=VALUE`` (experiments with settings).
EXTRA_OPTIONS: dict[str, dict[str, str]] = {}


def daemon_sections(
    kind: str, home: Path, transport_url: str, database_url: str, name: str
) -> dict[str, dict[str, Any]]:
    sections = _base_sections(home, transport_url, database_url, name)
    for section, options in EXTRA_OPTIONS.items():
        sections.setdefault(section, {}).update(options)
    return sections


def _base_sections(
    home: Path, transport_url: str, database_url: str, name: str
) -> dict[str, dict[str, Any]]:
    return {
        "DEFAULT": {
            "transport_url": transport_url,
            "host": HOST,
            "state_path": home / "state",
            "log_file": home / f"{name}.log",
            "debug": False,
        },
        "database": {"connection": database_url},
        "volume": {"backend_name": BACKEND, "volume_driver": "fake"},
        "fake_backend": {"delay": 0, "object_size_gb": 1, "total_capacity_gb": 1_000_000_000},
        "quota": {"volumes": -1, "gigabytes": -1, "per_type_default": -1},
    }


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set SECTION.KEY=VALUE``: an option for every daemon's config file."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="an option for every daemon's config file (repeatable), e.g. "
        "DEFAULT.executor_thread_pool_size=4",
    )


def apply_set_option(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Put the ``--set`` options into :data:`EXTRA_OPTIONS` (an error names a bad one)."""
    for item in args.set:
        key, _, value = item.partition("=")
        section, _, option = key.rpartition(".")
        if not section or not option:
            parser.error(f"--set {item}: use SECTION.KEY=VALUE")
        EXTRA_OPTIONS.setdefault(section, {})[option] = value


Launcher = Callable[[str, list[str]], list[str]]


def start_cluster(
    kind: str, cleanup: d.Cleanup, workdir: Path, launcher: Launcher | None = None
) -> Cluster:
    """A vhost, a database with the current schema, and the three daemons, serving.

    ``launcher(binary, argv)`` may change the command line of a daemon (profiling).
    """
    home = workdir / kind
    transport_url = d.make_vhost(cleanup)
    if kind == "postgresql":
        database_url = d.make_pg_database(cleanup)
    else:
        database_url = f"sqlite:///{home / 'volmgr.sqlite'}"
    manage_conf = d.write_config(
        home / "volmgr-manage.conf",
        daemon_sections(kind, home, transport_url, database_url, "volmgr-manage"),
    )
    home.joinpath("state").mkdir(parents=True, exist_ok=True)
    d.run_manage(manage_conf, "db", "sync")
    daemons = {}
    for binary in DAEMONS:
        sections = daemon_sections(kind, home, transport_url, database_url, binary)
        daemon = d.make_daemon(binary, home, sections)
        if launcher is not None:
            daemon.argv = launcher(binary, daemon.argv)
            daemon.stop_timeout = 300.0  # a profiler writes its results at exit
        daemons[binary] = daemon.start(cleanup)
    for daemon in daemons.values():
        daemon.wait_ready()
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    cleanup.push("dispose the bench engine", engine.dispose)
    return Cluster(kind, database_url, transport_url, workdir, daemons, engine, manage_conf)


def stop_cluster(cluster: Cluster) -> dict[str, int | None]:
    codes = {}
    for name in reversed(DAEMONS):
        cluster.daemons[name].stop()
        codes[name] = cluster.daemons[name].exit_code
    return codes


# -- submitting requests ----------------------------------------------------------------


@dataclass
class Submission:
    """One manage call: when it was sent and accepted (epoch seconds), or its error."""

    sent: float
    accepted: float = 0.0
    volume_id: str | None = None
    error: str | None = None


@dataclass
class Client:
    """An RPC client of volmgr-api in this process, as another service would be."""

    transport_url: str
    projects: int
    messaging: Any = None
    api: Any = None
    _names: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    run_id: str = field(default_factory=lambda: d.unique(""))

    def __post_init__(self) -> None:
        from volmgr_api import rpcapi
        from volmgr_common import rpc
        from volmgr_common.conf import startup

        conf = startup.new_conf()
        conf([], project=None, default_config_files=[], default_config_dirs=[])
        conf.set_override("transport_url", self.transport_url)
        self.messaging = rpc.Messaging(conf, publisher="bench-client")
        self.api = rpcapi.ApiAPI(self.messaging, timeout=CALL_TIMEOUT)

    def close(self) -> None:
        self.messaging.cleanup()

    def manage_one(self) -> Submission:
        from volmgr_common.context import RequestContext

        with self._lock:
            number = next(self._names)
        project = f"bench-project-{number % self.projects}"
        ctxt = RequestContext(user_id="bench-user", project_id=project, roles=["admin"])
        sub = Submission(sent=time.time())
        try:
            volume = self.api.manage_existing(
                ctxt, BACKEND_HOST, {"source-name": f"bench-{self.run_id}-{number}"}
            )
            sub.volume_id = volume["id"]
            sub.accepted = time.time()
        except Exception as error:  # every failure is counted, the run goes on
            sub.error = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        return sub


def submit(
    client: Client, count: int, concurrency: int, rate: float | None = None
) -> list[Submission]:
    """``count`` manage calls from ``concurrency`` threads, as fast as possible or at ``rate``/s."""
    results: list[Submission] = []
    lock = threading.Lock()
    tickets = iter(range(count))
    start = time.monotonic()

    def worker() -> None:
        while True:
            with lock:
                index = next(tickets, None)
            if index is None:
                return
            if rate:
                delay = start + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            sub = client.manage_one()
            with lock:
                results.append(sub)

    threads = [
        threading.Thread(target=worker, name=f"bench-submit-{i}", daemon=True)
        for i in range(max(1, min(concurrency, MAX_CONCURRENCY, count)))
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + DRAIN_TIMEOUT + (count / rate if rate else 0)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            raise d.BenchError("submitting threads did not finish in time")
    return results


def wait_drained(cluster: Cluster, timeout: float = DRAIN_TIMEOUT) -> float:
    """Wait until no row is ``managing``; returns the time it took."""
    start = time.monotonic()
    while cluster.count_status("managing"):
        cluster.check_alive()
        if time.monotonic() - start > timeout:
            raise d.BenchError(f"{cluster.count_status('managing')} manages still running")
        time.sleep(0.2)
    return time.monotonic() - start


@dataclass
class Phase:
    """Outcome of one batch of manage requests."""

    requests: int
    seconds: float
    completed: int
    errors: int
    error_samples: list[str]
    latencies_ms: list[float]
    call_ms: list[float]
    cpu_ms: dict[str, float]
    machine_busy: float

    @property
    def per_s(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0


class CpuMeter:
    """CPU seconds of the daemons, the broker, the database and this process."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start = self._read()

    def _read(self) -> dict[str, float]:
        values = {name: d.cpu_seconds(pid) for name, pid in self.pids.items()}
        by_command = d.cpu_by_command()
        values["rabbitmq"] = sum(by_command.get(c, 0.0) for c in BROKER_COMMANDS)
        values["postgres"] = sum(by_command.get(c, 0.0) for c in DB_COMMANDS)
        values["bench-client"] = time.process_time()
        busy, total = d.machine_busy_seconds()
        values["_busy"], values["_total"] = busy, total
        return values

    def per_unit_ms(self, units: int) -> tuple[dict[str, float], float]:
        """CPU ms per unit of work since start, and the share of the machine that was busy.

        ``others`` is what every other process of the machine used meanwhile (other
        people's jobs on a shared machine show up there).
        """
        now = self._read()
        delta = {k: now[k] - self._start[k] for k in now}
        busy_s, total_s = delta.pop("_busy"), delta.pop("_total")
        delta["others"] = max(0.0, busy_s - sum(delta.values()))
        return {k: v * 1000 / max(units, 1) for k, v in delta.items()}, busy_s / max(total_s, 1e-9)


def background_cores(pids: dict[str, int], seconds: float = 1.0) -> float:
    """Cores used by processes that are not part of the benchmark, over ``seconds``."""
    meter = CpuMeter(pids)
    time.sleep(seconds)
    cpu_ms, _busy = meter.per_unit_ms(1)
    return cpu_ms["others"] / 1000 / seconds


def wait_quiet(pids: dict[str, int], max_wait: float, threshold: float = 0.25) -> float:
    """Wait up to ``max_wait`` s until other processes use less than ``threshold`` cores."""
    deadline = time.monotonic() + max_wait
    load = background_cores(pids)
    while load > threshold and time.monotonic() < deadline:
        load = background_cores(pids, 2.0)
    return load


def run_phase(
    cluster: Cluster,
    client: Client,
    count: int,
    concurrency: int,
    rate: float | None = None,
    quiet_wait: float = 0.0,
) -> Phase:
    if quiet_wait:
        load = wait_quiet(cluster.pids(), quiet_wait)
        if load > 0.25:
            print(f"[{cluster.kind}] other processes use {load:.2f} cores", flush=True)
    meter = CpuMeter(cluster.pids())
    start = time.time()
    subs = submit(client, count, concurrency, rate)
    wait_drained(cluster)
    cpu_ms, busy = meter.per_unit_ms(count)
    rows = cluster.finished_rows()
    errors = [s.error for s in subs if s.error]
    latencies, ends = [], []
    for sub in subs:
        if sub.volume_id is None:
            continue
        status, launched = rows.get(sub.volume_id, ("missing", None))
        if status != "available" or launched is None:
            errors.append(f"volume {sub.volume_id} ended {status}")
            continue
        ends.append(launched)
        latencies.append((launched - sub.accepted) * 1000)
    return Phase(
        requests=count,
        seconds=(max(ends) - start) if ends else 0.0,
        completed=len(ends),
        errors=len(errors),
        error_samples=errors[:5],
        latencies_ms=latencies,
        call_ms=[(s.accepted - s.sent) * 1000 for s in subs if s.volume_id],
        cpu_ms=cpu_ms,
        machine_busy=busy,
    )


def measure_sizes(cluster: Cluster, client: Client) -> dict[str, int]:
    """Warm up with a few manages and measure their messages' bodies on the wire.

    One manage at a time, so that each cast carries one request: the chain is
    padded to the size of a manage's own casts, not to that of a batch of them.
    """
    tap = d.Tap(cluster.transport_url, EXCHANGE, list(CAST_KEYS.values()))
    try:
        submit(client, WARMUP, 1)
        wait_drained(cluster)
        sizes = tap.collect(want=WARMUP)
    finally:
        tap.close()
    result = {}
    for name, key in CAST_KEYS.items():
        values = sizes.get(key) or [0]
        result[f"{name}_bytes"] = round(sum(values) / len(values))
    result["notifications_per_manage"] = round(
        len(sizes.get(CAST_KEYS["notification"], [])) / WARMUP, 2
    )
    return result


# -- the main run -----------------------------------------------------------------------


@dataclass
class DbResult:
    kind: str
    sizes: dict[str, int]
    flood: Phase
    paced: Phase
    paced_rate: float


def bench_database(
    kind: str,
    args: argparse.Namespace,
    cleanup: d.Cleanup,
    workdir: Path,
    profile: Callable[[Cluster], Any] | None = None,
) -> DbResult:
    cluster = start_cluster(kind, cleanup, workdir)
    client = Client(cluster.transport_url, args.projects)
    cleanup.push("close the bench client", client.close)
    sizes = measure_sizes(cluster, client)
    print(f"[{kind}] warm-up done; message bodies {sizes}", flush=True)
    flood = run_phase(cluster, client, args.requests, args.concurrency, quiet_wait=args.wait_quiet)
    print(
        f"[{kind}] flood: {flood.completed}/{flood.requests} available in {flood.seconds:.1f}s "
        f"= {flood.per_s:.1f}/s, {flood.errors} errors",
        flush=True,
    )
    rate = args.paced_rate or max(flood.per_s / 2, 1.0)
    paced_count = max(50, min(args.requests, int(rate * args.paced_seconds)))
    paced = run_phase(
        cluster, client, paced_count, args.concurrency, rate=rate, quiet_wait=args.wait_quiet
    )
    print(
        f"[{kind}] paced at {rate:.1f}/s: {paced.completed}/{paced.requests}, p50 "
        f"{d.percentile(paced.latencies_ms, 0.5):.1f} ms, p99 "
        f"{d.percentile(paced.latencies_ms, 0.99):.1f} ms",
        flush=True,
    )
    client.close()
    codes = stop_cluster(cluster)
    if any(codes.values()):
        print(f"[{kind}] daemons exited with {codes}", flush=True)
    return DbResult(kind, sizes, flood, paced, rate)


def json_line(result: DbResult, chain_result: dict[str, Any]) -> dict[str, Any]:
    limit = chain_result["chain_limit_per_s"]
    return {
        "db": result.kind,
        "manages_per_s": round(result.flood.per_s, 1),
        "chain_limit_per_s": limit,
        "ratio": round(result.flood.per_s / limit, 3) if limit else 0.0,
        "p50_ms": round(d.percentile(result.paced.latencies_ms, 0.5), 1),
        "p99_ms": round(d.percentile(result.paced.latencies_ms, 0.99), 1),
        "chain_p50_ms": chain_result["chain_p50_ms"],
        "errors": result.flood.errors + result.paced.errors,
    }


CPU_COLUMNS = (
    "volmgr-api",
    "volmgr-scheduler",
    "volmgr-volume",
    "rabbitmq",
    "postgres",
    "bench-client",
    "others",
)


def print_table(results: list[DbResult], chain_result: dict[str, Any]) -> None:
    limit = chain_result["chain_limit_per_s"]
    print()
    print(
        f"messaging limit (two-hop cast chain, bodies {chain_result['hop1_bytes']} + "
        f"{chain_result['hop2_bytes']} B): {limit:.0f} msg/s flood; paced at "
        f"{chain_result['paced_per_s']:.0f}/s p50 {chain_result['chain_p50_ms']} ms, "
        f"p99 {chain_result['chain_p99_ms']} ms"
    )
    header = (
        f"{'db':<11}{'requests':>9}{'manages/s':>10}{'ratio':>7}{'paced/s':>8}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'call p50':>9}{'errors':>7}{'busy':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.kind:<11}{r.flood.requests:>9}{r.flood.per_s:>10.1f}"
            f"{r.flood.per_s / limit if limit else 0:>7.3f}{r.paced_rate:>8.1f}"
            f"{d.percentile(r.paced.latencies_ms, 0.5):>8.1f}"
            f"{d.percentile(r.paced.latencies_ms, 0.99):>8.1f}"
            f"{d.percentile(r.paced.call_ms, 0.5):>9.1f}"
            f"{r.flood.errors + r.paced.errors:>7}{r.flood.machine_busy * 100:>5.0f}%"
        )
    print()
    print("CPU ms per manage under flood: " + ", ".join(CPU_COLUMNS) + ", total")
    for r in results:
        values = [r.flood.cpu_ms.get(c, 0.0) for c in CPU_COLUMNS]
        cells = "".join(f"{v:>9.2f}" for v in values)
        print(f"{r.kind:<11}{cells}{sum(values):>9.2f}")
    for r in results:
        for sample in r.flood.error_samples + r.paced.error_samples:
            print(f"[{r.kind}] error: {sample}")
    print()


def main_run(args: argparse.Namespace) -> None:
    started = time.monotonic()
    kinds = {"both": ["sqlite", "postgresql"], "sqlite": ["sqlite"]}.get(args.db, [args.db])
    results: list[DbResult] = []
    with d.cleanup_on_exit() as cleanup:
        workdir = d.temp_dir(cleanup, "volmgr-bench-", keep=args.keep)
        for kind in kinds:
            results.append(bench_database(kind, args, cleanup, workdir))
        sizes = results[-1].sizes
        if args.wait_quiet:
            wait_quiet({}, args.wait_quiet)
        chain_url = d.make_vhost(cleanup, "volmgr-bench-chain-")
        chain_result = chain.run_chain(
            chain_url,
            cleanup,
            workdir,
            messages=args.chain_messages,
            paced_seconds=args.chain_paced_seconds,
            hop1_bytes=sizes["scheduler_cast_bytes"],
            hop2_bytes=sizes["volume_cast_bytes"],
        )
        if args.keep:
            print(f"files kept in {workdir}")
    print_table(results, chain_result)
    chain.print_result(chain_result)
    print(f"runtime {time.monotonic() - started:.0f}s")
    for result in results:
        print(json.dumps(json_line(result, chain_result)))


def profile_run(args: argparse.Namespace) -> None:
    """A flood with every daemon profiled; prints where each spends its CPU.

    ``--profiler yappi`` (default) runs each daemon under yappi in-process (CPU clock,
    every thread); ``--profiler py-spy`` attaches ``py-spy record --gil`` from outside.
    """
    import sys

    from bench import profile

    kinds = ["postgresql"] if args.db == "both" else [args.db]
    outdir = Path(args.profile).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}
    with d.cleanup_on_exit() as cleanup:
        workdir = d.temp_dir(cleanup, "volmgr-bench-profile-", keep=args.keep)
        for kind in kinds:
            launcher: Launcher | None = None
            if args.profiler == "yappi":

                def launcher(binary: str, argv: list[str], kind: str = kind) -> list[str]:
                    out = outdir / f"{kind}-{binary}.pstat"
                    module = [sys.executable, "-m", "bench._profiled", "--out", str(out)]
                    return [*module, binary, *argv[1:]]

            cluster = start_cluster(kind, cleanup, workdir, launcher)
            client = Client(cluster.transport_url, args.projects)
            cleanup.push("close the bench client", client.close)
            measure_sizes(cluster, client)
            spies = []
            if args.profiler == "py-spy":
                for name, pid in cluster.pids().items():
                    spy = profile.PySpy(name, pid, outdir / f"{kind}-{name}.txt")
                    cleanup.push(f"stop py-spy on {name}", spy.stop)
                    spies.append(spy.start())
                time.sleep(1.0)
            flood = run_phase(
                cluster, client, args.requests, args.concurrency, quiet_wait=args.wait_quiet
            )
            for spy in spies:
                spy.stop()
            client.close()
            stop_cluster(cluster)
            print(
                f"[{kind}] profiled flood ({args.profiler}): {flood.per_s:.1f} manages/s, "
                f"{flood.errors} errors; CPU ms/manage "
                + ", ".join(f"{k} {v:.1f}" for k, v in flood.cpu_ms.items())
            )
            summary[kind] = {"manages_per_s": round(flood.per_s, 1), "cpu_ms": flood.cpu_ms}
            for name in DAEMONS:
                if args.profiler == "py-spy":
                    result = profile.analyze(outdir / f"{kind}-{name}.txt")
                else:
                    result = profile.analyze_pstat(outdir / f"{kind}-{name}.pstat")
                profile.print_analysis(f"{kind} {name}", result)
                summary[kind][name] = result
    (outdir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    print(f"\nprofiles and summary.json in {outdir}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.manage", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, default=2000, help="manages in the flood")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help=f"calling threads (default {FLOOD_CONCURRENCY}; bench.growth keeps its own)",
    )
    parser.add_argument("--projects", type=int, default=16, help="projects the requests use")
    parser.add_argument("--paced-seconds", type=float, default=20.0, help="length of the paced run")
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=None,
        help="manages/s of the paced run (default: half the flood rate), to compare "
        "latencies of two versions at the same load",
    )
    parser.add_argument("--db", choices=["both", "postgresql", "sqlite"], default="both")
    parser.add_argument("--chain-messages", type=int, default=4000)
    parser.add_argument("--chain-paced-seconds", type=float, default=6.0)
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 requests")
    parser.add_argument("--keep", action="store_true", help="keep config and log files")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=15.0,
        help="before each measurement wait up to this many seconds for other processes "
        "of the machine to use less than a quarter of a core",
    )
    parser.add_argument("--profile", metavar="DIR", help="profile the daemons during a flood")
    parser.add_argument("--profiler", choices=["yappi", "py-spy"], default="yappi")
    parser.add_argument("--growth", action="store_true", help="run bench.growth backends")
    parser.add_argument("--memory", action="store_true", help="run bench.growth memory")
    add_set_option(parser)
    args = parser.parse_args(argv)
    apply_set_option(parser, args)
    if args.quick:
        args.requests, args.paced_seconds = 200, 4.0
        args.chain_messages, args.chain_paced_seconds = 1000, 2.0
    args.requests = max(1, min(args.requests, MAX_REQUESTS))
    args.growth_options = (
        [] if args.concurrency is None else ["--concurrency", str(args.concurrency)]
    )
    args.concurrency = max(1, min(args.concurrency or FLOOD_CONCURRENCY, MAX_CONCURRENCY))
    args.projects = max(1, args.projects)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.growth or args.memory:
        from bench import growth

        growth.main(
            ["backends" if args.growth else "memory", "--db", args.db]
            + args.growth_options
            + ["--projects", str(args.projects)]
            + ["--wait-quiet", str(args.wait_quiet)]
            + (["--requests", str(min(args.requests, 1000))] if args.growth else [])
            + (["--keep"] if args.keep else [])
        )
        return
    try:
        if args.profile:
            profile_run(args)
            return
        main_run(args)
    except d.BenchError as error:
        raise SystemExit(f"bench.manage: {error}") from None
    except KeyboardInterrupt:
        raise SystemExit("bench.manage: interrupted; everything it made was removed") from None


if __name__ == "__main__":
    main()
