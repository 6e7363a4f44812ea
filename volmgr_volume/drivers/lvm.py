"""LVM driver: manages the logical volumes of one volume group as volumes.

A reference ``{"source-name": "<LV name>"}`` or ``{"source-id": "<LV uuid>"}`` names
a logical volume of ``[lvm_backend] volume_group``. Managing it renames it with
``lvrename`` to the volume's managed name (``[volume] volume_name_template``);
undoing renames it back. No data is ever copied, written or removed.

One metadata commit per manage: the rename. The LV's identity (its uuid) is in the
database before the rename (RecordIdentity), so a resumed flow that finds the
managed name taken knows the LV by its uuid, and ``undo_manage`` moves only that
LV back to the reference's name. Only a ``source-id`` reference, which does not
carry the original name, costs a second commit: the LV is first tagged
``volmgr-origin:<volume id>:<original name>`` so that ``undo_manage`` knows the name
to restore. ``undo_manage`` renames back first and drops a tag last, so a crash at
any point leaves a state that a repeated call completes. ``unmanage`` changes
nothing: the LV keeps its managed name (and a tag it has).

Refused with ManageExistingInvalidReference: a missing volume group or LV; names
outside ``^[A-Za-z0-9+_.-]{1,127}$``, starting with ``-``, ``.``/``..`` or LVM's
reserved names and suffixes; names in managed form; snapshots (classic and thin)
and the *origins* of snapshots (the snapshot would stay unmanaged yet keep
depending on the volume, and a classic snapshot fills as the volume is written);
thin pools, pool data/metadata, mirror logs and images, pvmove and other internal
or virtual LVs; LVs with missing PVs; LVs that are open (6th ``lv_attr`` character
``o``). With ``activation = 0`` LVM reports the open state as unknown (``X``), which
is accepted.

Audit. One ``lvs`` report per audit: each volume's LV is looked up by its managed
name and, when not there, by its uuid (renamed). Only a volume managed by
``source-id`` carries an ownership mark (its origin tag), so only those are
checked for it.

Reads. Every ``lvs`` the driver runs is kept as the VG's latest report. The checks
of ``get_size``, ``get_identity`` and ``manage`` use a report at most ``[lvm_backend]
report_max_age`` seconds old, so that a batch of requests (and requests close in
time) share one read; a refusal is only ever given after a fresh read. A batch's
renames (``manage_many``) are followed by ONE fresh read that checks every renamed
LV again, as the rename left it: the uuid that was checked, and still a kind and
state that may be managed. An LV that fails it is renamed back at once and its
request fails. ``lvrename`` takes names, so another process could swap LVs between
a check and a rename; that read is what makes the identity hold at the rename.
No lock is held across reads; renames, put-backs and the read that checks them run
under an in-process lock per VG (and a file lock in ``[lvm_backend]
shared_lock_path`` when set: the members of a cluster on one shared VG), and LVM's
own VG lock orders them against other processes. Another process racing for the
same LV makes ``lvrename`` fail, which is reported as a clear invalid reference.

Orphans: ``list_managed_objects`` lists the LVs in managed form and those carrying
a ``volmgr-origin:`` tag, from one ``lvs``. LVM records no project on an LV (a
project tag would cost a second metadata commit per manage), so re-adopting an LV
needs the project from the admin. A reference naming the volume's own managed name
re-adopts the LV where it stands: no rename, no tag, nothing to put back.
"""

import dataclasses
import re
import threading
import time
from collections.abc import Container, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from oslo_concurrency import lockutils, processutils  # noqa: F401 - tests patch execute
from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import drift, exception
from volmgr_common.db.snapshot_record import SnapshotRecord
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers.base import (
    RELEASED_TAG,
    SOURCE_NAME,
    BackendAudit,
    BackendObject,
    ChainsByAdopter,
    ManageCall,
    ManagedNames,
    ManagedObject,
    VolumeDriver,
    check_page_parameters,
    fingerprint,
    gib_floor,
    manage_attempt,
    manageable_entry,
    managed_name_pattern,
    paginate,
    release_time,
    size_in_gib,
    volume_id_in,
)
from volmgr_volume.drivers.file import SNAPSHOT_FORM
from volmgr_volume.drivers.lvm_chain import LvmChains
from volmgr_volume.drivers.lvm_commands import (  # noqa: F401 - the driver's vocabulary
    LV_FIELDS,
    LV_UUID_RE,
    SOURCE_ID,
    TAG_PREFIX,
    LogicalVolume,
    LvmCommandError,
    LvmCommands,
    by_name,
    by_uuid,
    kind_problem,
    locate,
    lv_name_problem,
    origin_tag,
    parse_bytes,
    parse_report,
)
from volmgr_volume.drivers.lvm_snapshots import LvmSnapshots

LOG = logging.getLogger(__name__)
RELEASED_PREFIX = f"{RELEASED_TAG}="
"""How the tag an unmanage puts on an LV begins (then the UTC time)."""
ASIDE_PREFIX = "volmgr-released-before="
"""How the tag begins that keeps an LV's release time while a manage takes it back
(then ``<manage attempt>=<time>``): a revert of that manage tags it released again."""


def _invalid(reference: Any, reason: str) -> NoReturn:
    raise exception.ManageExistingInvalidReference(ref=reference, reason=reason)


def _driver_error(reason: str) -> NoReturn:
    raise exception.VolumeDriverException(reason=reason)


class LvmAudit(BackendAudit):
    """One ``lvs`` report of the driver's VG: its LVs by name and by uuid."""

    def __init__(self, lvs: Sequence[LogicalVolume], managed_re: re.Pattern[str]) -> None:
        self._lvs = lvs
        self._managed_re = managed_re
        self._by_name = {lv.name: lv for lv in lvs}
        self._by_uuid = {lv.uuid: lv for lv in lvs}

    def managed_objects(self, known_ids: Container[str] = ()) -> Iterator[ManagedObject]:
        """The LVs named in managed form or carrying a ``volmgr-origin:`` tag.

        The volume id is the one the name carries, else the one a tag records; the
        original name is what the volume's origin tag records (only ``source-id``
        manages tag an LV). LVM records no project: re-adopting an LV needs the
        project from the admin.
        """
        for lv in self._lvs:
            origins = tuple(tag for tag in lv.tags if tag.startswith(TAG_PREFIX))
            released = tuple(tag for tag in lv.tags if tag.startswith(RELEASED_PREFIX))
            marks = origins + released
            volume_id = volume_id_in(self._managed_re, lv.name)
            if volume_id is None and origins:
                volume_id = origins[0].removeprefix(TAG_PREFIX).partition(":")[0]
            if volume_id is None or volume_id in known_ids:
                continue
            yield ManagedObject(
                name=lv.name,
                volume_id=volume_id,
                identity=lv.uuid,
                size_bytes=lv.size,
                original_name=lv.origin_of(volume_id),
                marks=marks,
            )

    def check(self, volume: drift.AuditedVolume) -> drift.Drift | None:
        lv = self._by_name.get(volume.managed_name)
        holder = None if lv is None else lv.uuid
        if lv is not None and volume.identity in (None, lv.uuid):
            return drift.size_drift(volume, lv.size) or self._mark_drift(volume, lv)
        moved = None if volume.identity is None else self._by_uuid.get(volume.identity)
        if moved is not None and moved.name != volume.managed_name:
            return drift.renamed(volume, moved.name, holder)
        return drift.gone(volume, holder)

    @staticmethod
    def _mark_drift(volume: drift.AuditedVolume, lv: LogicalVolume) -> drift.Drift | None:
        """``mark_missing`` when a volume managed by ``source-id`` lost its origin tag."""
        if SOURCE_ID not in volume.reference or lv.origin_of(volume.id) is not None:
            return None
        tag = origin_tag(volume.id, volume.original_name or "<original name>")
        return drift.Drift(drift.MARK_MISSING, {"tag": tag}, {"tags": list(lv.tags)})


class LvmDriver(ChainsByAdopter, VolumeDriver):
    """Manages the logical volumes of ``[lvm_backend] volume_group`` by renaming them."""

    vendor_name = "volmgr"
    driver_version = "1.0"
    storage_protocol = "lvm"
    chains: LvmChains

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        options = conf.lvm_backend
        self.vg: str = options.volume_group
        self.shared_lock_path: str = options.shared_lock_path
        self.pool_name: str = options.pool_name or self.vg
        self.commands = LvmCommands(
            options.root_helper, options.lvm_conf_dir, options.command_timeout
        )
        self.report_max_age: float = options.report_max_age
        self._managed_re = managed_name_pattern(conf.volume.volume_name_template)
        self._report_lock = threading.Lock()
        self._report: tuple[float, list[LogicalVolume]] | None = None
        self.chains = LvmChains(self)
        self._snapshots = LvmSnapshots(self)

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

    def is_managed_snapshot_form(self, name: str) -> bool:
        """Also under the ``_`` that a name starting with ``snapshot`` gets here."""
        return super().is_managed_snapshot_form(name.removeprefix("_"))

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
        """The VG's LVs, read now (and kept as the latest report); a missing VG is an
        invalid reference when one is given."""
        started = time.monotonic()
        try:
            lvs = self.commands.lvs(self.vg)
        except LvmCommandError as error:
            if error.vg_missing and reference is not None:
                _invalid(reference, f"volume group {self.vg} does not exist")
            _driver_error(str(error))
        with self._report_lock:
            if self._report is None or self._report[0] <= started:
                self._report = (started, lvs)
        return lvs

    def _recent_lvs(self, reference: Any = None) -> tuple[list[LogicalVolume], bool]:
        """The latest report if it is young enough, else a fresh one; and whether it was kept."""
        with self._report_lock:
            report = self._report
        if report is not None and time.monotonic() - report[0] <= self.report_max_age:
            return report[1], True
        return self._lvs(reference), False

    def _reference(
        self, reference: Any, volume: Mapping[str, Any] | None = None
    ) -> tuple[str, str]:
        """``(key, value)`` of a valid reference, or ManageExistingInvalidReference.

        A name in managed form is refused unless it is ``volume``'s own (a re-adoption).
        """
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
        own = volume is not None and value == self.managed_name(volume["id"])
        if key == SOURCE_NAME and self.is_managed_form(value) and not own:
            _invalid(reference, "the name is already in managed form (volume_name_template)")
        return key, value

    def _target_name(self, volume: Mapping[str, Any]) -> str:
        name = self.managed_name(volume["id"])
        if lv_name_problem(name):
            _driver_error(f"managed name {name!r}: {lv_name_problem(name)}")
        return name

    def _checked(
        self,
        lvs: Sequence[LogicalVolume],
        volume: Mapping[str, Any],
        reference: Any,
        identity: str | None = None,
    ) -> LogicalVolume:
        """The referenced LV if it may be managed (or is already this volume's) and, with
        ``identity``, is that LV."""
        ref = self._reference(reference, volume)  # cheap; callers may have checked it already
        lv = locate(lvs, ref, volume, self._target_name(volume))
        if lv is None:
            _invalid(reference, f"no logical volume {ref[1]!r} exists in {self.vg}")
        if identity is not None and lv.uuid != identity:
            _invalid(reference, f"LV {lv.name} is {lv.uuid}, not the LV {identity} checked")
        if lv.name == self._target_name(volume) and not self.is_readoption(volume, reference):
            return lv  # a resumed flow: this volume's manage renamed it already
        if self.is_managed_form(lv.name) and not self.is_readoption(volume, reference):
            _invalid(reference, f"the LV is already managed as {lv.name}")
        problem = lv_name_problem(lv.name) or kind_problem(lv, {x.origin for x in lvs})
        if problem:
            _invalid(reference, problem)
        return lv

    def _checked_recently(
        self, volume: Mapping[str, Any], reference: Any, identity: str | None = None
    ) -> LogicalVolume:
        """:meth:`_checked` on a recent report; what it refuses is checked again on a fresh one."""
        lvs, kept = self._recent_lvs(reference)
        if kept:
            try:
                return self._checked(lvs, volume, reference, identity)
            except exception.ManageExistingInvalidReference:
                lvs = self._lvs(reference)
        return self._checked(lvs, volume, reference, identity)

    # -- the contract --------------------------------------------------------------------

    def get_size(self, volume: VolumeRecord, reference: dict[str, Any]) -> int:
        self._reference(reference, volume)
        return size_in_gib(self._checked_recently(volume, reference).size)

    def get_identity(self, volume: VolumeRecord, reference: dict[str, Any]) -> str:
        self._reference(reference, volume)
        return self._checked_recently(volume, reference).uuid

    def describe(self, volume: VolumeRecord, reference: dict[str, Any]) -> BackendObject:
        """The LV's uuid, its name before the rename and its size in bytes."""
        key, value = self._reference(reference, volume)
        lv = self._checked_recently(volume, reference)
        if key == SOURCE_NAME:
            name: str | None = value
        else:
            # A resumed flow by uuid finds the LV already renamed: its old name is gone.
            name = None if lv.name == self.managed_name(volume["id"]) else lv.name
        return BackendObject(lv.uuid, name, lv.size)

    def manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> str:
        (result,) = self.manage_many([(volume, reference, identity)])
        if isinstance(result, Exception):
            raise result
        return result

    def manage_many(self, calls: Sequence[ManageCall]) -> list[str | Exception]:
        """Check each LV on a recent report, rename each, then check all on one fresh read."""
        results: list[str | Exception] = [
            exception.VolumeDriverException(reason="not managed") for _ in calls
        ]
        checked: dict[int, LogicalVolume] = {}
        for position, (volume, reference, identity) in enumerate(calls):
            try:
                checked[position] = self._checked_for_rename(volume, reference, identity)
            except exception.VolmgrException as error:
                results[position] = error
        if not checked:
            return results
        with self._locked():
            renamed: dict[int, LogicalVolume] = {}
            for position, lv in checked.items():
                volume, reference, _ = calls[position]
                try:
                    renamed[position] = self._rename_for_manage(volume, lv, reference)
                except exception.VolmgrException as error:
                    results[position] = error
            if renamed:
                after = self._lvs()
                for position, lv in renamed.items():
                    volume, reference, _ = calls[position]
                    try:
                        results[position] = self._check_managed(after, volume, lv, reference)
                    except exception.VolmgrException as error:
                        results[position] = error
        return results

    def _checked_for_rename(
        self, volume: Mapping[str, Any], reference: Any, identity: str | None
    ) -> LogicalVolume:
        """The LV to rename, checked on a recent report (a refusal on a fresh one): the
        reference's LV, with ``identity``, and its managed name free or its own."""
        self._reference(reference, volume)
        target = self._target_name(volume)
        lvs, kept = self._recent_lvs(reference)
        while True:
            try:
                lv = self._checked(lvs, volume, reference, identity)
                holder = by_name(lvs, target)
                if holder is not None and holder.uuid != lv.uuid:
                    _driver_error(f"{target} already exists while {lv.name} is still there")
                return lv
            except exception.VolmgrException:
                if not kept:
                    raise
            lvs, kept = self._lvs(reference), False

    def _rename_for_manage(
        self, volume: Mapping[str, Any], lv: LogicalVolume, reference: Any
    ) -> LogicalVolume:
        """Rename ``lv`` to its managed name (dropping a release tag, tagging it first for
        a ``source-id`` reference); the LV as checked. When the rename fails, a fresh read decides:
        the LV already under the managed name (a resumed flow), or a clear error."""
        target = self._target_name(volume)
        self._take_back(volume, lv)
        if lv.name == target:
            return lv
        try:
            key, _ = self._reference(reference, volume)
            if key == SOURCE_ID and lv.origin_of(volume["id"]) != lv.name:
                self.commands.change_tags(self.vg, lv.name, add=[origin_tag(volume["id"], lv.name)])
            self.commands.rename(self.vg, lv.name, target)
        except LvmCommandError as error:
            managed = by_name(self._lvs(reference), target)
            if managed is not None and managed.uuid == lv.uuid:
                return lv  # renamed already, after the report this check used
            if error.lv_missing:
                _invalid(
                    reference,
                    f"LV {lv.name} disappeared while being managed; another request "
                    "(a concurrent manage of the same LV?) renamed or removed it",
                )
            _driver_error(f"cannot rename {lv.name} to {target}: {error}")
        LOG.debug("Volume %s: renamed LV %s to %s", volume["id"], lv.name, target)
        return lv

    def _check_managed(
        self,
        after: Sequence[LogicalVolume],
        volume: Mapping[str, Any],
        lv: LogicalVolume,
        reference: Any,
    ) -> str:
        """After the rename of ``lv``: its managed name, if ``after`` shows that LV (its
        uuid) there, still of a kind that may be managed; otherwise rename it back at
        once, drop the tag the manage gave it and fail."""
        target = self._target_name(volume)
        renamed = by_name(after, target)
        if renamed is not None and renamed.uuid == lv.uuid:
            problem = kind_problem(renamed, {x.origin for x in after})
            if problem is None:
                return target
            what = f"{lv.name} changed during its rename to {target}: {problem}"
        else:
            found = "nothing" if renamed is None else f"LV {renamed.uuid}"
            what = f"{lv.name} was replaced during its rename to {target}: found {found}"
            what += f", not {lv.uuid}"
        self._rename_back(volume, renamed, target, lv.name)
        LOG.warning("Volume %s: %s; renamed it back", volume["id"], what)
        _invalid(reference, f"{what}; the rename was undone")

    def _rename_back(
        self, volume: Mapping[str, Any], renamed: LogicalVolume | None, new: str, old: str
    ) -> None:
        """Rename ``renamed`` (found under ``new``) back to ``old``, dropping this volume's tag."""
        if renamed is None:
            return
        self._run(self.commands.rename, self.vg, new, old)
        tag = origin_tag(volume["id"], old)
        if tag in renamed.tags:
            self._run(self.commands.change_tags, self.vg, old, delete=[tag])

    def undo_manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> None:
        ref = self._reference(reference, volume)
        target = self._target_name(volume)
        identity = identity or volume.get("backend_identity")
        if ref == (SOURCE_NAME, target):
            LOG.info("Volume %s: re-adopted where it stands; nothing to put back", volume["id"])
            lv = by_name(self._lvs(), target)
            if lv is not None and lv.uuid == identity:
                self._release_again(volume, lv)
            return
        self.put_back(volume, "volume", ref, target, identity)

    def put_back(
        self,
        owner: Mapping[str, Any],
        noun: str,
        ref: tuple[str, str],
        target: str,
        identity: str | None,
    ) -> None:
        """Rename the LV under ``target`` (the managed name of the volume or snapshot
        ``owner``, whose ``identity`` it must have) back to the name it had before, then
        drop the owner's origin tag; with nothing under ``target``, only drop the tag
        that an interrupted manage left. Renamed again at once when the fresh read
        after the rename finds another LV there."""
        with self._locked():
            lvs = self._lvs()
            managed = by_name(lvs, target)
            if managed is None:
                self._drop_tags(lvs, owner["id"])
                if identity is not None and (back := by_uuid(lvs, identity)) is not None:
                    self._release_again(owner, back)  # a put-back interrupted before it
                return
            if identity is not None and managed.uuid != identity:
                _driver_error(
                    f"{target} is LV {managed.uuid}, not the LV {identity} {noun} "
                    f"{owner['id']} recorded; leaving it where it is"
                )
            original = self._original_name(managed, owner["id"], ref, identity)
            if by_name(lvs, original) is not None:
                _driver_error(f"cannot put {target} back as {original}: that name is taken")
            self._run(self.commands.rename, self.vg, target, original)
            back = by_name(self._lvs(), original)
            if back is None or back.uuid != managed.uuid:
                found = "nothing" if back is None else f"LV {back.uuid}"
                what = f"{target} was replaced during its rename to {original}: found {found}"
                self._rename_back(owner, back, original, target)
                LOG.warning("%s %s: %s; renamed it back", noun.capitalize(), owner["id"], what)
                _driver_error(f"{what}, not {managed.uuid}; the rename was undone")
            tag = origin_tag(owner["id"], original)
            if tag in managed.tags:
                self._run(self.commands.change_tags, self.vg, original, delete=[tag])
            self._release_again(owner, dataclasses.replace(managed, name=original))
        LOG.info(
            "%s %s: renamed LV %s back to %s", noun.capitalize(), owner["id"], target, original
        )

    def _original_name(
        self, lv: LogicalVolume, volume_id: str, ref: tuple[str, str], identity: str | None
    ) -> str:
        """The name ``lv`` had before this volume's manage, checked against ``ref``: the
        name its origin tag records, or, untagged, the ``source-name`` of the LV whose
        identity the volume recorded."""
        key, value = ref
        original = lv.origin_of(volume_id)
        if (key == SOURCE_ID and lv.uuid != value) or (
            key == SOURCE_NAME and original not in (None, value)
        ):
            _driver_error(f"{lv.name} holds LV {lv.uuid} ({original}), not {value}")
        if original is None:
            if key == SOURCE_NAME and identity is not None and lv.uuid == identity:
                return value
            _driver_error(f"{lv.name} carries no {TAG_PREFIX}{volume_id} tag; leaving it alone")
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

    # -- what the snapshot half (lvm_snapshots) shares with the volumes' ----------------

    invalid = staticmethod(_invalid)
    fail = staticmethod(_driver_error)

    def reference_of(self, reference: Any) -> tuple[str, str]:
        return self._reference(reference)

    def read_lvs(self, reference: Any = None) -> list[LogicalVolume]:
        return self._lvs(reference)

    def rename_lock(self) -> Any:
        return self._locked()

    def rename_back(
        self, owner: Mapping[str, Any], renamed: LogicalVolume | None, new: str, old: str
    ) -> None:
        self._rename_back(owner, renamed, new, old)

    def take_back(self, snapshot: Mapping[str, Any], lv: LogicalVolume) -> None:
        self._take_back(snapshot, lv, "snapshot")

    # -- snapshots (see volmgr_volume.drivers.lvm_snapshots) ----------------------------

    def describe_snapshot(
        self, volume: VolumeRecord, snapshot: SnapshotRecord, reference: dict[str, Any]
    ) -> BackendObject:
        return self._snapshots.describe(volume, snapshot, reference)

    def manage_snapshot(
        self,
        volume: VolumeRecord,
        snapshot: SnapshotRecord,
        reference: dict[str, Any],
        *,
        identity: str | None = None,
    ) -> str:
        return self._snapshots.manage(volume, snapshot, reference, identity)

    def undo_manage_snapshot(
        self,
        volume: VolumeRecord,
        snapshot: SnapshotRecord,
        reference: dict[str, Any],
        *,
        identity: str | None = None,
    ) -> None:
        self._snapshots.undo(snapshot, reference, identity)

    def unmanage_snapshot(self, snapshot: SnapshotRecord) -> None:
        self._snapshots.unmanage(snapshot)

    def list_manageable_snapshots(
        self, managed: ManagedNames, page: PageRequest
    ) -> list[dict[str, Any]]:
        return self._snapshots.list_manageable(managed, page)

    def unmanage(self, volume: VolumeRecord) -> None:
        self.let_go(volume, "volume", self.managed_name(volume["id"]))

    def let_go(self, owner: Mapping[str, Any], noun: str, managed: str) -> None:
        """Unmanage the volume or snapshot ``owner``: its LV (under its provider
        location, else ``managed``) stays as it is, tagged ``volmgr-released=<time>``
        so that an audit lists it as a released orphan, not one to take back."""
        name = owner.get("provider_location") or managed
        what = f"{noun.capitalize()} {owner['id']}"
        lv = by_name(self._lvs(), name)
        if lv is None:
            LOG.warning("%s: LV %s is missing from %s", what, name, self.vg)
            return
        released = any(tag.startswith(RELEASED_PREFIX) for tag in lv.tags)
        add = [] if released else [f"{RELEASED_PREFIX}{release_time()}"]
        aside = [tag for tag in lv.tags if tag.startswith(ASIDE_PREFIX)]
        if add or aside:  # what a manage set aside is no longer needed
            self._run(self.commands.change_tags, self.vg, name, add=add, delete=aside)
        LOG.info("%s: unmanaged; LV %s stays in %s, tagged released", what, name, self.vg)

    def _take_back(
        self, volume: Mapping[str, Any], lv: LogicalVolume, noun: str = "volume"
    ) -> None:
        """A manage of ``lv`` by the volume (or snapshot) ``volume``: a re-adoption where
        it stands, or an LV renamed since its unmanage. Its release tag is set aside
        for this manage (``ASIDE_PREFIX``): it is managed again unless the manage is
        reverted (:meth:`_release_again`). What an older manage set aside is dropped."""
        mine = f"{ASIDE_PREFIX}{manage_attempt(volume)}="
        released = [tag for tag in lv.tags if tag.startswith(RELEASED_PREFIX)]
        older = [t for t in lv.tags if t.startswith(ASIDE_PREFIX) and not t.startswith(mine)]
        if not released and not older:
            return
        add = [mine + released[0].removeprefix(RELEASED_PREFIX)] if released else []
        self._run(self.commands.change_tags, self.vg, lv.name, add=add, delete=released + older)
        if released:
            LOG.info(
                "%s %s: LV %s is no longer marked released",
                noun.capitalize(),
                volume["id"],
                lv.name,
            )

    def _release_again(self, volume: Mapping[str, Any], lv: LogicalVolume) -> None:
        """After a reverted manage of ``volume`` that took ``lv`` back: tag it released
        again, with the time its release tag had."""
        mine = f"{ASIDE_PREFIX}{manage_attempt(volume)}="
        aside = [tag for tag in lv.tags if tag.startswith(mine)]
        if not aside:
            return
        released = f"{RELEASED_PREFIX}{aside[0].removeprefix(mine)}"
        self._run(self.commands.change_tags, self.vg, lv.name, add=[released], delete=aside)
        LOG.info("%s: LV %s is marked released again", volume["id"], lv.name)

    def start_audit(self) -> LvmAudit:
        return LvmAudit(self._lvs(), self._managed_re)

    def list_manageable(self, managed: dict[str, str], page: PageRequest) -> list[dict[str, Any]]:
        check_page_parameters(page)
        lvs = self._lvs()
        origins = {lv.origin for lv in lvs if lv.origin}
        listed = paginate(lvs, lambda lv: lv.name, lambda lv: size_in_gib(lv.size), page)
        entries = [self._listing_entry(lv, origins, managed.get(lv.name)) for lv in listed]
        for lv, entry in zip(listed, entries, strict=True):
            if (
                lv.name in origins
                and entry["cinder_id"] is None
                and not self.is_any_managed_form(lv.name)
            ):
                self._chain_entry(lvs, lv, entry)
        return entries

    def _chain_entry(
        self, lvs: list[LogicalVolume], lv: LogicalVolume, entry: dict[str, Any]
    ) -> None:
        """An origin's entry: safe to adopt with its snapshots, listed in ``extra_info``."""
        try:
            chain = self.chains._describe(lvs, lv.name, {SOURCE_NAME: lv.name})
        except exception.ManageExistingInvalidReference as error:
            entry["reason_not_safe"] = error.kwargs.get("reason", str(error))
            return
        entry["extra_info"]["chain"] = [member.name for member in chain.members]
        entry["safe_to_manage"], entry["reason_not_safe"] = True, None

    def _listing_entry(
        self, lv: LogicalVolume, origins: set[str], cinder_id: str | None
    ) -> dict[str, Any]:
        reason = self._not_safe_reason(lv, origins, cinder_id)
        extra = {"lv_uuid": lv.uuid, "lv_attr": lv.attr}
        return manageable_entry(lv.name, size_in_gib(lv.size), reason, cinder_id, extra)

    def _not_safe_reason(
        self, lv: LogicalVolume, origins: set[str], cinder_id: str | None
    ) -> str | None:
        if cinder_id is not None:
            return "already managed"
        if self.is_managed_form(lv.name):
            return "name is in managed form but no volume holds it; rename it to manage it"
        if self.is_managed_snapshot_form(lv.name):
            return SNAPSHOT_FORM
        return lv_name_problem(lv.name) or kind_problem(lv, origins, self.is_managed_form)

    def fingerprints(self, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """One fresh ``lvs`` of the VG (kept as the latest report); identity the LV uuid."""
        lvs = self._lvs()
        origins = {lv.origin for lv in lvs if lv.origin}
        wanted = None if names is None else set(names)
        return {
            lv.name: fingerprint(
                lv.name, lv.size, lv.uuid, self._not_safe_reason(lv, origins, None)
            )
            for lv in lvs
            if wanted is None or lv.name in wanted
        }

    def get_capabilities(self) -> dict[str, Any]:
        try:
            vg = self.commands.vgs(self.vg)
        except LvmCommandError as error:
            _driver_error(str(error))
        lvs, _ = self._recent_lvs()
        allocated = sum(size_in_gib(lv.size) for lv in lvs if self.is_managed_form(lv.name))
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
