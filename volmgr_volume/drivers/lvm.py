"""LVM driver: manages the logical volumes of one volume group as volumes.

A reference ``{"source-name": "<LV name>"}`` or ``{"source-id": "<LV uuid>"}`` names
a logical volume of ``[lvm_backend] volume_group``. Managing it renames it with
``lvrename`` to the volume's managed name (``[volume] volume_name_template``);
undoing renames it back. No data is ever copied, written or removed.

Before the rename, ``manage`` tags the LV ``volmgr-origin:<volume id>:<original
name>``: the tag tells ``undo_manage`` the name to restore (a ``source-id``
reference does not carry it) and proves, when a resumed flow finds the managed name
already taken, that it holds this reference's LV. ``undo_manage`` renames back first
and drops the tag last, so a crash at any point leaves a state that a repeated call
completes. ``unmanage`` changes nothing: the LV keeps its managed name and its tag.

Refused with ManageExistingInvalidReference: a missing volume group or LV; names
outside ``^[A-Za-z0-9+_.-]{1,127}$``, starting with ``-``, ``.``/``..`` or LVM's
reserved names and suffixes; names in managed form; snapshots (classic and thin)
and the *origins* of snapshots (the snapshot would stay unmanaged yet keep
depending on the volume, and a classic snapshot fills as the volume is written);
thin pools, pool data/metadata, mirror logs and images, pvmove and other internal
or virtual LVs; LVs with missing PVs; LVs that are open (6th ``lv_attr`` character
``o``). With ``activation = 0`` LVM reports the open state as unknown (``X``), which
is accepted.

Every command is an argument list run through ``processutils.execute`` (never a
shell) behind ``[lvm_backend] root_helper``, as ``env LC_ALL=C LVM_SYSTEM_DIR=...
lvs ...`` so the variables survive ``sudo``, and is ended after ``[lvm_backend]
command_timeout`` seconds. Reports are read as JSON. Checks and
renames of one VG run under an in-process lock, and under a file lock in
``[lvm_backend] shared_lock_path`` when set (the members of a cluster on one shared
VG); another process racing for the same LV makes ``lvrename`` fail, which is
reported as a clear invalid reference.

An LV's identity is its uuid. ``lvrename`` takes names, so another process could
rename LVs between the checks and the rename: after each rename the driver reads
the VG again and, unless the LV under the new name has the uuid that was checked,
renames it back at once and fails the request; ``undo_manage`` moves only the LV
whose uuid the volume recorded.
"""

import dataclasses
import json
import re
import shlex
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from oslo_concurrency import lockutils, processutils
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import exception
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers.base import (
    SOURCE_NAME,
    VolumeDriver,
    check_page_parameters,
    gib_floor,
    manageable_entry,
    managed_name_pattern,
    paginate,
    size_in_gib,
)

LOG = logging.getLogger(__name__)

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
    if name in (".", "..") or name in RESERVED_NAMES:
        return f"{name!r} is reserved by LVM"
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


def kind_problem(lv: LogicalVolume, origins: set[str]) -> str | None:
    """Why the kind or state of ``lv`` forbids managing it (None if it may be managed)."""
    kind = lv.attr[0]
    if kind not in MANAGEABLE_KINDS:
        return f"the LV is {KIND_NAMES.get(kind, f'of unsupported type {kind!r}')}"
    if lv.origin:
        return f"the LV is a snapshot of {lv.origin}"
    if lv.name in origins:
        return "the LV is the origin of a snapshot; remove or merge the snapshot first"
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


def _by_name(lvs: Sequence[LogicalVolume], name: str) -> LogicalVolume | None:
    return next((lv for lv in lvs if lv.name == name), None)


def _by_uuid(lvs: Sequence[LogicalVolume], uuid: str) -> LogicalVolume | None:
    return next((lv for lv in lvs if lv.uuid == uuid), None)


def _invalid(reference: Any, reason: str) -> NoReturn:
    raise exception.ManageExistingInvalidReference(ref=reference, reason=reason)


def _driver_error(reason: str) -> NoReturn:
    raise exception.VolumeDriverException(reason=reason)


class LvmDriver(VolumeDriver):
    """Manages the logical volumes of ``[lvm_backend] volume_group`` by renaming them."""

    vendor_name = "volmgr"
    driver_version = "1.0"
    storage_protocol = "lvm"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        options = conf.lvm_backend
        self.vg: str = options.volume_group
        self.shared_lock_path: str = options.shared_lock_path
        self.pool_name: str = options.pool_name or self.vg
        self.commands = LvmCommands(
            options.root_helper, options.lvm_conf_dir, options.command_timeout
        )
        self._managed_re = managed_name_pattern(conf.volume.volume_name_template)

    # -- setup and helpers ---------------------------------------------------------------

    def do_setup(self) -> None:
        """Check the managed names and that the volume group exists and answers."""
        sample = self.managed_name("00000000-0000-0000-0000-000000000000")
        problem = lv_name_problem(sample)
        if problem or not self.is_managed_form(sample):
            _driver_error(f"bad volume_name_template for LVM: {problem or 'use exactly one %s'}")
        try:
            vg = self.commands.vgs(self.vg)
        except LvmCommandError as error:
            _driver_error(f"volume group {self.vg} is not usable: {error}")
        LOG.info("LVM driver manages the LVs of %s (%s bytes)", self.vg, vg.get("vg_size"))

    def is_managed_form(self, name: str) -> bool:
        return self._managed_re.fullmatch(name) is not None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The VG's rename lock: in this process, and in the shared lock path if set."""
        name = f"volmgr-lvm-driver-{self.vg}"
        if self.shared_lock_path:
            lock = lockutils.lock(name, external=True, lock_path=self.shared_lock_path)
        else:
            lock = lockutils.lock(name)
        with lock:
            yield

    def _lvs(self, reference: Any = None) -> list[LogicalVolume]:
        """The VG's LVs; a missing VG is an invalid reference when one is given."""
        try:
            return self.commands.lvs(self.vg)
        except LvmCommandError as error:
            if error.vg_missing and reference is not None:
                _invalid(reference, f"volume group {self.vg} does not exist")
            _driver_error(str(error))

    def _reference(self, reference: Any) -> tuple[str, str]:
        """``(key, value)`` of a valid reference, or ManageExistingInvalidReference."""
        if not isinstance(reference, Mapping) or len(reference) != 1:
            _invalid(reference, "the reference must be a dict with 'source-name' or 'source-id'")
        key, value = next(iter(reference.items()))
        if key not in (SOURCE_NAME, SOURCE_ID):
            _invalid(reference, f"unexpected key {key!r}; use 'source-name' or 'source-id'")
        if not isinstance(value, str):
            _invalid(reference, f"{key!r} must be a string, not {type(value).__name__}")
        if key == SOURCE_ID and not LV_UUID_RE.fullmatch(value):
            _invalid(reference, "'source-id' must be an LV uuid like 'xxxxxx-xxxx-…-xxxxxx'")
        problem = lv_name_problem(value) if key == SOURCE_NAME else None
        if problem:
            _invalid(reference, problem)
        if key == SOURCE_NAME and self.is_managed_form(value):
            _invalid(reference, "the name is already in managed form (volume_name_template)")
        return key, value

    def _target_name(self, volume: Mapping[str, Any]) -> str:
        name = self.managed_name(volume["id"])
        if lv_name_problem(name):
            _driver_error(f"managed name {name!r}: {lv_name_problem(name)}")
        return name

    def _locate(
        self, lvs: Sequence[LogicalVolume], ref: tuple[str, str], volume: Mapping[str, Any]
    ) -> LogicalVolume | None:
        """The referenced LV, or this volume's managed LV if it was renamed from it."""
        key, value = ref
        if key == SOURCE_ID:
            return _by_uuid(lvs, value)
        found = _by_name(lvs, value)
        if found is None:
            managed = _by_name(lvs, self._target_name(volume))
            if managed is not None and managed.origin_of(volume["id"]) == value:
                found = managed
        return found

    def _checked(
        self,
        lvs: Sequence[LogicalVolume],
        volume: Mapping[str, Any],
        reference: Any,
    ) -> LogicalVolume:
        """The referenced LV if it may be managed (or is already this volume's)."""
        ref = self._reference(reference)  # cheap; callers may have checked it already
        lv = self._locate(lvs, ref, volume)
        if lv is None:
            _invalid(reference, f"no logical volume {ref[1]!r} exists in {self.vg}")
        if lv.name == self._target_name(volume):
            return lv
        if self.is_managed_form(lv.name):
            _invalid(reference, f"the LV is already managed as {lv.name}")
        problem = lv_name_problem(lv.name) or kind_problem(lv, {x.origin for x in lvs})
        if problem:
            _invalid(reference, problem)
        return lv

    # -- the contract --------------------------------------------------------------------

    def get_size(self, volume: VolumeRecord, reference: dict[str, Any]) -> int:
        self._reference(reference)
        return size_in_gib(self._checked(self._lvs(reference), volume, reference).size)

    def get_identity(self, volume: VolumeRecord, reference: dict[str, Any]) -> str:
        self._reference(reference)
        return self._checked(self._lvs(reference), volume, reference).uuid

    def manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> str:
        self._reference(reference)
        target = self._target_name(volume)
        with self._locked():
            lvs = self._lvs(reference)
            lv = self._checked(lvs, volume, reference)
            if identity is not None and lv.uuid != identity:
                _invalid(reference, f"LV {lv.name} is {lv.uuid}, not the LV {identity} checked")
            if lv.name == target:
                LOG.info("Volume %s: LV %s is already managed as %s", volume["id"], lv.uuid, target)
                return target
            if _by_name(lvs, target) is not None:
                _driver_error(f"{target} already exists while {lv.name} is still there")
            self._rename_for_manage(volume, lv, target, reference)
            self._check_renamed(volume, lv, target, reference)
        LOG.info("Volume %s: renamed LV %s to %s", volume["id"], lv.name, target)
        return target

    def _check_renamed(
        self, volume: Mapping[str, Any], lv: LogicalVolume, new: str, reference: Any = None
    ) -> None:
        """After renaming ``lv`` to ``new``: unless ``new`` is that LV (its uuid), rename
        it back at once, drop the origin tag the manage gave it, and fail."""
        renamed = _by_name(self._lvs(), new)
        if renamed is not None and renamed.uuid == lv.uuid:
            return
        found = "nothing" if renamed is None else f"LV {renamed.uuid}"
        what = f"{lv.name} was replaced during its rename to {new}: found {found}, not {lv.uuid}"
        if renamed is not None:
            self._run(self.commands.rename, self.vg, new, lv.name)
            tag = origin_tag(volume["id"], lv.name)
            if tag in renamed.tags and reference is not None:
                self._run(self.commands.change_tags, self.vg, lv.name, delete=[tag])
        LOG.warning("Volume %s: %s; renamed it back", volume["id"], what)
        if reference is not None:
            _invalid(reference, f"{what}; the rename was undone")
        _driver_error(f"{what}; the rename was undone")

    def _rename_for_manage(
        self, volume: Mapping[str, Any], lv: LogicalVolume, target: str, reference: Any
    ) -> None:
        """Tag the LV with its original name, then rename it; races become clear errors."""
        try:
            if lv.origin_of(volume["id"]) != lv.name:
                self.commands.change_tags(self.vg, lv.name, add=[origin_tag(volume["id"], lv.name)])
            self.commands.rename(self.vg, lv.name, target)
        except LvmCommandError as error:
            if error.lv_missing:
                _invalid(
                    reference,
                    f"LV {lv.name} disappeared while being managed; another request "
                    "(a concurrent manage of the same LV?) renamed or removed it",
                )
            _driver_error(f"cannot rename {lv.name} to {target}: {error}")

    def undo_manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> None:
        ref = self._reference(reference)
        target = self._target_name(volume)
        identity = identity or volume.get("backend_identity")
        with self._locked():
            lvs = self._lvs()
            managed = _by_name(lvs, target)
            if managed is None:
                self._drop_tags(lvs, volume["id"])
                return
            if identity is not None and managed.uuid != identity:
                _driver_error(
                    f"{target} is LV {managed.uuid}, not the LV {identity} volume "
                    f"{volume['id']} recorded; leaving it where it is"
                )
            original = self._original_name(managed, volume["id"], ref)
            if _by_name(lvs, original) is not None:
                _driver_error(f"cannot put {target} back as {original}: that name is taken")
            self._run(self.commands.rename, self.vg, target, original)
            self._check_renamed(volume, managed, original)
            tag = origin_tag(volume["id"], original)
            self._run(self.commands.change_tags, self.vg, original, delete=[tag])
        LOG.info("Volume %s: renamed LV %s back to %s", volume["id"], target, original)

    def _original_name(self, lv: LogicalVolume, volume_id: str, ref: tuple[str, str]) -> str:
        """The name ``lv`` had before this volume's manage, checked against ``ref``."""
        key, value = ref
        original = lv.origin_of(volume_id)
        if original is None:
            _driver_error(f"{lv.name} carries no {TAG_PREFIX}{volume_id} tag; leaving it alone")
        if (key == SOURCE_ID and lv.uuid != value) or (key == SOURCE_NAME and original != value):
            _driver_error(f"{lv.name} holds LV {lv.uuid} ({original}), not {value}")
        return original

    def _drop_tags(self, lvs: Sequence[LogicalVolume], volume_id: str) -> None:
        """Remove this volume's origin tag wherever an interrupted manage left it."""
        for lv in lvs:
            original = lv.origin_of(volume_id)
            if original is not None:
                tag = origin_tag(volume_id, original)
                self._run(self.commands.change_tags, self.vg, lv.name, delete=[tag])
                LOG.info("Volume %s: removed tag %s from LV %s", volume_id, tag, lv.name)

    @staticmethod
    def _run(command: Any, *args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except LvmCommandError as error:
            _driver_error(str(error))

    def unmanage(self, volume: VolumeRecord) -> None:
        name = volume.get("provider_location") or self.managed_name(volume["id"])
        if _by_name(self._lvs(), name) is None:
            LOG.warning("Volume %s: LV %s is missing from %s", volume["id"], name, self.vg)
        else:
            LOG.info("Volume %s: unmanaged; LV %s stays in %s", volume["id"], name, self.vg)

    def list_manageable(self, managed: dict[str, str], page: PageRequest) -> list[dict[str, Any]]:
        check_page_parameters(page)
        lvs = self._lvs()
        origins = {lv.origin for lv in lvs if lv.origin}
        listed = paginate(lvs, lambda lv: lv.name, lambda lv: size_in_gib(lv.size), page)
        return [self._listing_entry(lv, origins, managed.get(lv.name)) for lv in listed]

    def _listing_entry(
        self, lv: LogicalVolume, origins: set[str], cinder_id: str | None
    ) -> dict[str, Any]:
        if cinder_id is not None:
            reason: str | None = "already managed"
        elif self.is_managed_form(lv.name):
            reason = "name is in managed form but no volume holds it; rename it to manage it"
        else:
            reason = lv_name_problem(lv.name) or kind_problem(lv, origins)
        extra = {"lv_uuid": lv.uuid, "lv_attr": lv.attr}
        return manageable_entry(lv.name, size_in_gib(lv.size), reason, cinder_id, extra)

    def get_capabilities(self) -> dict[str, Any]:
        try:
            vg = self.commands.vgs(self.vg)
        except LvmCommandError as error:
            _driver_error(str(error))
        allocated = sum(size_in_gib(lv.size) for lv in self._lvs() if self.is_managed_form(lv.name))
        pool = {
            "pool_name": self.pool_name,
            "total_capacity_gb": gib_floor(parse_bytes(vg["vg_size"])),
            "free_capacity_gb": gib_floor(parse_bytes(vg["vg_free"])),
            "allocated_capacity_gb": allocated,
            "reserved_percentage": 0,
            "thin_provisioning_support": False,
            "volume_group": self.vg,
        }
        return {
            "backend_name": self.backend_name,
            "vendor_name": self.vendor_name,
            "driver_version": self.driver_version,
            "storage_protocol": self.storage_protocol,
            "pools": [pool],
        }
