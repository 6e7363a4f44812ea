"""Adoption of a whole backend against the single-manage flood, in one run.

``python -m bench.adopt``:

1. starts the real ``volmgr-api`` (REST on a free local port, noauth),
   ``volmgr-scheduler`` and ``volmgr-volume`` on the file backend, over a throwaway
   RabbitMQ vhost and PostgreSQL database, default configuration otherwise
   (notifications on; quota unlimited, as in bench.manage);
2. writes ``--objects`` real files (sparse, 1 MiB) in the backend's directory;
3. plans them (``POST os-adoption-plans``), applies the plan (``POST
   os-adoption-jobs``) and waits for the job to end, sampling the daemons' resident
   memory; then undoes the job (``{"undo": null}``) and waits for that;
4. floods ``--single`` single manages of other files of the same backend through
   ``ApiAPI`` from 32 threads (bench.manage's flood) and waits until none is
   ``managing``;
5. prints one JSON line: ``{"objects", "plan_s", "adopt_per_s",
   "single_manage_per_s", "speedup", "undo_per_s", "errors", ...}``.

Everything made for the run (vhost, database, processes, files) is removed at the
end, also after Ctrl-C. The machine's other load moves the figures: compare within
one run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from bench import _daemons as d
from bench import manage as m
from bench import profile

PROJECT = "bench-adopt"
DAEMONS = m.DAEMONS
POLL = 0.2
JOB_TIMEOUT = 1800.0
FILE_SIZE = 1024 * 1024


class Rest(d.NoauthRest):
    """The REST calls of the run, as admin of ``PROJECT`` (noauth)."""

    def __init__(self, port: int) -> None:
        super().__init__(port, PROJECT, timeout=600)

    def wait_job(self, job_id: str, cluster: m.Cluster, memory: MemorySampler) -> dict[str, Any]:
        deadline = time.monotonic() + JOB_TIMEOUT
        while True:
            job = self.call(f"/os-adoption-jobs/{job_id}?limit=0")["job"]
            memory.sample(job["done"])
            if job["status"] in ("completed", "cancelled"):
                return job
            cluster.check_alive()
            if time.monotonic() > deadline:
                raise d.BenchError(f"job {job_id} still {job['status']}: {job['counters']}")
            time.sleep(POLL)


class MemorySampler:
    """Resident memory of each daemon against items done, to tell growth per item."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.samples: list[tuple[int, dict[str, int]]] = []

    def sample(self, done: int) -> None:
        self.samples.append((done, {name: d.rss_kib(pid) for name, pid in self.pids.items()}))

    def second_half_bytes_per_item(self) -> dict[str, float]:
        """Growth of each daemon's RSS per item over the second half of the job."""
        if len(self.samples) < 2:
            return {}
        total = self.samples[-1][0]
        middle = next((s for s in self.samples if s[0] >= total / 2), self.samples[0])
        last = self.samples[-1]
        items = max(1, last[0] - middle[0])
        return {
            name: round((last[1][name] - middle[1][name]) * 1024 / items, 1) for name in self.pids
        }

    def peak_mib(self) -> dict[str, float]:
        return (
            {name: round(max(s[1][name] for s in self.samples) / 1024, 1) for name in self.pids}
            if self.samples
            else {}
        )


def make_files(directory: Path, prefix: str, count: int, width: int = 6) -> list[str]:
    """``count`` sparse files named ``prefix-NNN`` (``width`` digits, 0: unpadded)."""
    names = [f"{prefix}-{n:0{width}d}" for n in range(count)]
    for name in names:
        with open(directory / name, "wb") as made:
            made.truncate(FILE_SIZE)
    return names


RUNNER_THREAD = "_run_guarded (volmgr_volume/adoption.py"
"""A frame of every stack of a job's runner thread (profiles)."""


class Profiles:
    """py-spy on the daemons during the adopt job (``--profile DIR``): where each spends
    its CPU, and where the volume service's runner thread spends its wall clock."""

    def __init__(self, outdir: Path, pids: dict[str, int], cleanup: d.Cleanup) -> None:
        self.outdir = outdir
        self.spies = []
        for name, pid in pids.items():
            self.spies.append(profile.PySpy(name, pid, outdir / f"cpu-{name}.txt"))
        self.spies.append(
            profile.PySpy("runner", pids["volmgr-volume"], outdir / "wall-volmgr-volume.txt")
        )
        for spy in self.spies:
            cleanup.push(f"stop py-spy on {spy.name}", spy.stop)

    def start(self) -> None:
        for spy in self.spies:
            spy.start(idle=spy.name == "runner")
        time.sleep(1.0)  # py-spy attaches

    def stop_and_print(self) -> None:
        summary: dict[str, Any] = {}
        for spy in self.spies:
            spy.stop()
            if spy.name == "runner":
                result = profile.analyze_thread(spy.out, RUNNER_THREAD, depth=3)
            else:
                result = profile.analyze(spy.out)
            profile.print_analysis(spy.name, result)
            summary[spy.name] = result
        (self.outdir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
        print(f"\nprofiles and summary.json in {self.outdir}")


def adopt_and_undo(
    rest: Rest, cluster: m.Cluster, host: str, objects: int, profiles: Profiles | None = None
) -> dict[str, Any]:
    pids = cluster.pids()
    started = time.monotonic()
    plan = rest.call(
        "/os-adoption-plans", {"plan": {"host": host, "filters": {"name": "adopt-*"}}}
    )["plan"]
    plan_s = time.monotonic() - started
    memory = MemorySampler(pids)
    meter = m.CpuMeter(pids)
    if profiles is not None:
        profiles.start()
    started = time.monotonic()
    job = rest.call("/os-adoption-jobs", {"job": {"plan_id": plan["id"]}})["job"]
    job = rest.wait_job(job["id"], cluster, memory)
    adopt_s = time.monotonic() - started
    cpu_ms, busy = meter.per_unit_ms(objects)
    if profiles is not None:
        profiles.stop_and_print()
    undo_memory = MemorySampler(pids)
    started = time.monotonic()
    undo = rest.call(f"/os-adoption-jobs/{job['id']}/action", {"undo": None})["job"]
    undo = rest.wait_job(undo["id"], cluster, undo_memory)
    undo_s = time.monotonic() - started
    return {
        "plan_s": round(plan_s, 2),
        "adopt_s": round(adopt_s, 2),
        "adopt_per_s": round(job["counters"]["available"] / adopt_s, 1),
        "undo_per_s": round(undo["counters"]["undone"] / undo_s, 1),
        "adopt_counters": {k: v for k, v in job["counters"].items() if v},
        "undo_counters": {k: v for k, v in undo["counters"].items() if v},
        "adopt_cpu_ms_per_item": cpu_ms,
        "machine_busy_cores": round(busy, 2),
        "rss_peak_mib": memory.peak_mib(),
        "rss_second_half_bytes_per_item": memory.second_half_bytes_per_item(),
    }


def single_flood(cluster: m.Cluster, directory: Path, count: int) -> tuple[float, int]:
    """bench.manage's flood of ``count`` single manages of real files; (rate, errors)."""
    client = m.Client(cluster.transport_url, projects=1)
    try:
        make_files(directory, f"bench-{client.run_id}", count, width=0)  # the flood's names
        started = time.time()
        subs = m.submit(client, count, m.FLOOD_CONCURRENCY)
        m.wait_drained(cluster)
        rows = cluster.finished_rows()
        ends = [
            rows[s.volume_id][1]
            for s in subs
            if s.volume_id and rows.get(s.volume_id, ("", None))[0] == "available"
        ]
        errors = count - len(ends)
        seconds = (max(e for e in ends if e) - started) if ends else 0.0
        return (round(len(ends) / seconds, 1) if seconds else 0.0), errors
    finally:
        client.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    with d.cleanup_on_exit() as cleanup:
        workdir = d.temp_dir(cleanup, "volmgr-bench-adopt-", keep=args.keep)
        directory = workdir / "files"
        directory.mkdir()
        port = d.free_port()
        own = {
            "volume": {"volume_driver": "file"},
            "file_backend": {"directory": str(directory)},
            "api": {"bind_host": "127.0.0.1", "bind_port": str(port), "auth_strategy": "noauth"},
        }
        for section, options in own.items():  # --set wins over the run's own options
            m.EXTRA_OPTIONS[section] = {**options, **m.EXTRA_OPTIONS.get(section, {})}
        make_files(directory, "adopt", args.objects)
        cluster = m.start_cluster("postgresql", cleanup, workdir)
        rest = Rest(port)
        result: dict[str, Any] = {"objects": args.objects}
        profiles = None
        if args.profile:
            outdir = Path(args.profile).resolve()
            profiles = Profiles(outdir, cluster.pids(), cleanup)
        result.update(adopt_and_undo(rest, cluster, m.BACKEND_HOST, args.objects, profiles))
        single, errors = single_flood(cluster, directory, args.single)
        result["single_manage_per_s"] = single
        result["speedup"] = round(result["adopt_per_s"] / single, 2) if single else None
        adopt_errors = sum(
            v for k, v in result["adopt_counters"].items() if k not in ("available",)
        )
        result["errors"] = adopt_errors + errors
        result["loadavg_1m"] = round(os.getloadavg()[0], 2)
        codes = m.stop_cluster(cluster)
        if any(code not in (0, None) for code in codes.values()):
            result["exit_codes"] = codes
        return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.adopt", description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000, help="files to adopt")
    parser.add_argument(
        "--single", type=int, default=2_000, help="single manages of the flood (default 2,000)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's directory")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="py-spy on the daemons during the adopt job (slows them: its rates are no "
        "result); prints where each spends its CPU and the runner thread its wall clock",
    )
    m.add_set_option(parser)
    args = parser.parse_args(argv)
    m.apply_set_option(parser, args)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
