"""LVM's side of the LVM driver: names, reports, logical volumes and the command runner.

Every command is an argument list run through ``processutils.execute`` (never a
shell) behind ``[lvm_backend] root_helper``, as ``env LC_ALL=C LVM_SYSTEM_DIR=...
lvs ...`` so the variables survive ``sudo``, and is ended after ``[lvm_backend]
command_timeout`` seconds. Reports are read as JSON.
"""

import dataclasses
import json
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from oslo_concurrency import processutils

from volmgr_common import exception

SOURCE_ID = "source-id"
TAG_PREFIX = "volmgr-origin:"
LV_NAME_RE = re.compile(r"[A-Za-z0-9+_.-]{1,127}")
LV_UUID_RE = re.compile(r"[A-Za-z0-9]{6}(?:-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}")
RESERVED_NAMES = ("snapshot", "pvmove")
RESERVED_PARTS = (
    "_cdata", "_cmeta", "_corig", "_iorig", "_imeta", "_mimage", "_mlog", "_pmspare",
    "_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig",
)  # fmt: skip
LV_FIELDS = ("lv_name", "lv_uuid", "lv_size", "lv_attr", "lv_tags", "origin", "lv_role")
VG_FIELDS = ("vg_name", "vg_uuid", "vg_size", "vg_free")
ORIGIN_PROBLEM = (
    "the LV is the origin of a snapshot; adopt it with its snapshots (with_snapshots) "
    "or remove or merge the snapshot first"
)
# First lv_attr character: the kinds of LV that may be managed.
MANAGEABLE_KINDS = frozenset("-VmMrRCw")
KIND_NAMES = {
    "s": "a snapshot",
    "S": "a merging snapshot",
    "o": "the origin of a snapshot",
    "O": "the origin of a merging snapshot",
    "t": "a thin pool",
    "T": "thin pool data",
    "e": "RAID or pool metadata",
    "i": "a mirror or RAID image",
    "I": "a mirror or RAID image out of sync",
    "l": "a mirror log",
    "p": "a pvmove",
    "v": "a virtual volume",
    "c": "an LV under conversion",
    "d": "a VDO pool",
    "D": "VDO pool data",
}


class LvmCommandError(Exception):
    """An LVM command failed; ``stderr`` says why."""

    def __init__(self, command: str, exit_code: int | str | None, stderr: str) -> None:
        self.command, self.exit_code, self.stderr = command, exit_code, stderr.strip()
        super().__init__(f"{command} failed (exit {exit_code}): {self.stderr}")

    @property
    def vg_missing(self) -> bool:
        return 'Volume group "' in self.stderr and "not found" in self.stderr

    @property
    def lv_missing(self) -> bool:
        text = self.stderr.lower()
        return "logical volume" in text and ("not found" in text or "failed to find" in text)


def lv_name_problem(name: str) -> str | None:
    """Why ``name`` is not a plain LV name that LVM accepts (None if it is)."""
    if not LV_NAME_RE.fullmatch(name):
        return "an LV name has 1 to 127 characters among A-Z a-z 0-9 + _ . -"
    if name.startswith("-"):
        return "an LV name must not start with '-'"
    if name in (".", ".."):
        return f"{name!r} is reserved by LVM"
    prefix = next((prefix for prefix in RESERVED_NAMES if name.startswith(prefix)), None)
    if prefix:
        return f"names starting with {prefix!r} are reserved by LVM"
    reserved = next((part for part in RESERVED_PARTS if part in name), None)
    if reserved:
        return f"names containing {reserved!r} are reserved for LVM's internal volumes"
    return None


def parse_report(output: str, section: str) -> list[dict[str, str]]:
    """Rows of section ``lv``/``vg`` of ``--reportformat json`` output.

    Text around the JSON document (warnings on stdout) is ignored; anything that is
    not a report of string fields raises VolumeDriverException.
    """
    start = output.find("{")
    try:
        document, _ = json.JSONDecoder().raw_decode(output, max(start, 0))
        rows = [row for report in document["report"] for row in report.get(section, [])]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise exception.VolumeDriverException(
            reason=f"cannot parse the LVM {section} report: {error}: {output[:200]!r}"
        ) from error
    for row in rows:
        if not isinstance(row, dict) or not all(isinstance(v, str) for v in row.values()):
            raise exception.VolumeDriverException(reason=f"malformed LVM {section} row {row!r}")
    return rows


def parse_bytes(text: str) -> int:
    """A size printed with ``--units b --nosuffix`` (a trailing ``B`` is tolerated)."""
    digits = text.strip().removesuffix("B").removesuffix("b")
    if not digits.isdigit():
        raise exception.VolumeDriverException(reason=f"unexpected LVM size {text!r}")
    return int(digits)


@dataclasses.dataclass(frozen=True)
class LogicalVolume:
    """One row of ``lvs``."""

    name: str
    uuid: str
    size: int
    attr: str
    tags: tuple[str, ...]
    origin: str
    role: str

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> "LogicalVolume":
        missing = [field for field in LV_FIELDS if field not in row]
        if missing:
            raise exception.VolumeDriverException(reason=f"lvs row lacks {missing}: {row!r}")
        return cls(
            name=row["lv_name"],
            uuid=row["lv_uuid"],
            size=parse_bytes(row["lv_size"]),
            attr=row["lv_attr"].ljust(10, "-"),
            tags=tuple(tag for tag in row["lv_tags"].split(",") if tag),
            origin=row["origin"],
            role=row["lv_role"],
        )

    @property
    def is_open(self) -> bool:
        return self.attr[5] == "o"

    def origin_of(self, volume_id: str) -> str | None:
        """The original name recorded by the manage of ``volume_id``, if any."""
        prefix = f"{TAG_PREFIX}{volume_id}:"
        return next((t.removeprefix(prefix) for t in self.tags if t.startswith(prefix)), None)


def origin_tag(volume_id: str, name: str) -> str:
    return f"{TAG_PREFIX}{volume_id}:{name}"


def kind_problem(
    lv: LogicalVolume, origins: set[str], managed_form: Callable[[str], bool] = lambda _: False
) -> str | None:
    """Why the kind or state of ``lv`` forbids managing it (None if it may be managed);
    ``managed_form`` tells the names of managed volumes (a snapshot of one is managed
    as its snapshot, not as a member of a chain to adopt)."""
    kind = lv.attr[0]
    if kind == "s" and lv.origin and managed_form(lv.origin):
        return (
            f"the LV is a snapshot of the managed volume {lv.origin}; manage it as a "
            "snapshot of that volume"
        )
    if kind == "s" and lv.origin:
        return (
            f"the LV is a snapshot of {lv.origin}: a member of the chain of {lv.origin}, "
            "adopted with it (with_snapshots)"
        )
    if kind not in MANAGEABLE_KINDS:
        return f"the LV is {KIND_NAMES.get(kind, f'of unsupported type {kind!r}')}"
    if lv.origin:
        return f"the LV is a snapshot of {lv.origin}"
    if lv.name in origins:
        return ORIGIN_PROBLEM
    return state_problem(lv)


def state_problem(lv: LogicalVolume) -> str | None:
    """Why the state of ``lv`` forbids managing it, whatever its kind (None if none):
    internal to LVM, partial, or open."""
    if "private" in lv.role.split(","):
        return "the LV is internal to LVM"
    if lv.attr[8] == "p":
        return "the LV is partial: some of its physical volumes are missing"
    if lv.is_open:
        return "the LV is open (in use); close it before managing it"
    return None


class LvmCommands:
    """Runs LVM commands as argument lists, with the root helper and lvm.conf dir."""

    def __init__(self, root_helper: str, conf_dir: str, timeout: int) -> None:
        self._prefix = [*shlex.split(root_helper), "env", "LC_ALL=C"]
        self._prefix.append("LVM_SUPPRESS_FD_WARNINGS=1")
        if conf_dir:
            self._prefix.append(f"LVM_SYSTEM_DIR={conf_dir}")
        self._timeout = timeout

    def run(self, *args: str) -> str:
        """stdout of the command; LvmCommandError if it fails, hangs or cannot start."""
        started: list[subprocess.Popen[Any]] = []
        try:
            stdout, _ = processutils.execute(
                *self._prefix, *args, timeout=self._timeout, on_execute=started.append
            )
        except subprocess.TimeoutExpired as error:
            _stop(started)
            raise LvmCommandError(args[0], None, f"timed out after {self._timeout} s") from error
        except processutils.ProcessExecutionError as error:
            stderr = error.stderr or ""
            if error.exit_code == 127:
                stderr = f"{args[0]} not found: install lvm2 ({stderr.strip()})"
            raise LvmCommandError(args[0], error.exit_code, stderr) from error
        except OSError as error:
            raise LvmCommandError(args[0], None, str(error)) from error
        return str(stdout)

    def lvs(self, vg: str) -> list[LogicalVolume]:
        output = self.run(*_report_args("lvs", LV_FIELDS), vg)
        return [LogicalVolume.from_row(row) for row in parse_report(output, "lv")]

    def vgs(self, vg: str) -> dict[str, str]:
        rows = parse_report(self.run(*_report_args("vgs", VG_FIELDS), vg), "vg")
        if len(rows) != 1:
            raise LvmCommandError("vgs", None, f'Volume group "{vg}" not found')
        return rows[0]

    def rename(self, vg: str, old: str, new: str) -> None:
        self.run("lvrename", "--yes", vg, old, new)

    def change_tags(
        self, vg: str, lv: str, add: Sequence[str] = (), delete: Sequence[str] = ()
    ) -> None:
        options = [o for tag in add for o in ("--addtag", tag)]
        options += [o for tag in delete for o in ("--deltag", tag)]
        self.run("lvchange", *options, f"{vg}/{lv}")


def _stop(processes: Sequence[subprocess.Popen[Any]]) -> None:
    """End commands that timed out (processutils leaves them running)."""
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _report_args(command: str, fields: Sequence[str]) -> list[str]:
    fields_arg = ",".join(fields)
    return [command, "--reportformat", "json", "--units", "b", "--nosuffix", "-o", fields_arg]


def by_name(lvs: Sequence[LogicalVolume], name: str) -> LogicalVolume | None:
    return next((lv for lv in lvs if lv.name == name), None)


def by_uuid(lvs: Sequence[LogicalVolume], uuid: str) -> LogicalVolume | None:
    return next((lv for lv in lvs if lv.uuid == uuid), None)


def locate(
    lvs: Sequence[LogicalVolume], ref: tuple[str, str], owner: Mapping[str, Any], managed: str
) -> LogicalVolume | None:
    """The LV a reference names, or the LV under ``managed`` (the managed name of the
    volume or snapshot ``owner``) if it was renamed from it: its origin tag names the
    reference, or it is the LV the owner recorded."""
    key, value = ref
    if key == SOURCE_ID:
        return by_uuid(lvs, value)
    found = by_name(lvs, value)
    if found is None:
        renamed = by_name(lvs, managed)
        recorded = owner.get("backend_identity")
        if renamed is not None and (
            renamed.origin_of(owner["id"]) == value
            or (recorded is not None and renamed.uuid == recorded)
        ):
            found = renamed
    return found
