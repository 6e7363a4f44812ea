"""Manage throughput and latency on a real LVM volume group, through REST.

``python -m bench.lvm [--lvs N | --large]`` in one run:

1. makes a volume group on a loop device (``tools/lvm-testvg.sh``: a sparse file,
   ``activation = 0``, so no device-mapper is needed) holding N inactive 1 GiB LVs
   (453 by default, 2,000 with ``--large``);
2. starts ``volmgr-api``, ``volmgr-scheduler`` and ``volmgr-volume`` with the LVM
   driver on a throwaway RabbitMQ vhost and PostgreSQL database; every LVM command
   the driver runs goes through a root helper that only counts it;
3. runs three phases through the REST API (``POST /v3/{project}/os-volume-manage``,
   noauth): ``--seq`` sequential manages (client latency: POST until ``GET`` shows
   ``available``, polled every ``--poll-ms``), a burst of ``--burst`` manages POSTed
   by ``--concurrency`` clients (manages per second: first POST to the last row's
   ``updated_at``), and ``--closed`` manages by ``--concurrency`` clients in a closed
   loop (POST, wait for ``available``, next);
4. prints one JSON line ``{"lvs", "seq_p50_s", "burst_per_s", "closed_per_s",
   "lvm_cmds_per_manage", "errors", ...}`` and removes the daemons, the vhost, the
   database, the VG and its loop device, also after a failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench import _daemons as d

HOST = "bench"
BACKEND = "lvm"
POOL = "lvm"
PROJECT = "abcdef0123456789abcdef0123456789"
DAEMONS = ("volmgr-api", "volmgr-scheduler", "volmgr-volume")
TERMINAL = {"available", "error", "error_managing"}
TESTVG = d.REPO_ROOT / "tools" / "lvm-testvg.sh"
COUNTER = """#!/bin/sh
# Root helper of the benchmark: notes the LVM command, then runs it unchanged.
for arg in "$@"; do
  case "$arg" in env|*=*) ;; *) echo "$arg" >>"{log}"; break;; esac
done
exec "$@"
"""


class VolumeGroup:
    """The benchmark's VG (tools/lvm-testvg.sh), destroyed by the cleanup."""

    def __init__(self, cleanup: d.Cleanup, count: int) -> None:
        made = subprocess.run(
            ["bash", str(TESTVG), "create", "4T"],
            capture_output=True,
            text=True,
            check=False,
            env=dict(os.environ, VOLMGR_LVM_METADATASIZE="64m"),  # as large as a real VG's
        )
        if made.returncode != 0:
            raise d.BenchError(f"cannot make the volume group: {made.stderr.strip()}")
        values = dict(line.split("=", 1) for line in made.stdout.splitlines() if "=" in line)
        self.workdir, self.conf_dir = values["VOLMGR_LVM_WORKDIR"], values["LVM_SYSTEM_DIR"]
        self.name = values["VOLMGR_LVM_VG"]
        cleanup.push(f"destroy VG {self.name}", self.destroy)
        # One lvm process reads the lvcreate commands on stdin: quick for thousands.
        script = "".join(
            f"lvcreate -qq -y -an -n ext-{n} -L 1g {self.name}\n" for n in range(count)
        )
        self.lvm([], stdin=script)
        made_lvs = self.lvm(["lvs", "--noheadings", "-o", "lv_name", self.name]).split()
        if len(made_lvs) != count:
            raise d.BenchError(f"made {len(made_lvs)} LVs instead of {count}")

    def lvm(self, args: list[str], stdin: str | None = None) -> str:
        env = dict(os.environ, LVM_SYSTEM_DIR=self.conf_dir, LVM_SUPPRESS_FD_WARNINGS="1")
        result = subprocess.run(
            ["lvm", *args], input=stdin, capture_output=True, text=True, env=env, check=False
        )
        if result.returncode != 0:
            raise d.BenchError(f"lvm {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def destroy(self) -> None:
        subprocess.run(["bash", str(TESTVG), "destroy", self.workdir], check=False)


def sections(
    home: Path, name: str, urls: tuple[str, str], vg: VolumeGroup, helper: Path, port: int
) -> dict[str, dict[str, Any]]:
    transport_url, database_url = urls
    return {
        "DEFAULT": {
            "transport_url": transport_url,
            "host": HOST,
            "state_path": home / "state",
            "log_file": home / f"{name}.log",
            "debug": False,
        },
        "api": {"bind_host": "127.0.0.1", "bind_port": port, "auth_strategy": "noauth"},
        "database": {"connection": database_url},
        "quota": {"volumes": -1, "gigabytes": -1},
        "volume": {"backend_name": BACKEND, "volume_driver": "lvm"},
        "lvm_backend": {
            "volume_group": vg.name,
            "pool_name": POOL,
            "lvm_conf_dir": vg.conf_dir,
            "root_helper": str(helper),
        },
    }


class Client(d.NoauthRest):
    """The REST calls of the load: manage, show one volume, list them all."""

    def __init__(self, port: int) -> None:
        super().__init__(port, PROJECT, timeout=60)

    def manage(self, lv: str) -> str:
        host = f"{HOST}@{BACKEND}#{POOL}"
        body = {"volume": {"host": host, "ref": {"source-name": lv}, "name": lv}}
        return str(self.call("/os-volume-manage", body)["volume"]["id"])

    def show(self, volume_id: str) -> dict[str, Any]:
        return self.call(f"/volumes/{volume_id}")["volume"]

    def details(self) -> list[dict[str, Any]]:
        return list(self.call("/volumes/detail?limit=100000")["volumes"])

    def wait(self, volume_id: str, poll: float, deadline: float) -> str:
        while time.monotonic() < deadline:
            status = str(self.show(volume_id)["status"])
            if status in TERMINAL:
                return status
            time.sleep(poll)
        return "timeout"


def utc_seconds(text: str) -> float:
    stamp = dt.datetime.fromisoformat(text)
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).timestamp()


def sequential(client: Client, lvs: list[str], poll: float, errors: list[str]) -> list[float]:
    latencies = []
    for lv in lvs:
        started = time.monotonic()
        try:
            status = client.wait(client.manage(lv), poll, started + 120)
        except (urllib.error.URLError, OSError) as error:
            status = str(error)
        if status == "available":
            latencies.append(time.monotonic() - started)
        else:
            errors.append(f"{lv}: {status}")
    return latencies


def burst(client: Client, lvs: list[str], concurrency: int, errors: list[str]) -> float:
    """Manages per second: the first POST to the last ``updated_at`` of the burst's rows."""
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        submitted = list(pool.map(lambda lv: _try(client.manage, lv, errors), lvs))
    ids = {volume_id for volume_id in submitted if volume_id is not None}
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        rows = [row for row in client.details() if row["id"] in ids]
        if len(rows) == len(ids) and all(row["status"] in TERMINAL for row in rows):
            break
        time.sleep(0.25)
    errors.extend(f"{row['name']}: {row['status']}" for row in rows if row["status"] != "available")
    last = max(utc_seconds(row["updated_at"]) for row in rows)
    return len(rows) / (last - started)


def closed_loop(
    client: Client, lvs: list[str], concurrency: int, poll: float, errors: list[str]
) -> float:
    queue = collections.deque(lvs)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                lv = queue.popleft()
            volume_id = _try(client.manage, lv, errors)
            if volume_id is not None:
                status = client.wait(volume_id, poll, time.monotonic() + 300)
                if status != "available":
                    errors.append(f"{lv}: {status}")

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(lvs) / (time.monotonic() - started)


def _try(call: Any, lv: str, errors: list[str]) -> Any:
    try:
        return call(lv)
    except (urllib.error.URLError, OSError) as error:
        errors.append(f"{lv}: {error}")
        return None


def run(args: argparse.Namespace) -> dict[str, Any]:
    needed = 3 + args.seq + args.burst + args.closed
    count = 2000 if args.large else args.lvs
    if count < needed:
        raise d.BenchError(f"--lvs {count} is fewer than the {needed} LVs the phases manage")
    with d.cleanup_on_exit() as cleanup:
        workdir = d.temp_dir(cleanup, "volmgr-bench-lvm-")
        vg = VolumeGroup(cleanup, count)
        commands_log = workdir / "lvm-commands.log"
        helper = workdir / "count-lvm"
        helper.write_text(COUNTER.format(log=commands_log))
        helper.chmod(0o755)
        urls = (d.make_vhost(cleanup), d.make_pg_database(cleanup))
        port = d.free_port()
        home = workdir / "cluster"
        (home / "state").mkdir(parents=True)
        conf = d.write_config(
            home / "manage.conf", sections(home, "manage", urls, vg, helper, port)
        )
        d.run_manage(conf, "db", "sync")
        daemons = []
        for binary in DAEMONS:
            daemon = d.make_daemon(binary, home, sections(home, binary, urls, vg, helper, port))
            daemons.append(daemon.start(cleanup))
        for daemon in daemons:
            daemon.wait_ready()
        client = Client(port)
        names = [f"ext-{n}" for n in range(needed)]
        poll = args.poll_ms / 1000
        errors: list[str] = []
        sequential(client, names[:3], poll, errors)  # warm-up
        time.sleep(1)
        commands_log.write_text("")
        seq = sequential(client, names[3 : 3 + args.seq], poll, errors)
        at = 3 + args.seq
        burst_rate = burst(client, names[at : at + args.burst], args.concurrency, errors)
        at += args.burst
        closed_rate = closed_loop(client, names[at:], args.concurrency, poll, errors)
        commands = collections.Counter(commands_log.read_text().split())
        managed = args.seq + args.burst + args.closed
        return {
            "lvs": count,
            "seq_p50_s": round(d.percentile(seq, 0.5), 3) if seq else None,
            "burst_per_s": round(burst_rate, 2),
            "closed_per_s": round(closed_rate, 2),
            "lvm_cmds_per_manage": round(sum(commands.values()) / managed, 2),
            "lvm_cmds": dict(commands),
            "errors": len(errors),
            "error_samples": errors[:5],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lvs", type=int, default=453, help="LVs in the volume group")
    parser.add_argument("--large", action="store_true", help="2,000 LVs in the volume group")
    parser.add_argument("--seq", type=int, default=50)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--closed", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--poll-ms", type=int, default=20)
    args = parser.parse_args()
    try:
        result = run(args)
    except d.BenchError as error:
        sys.exit(f"bench.lvm: {error}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
