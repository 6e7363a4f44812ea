"""Sampling profiles of the running daemons with py-spy, and where their time goes.

:class:`PySpy` attaches ``py-spy record --format raw`` (collapsed stacks, idle
threads left out, so the samples are where the process spends CPU) to each daemon
and stops it with SIGINT. :func:`analyze` sorts every sample into one category
(first match in :data:`CATEGORIES`, a stack matching if any of its frames does) and
counts, for a list of named hot spots, the share of samples whose stack contains
them. Install py-spy with ``pip install py-spy`` in the project's virtualenv (it needs
ptrace: root).
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = str(Path(__file__).resolve().parents[1])

STOP_TIMEOUT = 60.0
MAX_SECONDS = 3600

# (category, substrings of a frame "function (file:line)"), in priority order.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("logging", ("(logging/", "(oslo_log/")),
    ("notifications", ("(volmgr_common/notifications.py",)),
    (
        "database",
        (
            "(sqlalchemy/",
            "(psycopg",
            "(sqlite3/",
            "(volmgr_common/db/",
            "(tenacity/",
        ),
    ),
    ("rpc send (cast/call)", ("(oslo_messaging/rpc/client.py",)),
    ("taskflow engine", ("(taskflow/",)),
    ("context (de)serialize", ("(oslo_context/", "(volmgr_common/context.py")),
    ("rpc receive + dispatch", ("(oslo_messaging/", "(kombu/", "(amqp/")),
    ("volmgr code", ("(volmgr_",)),
]

# Hot spots: (name, substrings that must all appear in one stack).
HOT_SPOTS: list[tuple[str, tuple[str, ...]]] = [
    ("taskflow: engines.load (build engine, compile)", ("load (taskflow/engines/helpers.py",)),
    ("whole run_flow (flow runner)", ("run_flow (volmgr_common/flows/__init__.py",)),
    ("taskflow: flow construction (get_flow)", ("get_flow (",)),
    ("taskflow: storage fetch_all", ("fetch_all (taskflow/",)),
    ("notifications: all", ("notify (volmgr_common/notifications.py",)),
    ("rpc cast/call (publish + confirm)", ("(oslo_messaging/rpc/client.py",)),
    ("service row read (services.get_by_host)", ("get_by_host (volmgr_common/db/services.py",)),
    ("volume type lookup", ("(volmgr_common/db/volume_types.py",)),
    ("quota (charge/reserve/commit)", ("(volmgr_common/db/quota.py",)),
    ("quota reservations", ("(volmgr_common/db/reservations.py",)),
    ("volume row to_record", ("to_record (volmgr_common/db/volume_record.py",)),
    ("SQL compile (sqlalchemy)", ("_compiler (sqlalchemy/",)),
    ("DB driver execute", ("execute (psycopg/",)),
    ("sqlite execute", ("(sqlite3/",)),
    ("tenacity retry wrapper", ("(tenacity/",)),
    ("logging", ("(logging/",)),
    ("json", ("(json/",)),
    ("oslo.context from_dict/to_dict", ("(oslo_context/",)),
    ("fake driver", ("(volmgr_volume/drivers/fake.py",)),
    ("scheduler filters", ("(volmgr_scheduler/filters/",)),
    ("API validation", ("(volmgr_api/validation.py",)),
    ("rpc reply (send result of a call)", ("reply (oslo_messaging/",)),
    ("kombu/amqp I/O", ("(amqp/",)),
    ("heartbeat/periodic tasks", ("_loop (volmgr_common/service.py",)),
]


def pyspy_path() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class PySpy:
    """``py-spy record`` attached to one process until :meth:`stop`."""

    name: str
    pid: int
    out: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, rate: int = 100, gil: bool = True, idle: bool = False) -> PySpy:
        """Sample at ``rate`` per second: with ``gil`` only the thread holding the GIL
        (where CPU goes); with ``idle`` every thread, waiting ones too (where wall
        clock goes), without pausing the process."""
        exe = pyspy_path()
        if exe is None:
            raise RuntimeError("py-spy is not installed: pip install py-spy (in this virtualenv)")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        log = self.out.with_suffix(".log").open("wb")
        self.proc = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(self.pid),
                "--format",
                "raw",
                "--rate",
                str(rate),
                *(["--gil"] if gil and not idle else ["--nonblocking"]),
                *(["--idle"] if idle else []),
                "--duration",
                str(MAX_SECONDS),
                "-o",
                str(self.out),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def stop(self) -> None:
        """SIGINT makes py-spy write what it sampled and exit."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


def read_stacks(path: Path) -> list[tuple[list[str], int]]:
    """Collapsed stacks of a raw py-spy file: (frames root first, samples)."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        text, _, count = line.rpartition(" ")
        if text and count.isdigit():
            stacks.append((text.split(";"), int(count)))
    return stacks


def _category(frames: list[str]) -> str:
    for name, needles in CATEGORIES:
        if any(needle in frame for frame in frames for needle in needles):
            return name
    return "other (threading, stdlib, libraries)"


def _function(frame: str) -> str:
    """``function (file)`` of a frame, without the line number."""
    function, _, where = frame.partition(" (")
    return f"{function} ({where.rpartition(':')[0]})"


def analyze(path: Path, top: int = 12) -> dict[str, Any]:
    """Categories, hot spots and the heaviest volmgr functions of one profile."""
    stacks = read_stacks(path)
    total = sum(count for _, count in stacks) or 1
    categories: collections.Counter[str] = collections.Counter()
    hot: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        categories[_category(frames)] += count
        joined = ";".join(frames)
        for name, needles in HOT_SPOTS:
            if all(needle in joined for needle in needles):
                hot[name] += count
        for function in {_function(f) for f in frames if "(volmgr_" in f}:
            inclusive[function] += count
        leaves[_function(frames[-1])] += count

    def pct(counter: collections.Counter[str], n: int | None = None) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common(n)}

    return {
        "samples": total,
        "categories": pct(categories),
        "hot_spots": pct(hot),
        "volmgr_functions": pct(inclusive, top),
        "leaf_functions": pct(leaves, top),
    }


def analyze_thread(path: Path, marker: str, depth: int = 1, top: int = 15) -> dict[str, Any]:
    """Where one kind of thread spends its wall clock, from an ``idle`` profile.

    Only stacks with a frame containing ``marker`` count (e.g. the runner of an
    adoption job); each is attributed to the ``depth`` volmgr frames below the
    marker's frame, and to its leaf function (what it was doing or waiting in).
    """
    stacks = [(frames, n) for frames, n in read_stacks(path) if any(marker in f for f in frames)]
    total = sum(n for _, n in stacks) or 1
    steps: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        start = next(i for i, f in enumerate(frames) if marker in f)
        below = [_function(f) for f in frames[start + 1 :] if "(volmgr_" in f][:depth]
        steps[" > ".join(below) or "(the marked frame itself)"] += count
        leaves[_function(frames[-1])] += count

    def pct(counter: collections.Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common(top)}

    return {"samples": total, "steps": pct(steps), "leaf_functions": pct(leaves)}


# yappi (pstats) files: self time by library, and inclusive time of hot spots.
PSTAT_CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("logging (stdlib logging, oslo.log)", ("/logging/", "/oslo_log/")),
    ("SQLAlchemy", ("/sqlalchemy/",)),
    ("DB driver (psycopg, sqlite3)", ("/psycopg", "sqlite3", "/psycopg_binary/")),
    ("oslo.messaging", ("/oslo_messaging/",)),
    ("kombu + amqp", ("/kombu/", "/amqp/", "/vine/")),
    ("socket/select I/O (C)", ("socket", "select", "poll", "'recv", "'send")),
    (
        "taskflow (+ futurist, automaton, networkx)",
        ("/taskflow/", "/futurist/", "/automaton/", "/networkx/", "/fasteners/"),
    ),
    (
        "oslo.context/serialization/utils",
        ("/oslo_context/", "/oslo_serialization/", "/oslo_utils/"),
    ),
    ("json", ("/json/", "_json")),
    ("uuid", ("/uuid.py", "uuid")),
    ("copy (deepcopy)", ("/copy.py",)),
    ("tenacity", ("/tenacity/",)),
    ("threading, locks, queues", ("/threading.py", "/queue.py", "lock", "Lock", "Condition")),
    ("volmgr", ("/volmgr_",)),
]

PSTAT_HOT_SPOTS: list[tuple[str, str, str]] = [
    # (label, file substring, function name)
    (
        "RPC dispatch of one message (all work of a request)",
        "oslo_messaging/rpc/dispatcher.py",
        "dispatch",
    ),
    (
        "run_flow (the whole flow: tasks, their DB calls, reverts)",
        "volmgr_common/flows/__init__.py",
        "run_flow",
    ),
    ("taskflow engines.load (engine build + storage)", "taskflow/engines/helpers.py", "load"),
    (
        "taskflow engine compile/prepare/validate",
        "taskflow/engines/action_engine/engine.py",
        "compile",
    ),
    ("taskflow engine prepare", "taskflow/engines/action_engine/engine.py", "prepare"),
    ("taskflow engine validate", "taskflow/engines/action_engine/engine.py", "validate"),
    ("taskflow engine run_iter", "taskflow/engines/action_engine/engine.py", "run_iter"),
    ("taskflow storage fetch_all", "taskflow/storage.py", "fetch_all"),
    ("flow construction (get_flow)", "flows/manage_existing.py", "get_flow"),
    ("DB transaction wrapper (all SQL incl. retries)", "volmgr_common/db/api.py", "wrapper"),
    ("session begin/commit/close", "volmgr_common/db/api.py", "session"),
    ("volume to_record", "volmgr_common/db/volume_record.py", "to_record"),
    ("volumes.get (re-read of a row)", "volmgr_common/db/volumes.py", "get"),
    ("volume_ownership.claim_flow", "volmgr_common/db/volume_ownership.py", "claim_flow"),
    ("volume_transitions.finish_manage", "volmgr_common/db/volume_transitions.py", "finish_manage"),
    (
        "volume_transitions.commit_gigabytes",
        "volmgr_common/db/volume_transitions.py",
        "commit_gigabytes",
    ),
    ("volume_transitions.update_if", "volmgr_common/db/volume_transitions.py", "update_if"),
    ("volume_ownership.place", "volmgr_common/db/volume_ownership.py", "place"),
    ("volume_creation.create_managing", "volmgr_common/db/volume_creation.py", "create_managing"),
    ("reservations.reserve", "volmgr_common/db/reservations.py", "reserve"),
    ("services.get_by_host (service row)", "volmgr_common/db/services.py", "get_by_host"),
    ("volume type get_or_create", "volmgr_common/db/volume_types.py", "get_or_create"),
    ("notifications.notify (publish)", "volmgr_common/notifications.py", "notify"),
    ("RPC cast/call (publish + confirm)", "oslo_messaging/rpc/client.py", "cast"),
    ("RPC call (client side)", "oslo_messaging/rpc/client.py", "call"),
    ("rabbit publish (kombu producer)", "oslo_messaging/_drivers/impl_rabbit.py", "_publish"),
    ("reply to a call", "oslo_messaging/_drivers/amqpdriver.py", "reply"),
    ("message receive (amqp drain/consume)", "oslo_messaging/_drivers/impl_rabbit.py", "consume"),
    ("context from_dict (deserialize)", "volmgr_common/rpc.py", "deserialize_context"),
    ("context to_dict (serialize)", "volmgr_common/rpc.py", "serialize_context"),
    ("logging: Logger._log", "logging/__init__.py", "_log"),
    ("logging: handlers emit", "logging/__init__.py", "handle"),
    ("fake driver manage", "volmgr_volume/drivers/fake.py", "manage"),
    ("scheduler choose_pool", "volmgr_scheduler/manager.py", "choose_pool"),
    ("API request validation task", "volmgr_api/flows/manage_existing.py", "execute"),
    ("SQLAlchemy connection pool checkout", "sqlalchemy/pool/base.py", "_checkout"),
    ("SQLAlchemy ORM flush", "sqlalchemy/orm/session.py", "flush"),
    ("SQLAlchemy statement compile", "sqlalchemy/sql/elements.py", "_compile_w_cache"),
    ("heartbeat/periodic tasks", "volmgr_common/service.py", "_run_once"),
]


def analyze_pstat(path: Path, top: int = 15) -> dict[str, Any]:
    """CPU time of a yappi profile: by library (self time) and for the hot spots (inclusive)."""
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values()) or 1e-9
    categories: collections.Counter[str] = collections.Counter()
    selfs: collections.Counter[str] = collections.Counter()
    hot: dict[str, float] = {}
    for (filename, line, function), (_cc, _nc, tt, ct, _callers) in stats.items():
        where = f"{filename}:{function}"
        category = next(
            (name for name, needles in PSTAT_CATEGORIES if any(n in where for n in needles)),
            "other",
        )
        categories[category] += tt
        short = filename.split("site-packages/")[-1].split(f"{PROJECT_ROOT}/")[-1]
        selfs[f"{function} ({short}:{line})"] += tt
        for label, needle, name in PSTAT_HOT_SPOTS:
            if needle in filename and function.rpartition(".")[2] == name:
                hot[label] = max(hot.get(label, 0.0), ct)

    def pct(values: dict[str, float]) -> dict[str, float]:
        ordered = sorted(values.items(), key=lambda kv: -kv[1])
        return {k: round(100 * v / total, 1) for k, v in ordered}

    return {
        "cpu_seconds": round(total, 2),
        "categories": pct(categories),
        "hot_spots": pct(hot),
        "self_functions": pct(dict(selfs.most_common(top))),
    }


def print_analysis(name: str, result: dict[str, Any]) -> None:
    if "cpu_seconds" in result:
        print(f"\n== {name}: {result['cpu_seconds']} CPU seconds (yappi, every thread)")
        sections = [
            ("by library (self time)", "categories"),
            ("hot spots (inclusive)", "hot_spots"),
            ("heaviest functions (self time)", "self_functions"),
        ]
    elif "steps" in result:
        print(f"\n== {name}: {result['samples']} samples (py-spy, wall clock of one thread)")
        sections = [("steps", "steps"), ("leaf functions (doing or waiting in)", "leaf_functions")]
    else:
        print(f"\n== {name}: {result['samples']} samples (py-spy)")
        sections = [
            ("category (each sample once)", "categories"),
            ("hot spots (inclusive)", "hot_spots"),
            ("volmgr functions (inclusive)", "volmgr_functions"),
            ("leaf functions (self)", "leaf_functions"),
        ]
    for title, key in sections:
        print(f"  {title}:")
        for label, share in result[key].items():
            if share >= 0.5:
                print(f"    {share:5.1f}%  {label}")


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.profile FILE...``: analyze raw py-spy files and yappi .pstat files."""
    for arg in argv if argv is not None else sys.argv[1:]:
        path = Path(arg)
        print_analysis(arg, analyze_pstat(path) if path.suffix == ".pstat" else analyze(path))


if __name__ == "__main__":
    main()
