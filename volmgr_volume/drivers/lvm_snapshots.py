"""The LVM driver's snapshots: classic snapshot LVs whose origin is a managed volume's LV.

A reference (``source-name`` or ``source-id``, as for volumes) names a snapshot LV
(first ``lv_attr`` character ``s``) whose ``origin`` is the LV of the request's
volume (its provider location, with the uuid the volume recorded). Managing renames
it to the snapshot's managed name (``[volume] snapshot_name_template``; LVM reserves
names that start with ``snapshot``, so such a name gets a leading underscore, as
Cinder's LVM driver does). ``lvrename`` keeps the snapshot's link to its origin
(the metadata links them by the origin's LV, not by a name we change), and nothing
refers to a snapshot, so no rename breaks a reference. As for volumes: the uuid is
recorded before the rename, a ``source-id`` reference tags the LV with its original
name first, the rename and the fresh read that checks it run under the VG's rename
lock, and anything found changed is renamed back at once.

Refused with ManageExistingInvalidReference: an LV that is not a snapshot (or is a
merging one), a snapshot of another LV than the volume's, an internal, partial or
open LV, a name already in a managed form.
"""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from oslo_log import log as logging

from volmgr_common.db.snapshot_record import SnapshotRecord
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers.base import (
    SOURCE_NAME,
    BackendObject,
    ManagedNames,
    check_page_parameters,
    manageable_snapshot_entry,
    paginate,
    size_in_gib,
)
from volmgr_volume.drivers.lvm_commands import (
    SOURCE_ID,
    LogicalVolume,
    LvmCommandError,
    by_name,
    locate,
    lv_name_problem,
    origin_tag,
    state_problem,
)

if TYPE_CHECKING:
    from volmgr_volume.drivers.lvm import LvmDriver

LOG = logging.getLogger(__name__)
RESERVED_PREFIX = "snapshot"


def snapshot_problem(lv: LogicalVolume, origin: str) -> str | None:
    """Why ``lv`` is not a snapshot of the LV ``origin`` that may be managed (None if it is)."""
    kind = lv.attr[0]
    if kind == "S":
        return "the LV is a merging snapshot"
    if kind != "s" or not lv.origin:
        return "the LV is not a snapshot"
    if lv.origin != origin:
        return f"the LV is a snapshot of {lv.origin}, not of the volume's LV {origin}"
    return state_problem(lv)


class LvmSnapshots:
    """The snapshot half of :class:`~volmgr_volume.drivers.lvm.LvmDriver`."""

    def __init__(self, driver: "LvmDriver") -> None:
        self.driver = driver

    def target_name(self, snapshot: Mapping[str, Any]) -> str:
        """The snapshot's managed LV name (underscored where LVM reserves it)."""
        name = self.driver.snapshot_managed_name(snapshot["id"])
        if name.startswith(RESERVED_PREFIX):
            name = f"_{name}"
        problem = lv_name_problem(name)
        if problem:
            self.driver.fail(f"managed snapshot name {name!r}: {problem}")
        return name

    def _origin(
        self, lvs: Sequence[LogicalVolume], volume: VolumeRecord, reference: Any
    ) -> LogicalVolume:
        """The volume's LV, as the volume recorded it."""
        name = volume.get("provider_location") or self.driver.managed_name(volume["id"])
        lv = by_name(lvs, name)
        recorded = volume.get("backend_identity")
        if lv is None or (recorded is not None and lv.uuid != recorded):
            self.driver.invalid(
                reference, f"the LV {name} of volume {volume['id']} is not in {self.driver.vg}"
            )
        return lv

    def checked(
        self,
        lvs: Sequence[LogicalVolume],
        volume: VolumeRecord,
        snapshot: SnapshotRecord,
        reference: Any,
        identity: str | None = None,
    ) -> LogicalVolume:
        """The referenced LV if it is a snapshot of the volume's LV that may be managed
        (or already this snapshot's) and, with ``identity``, is that LV."""
        ref = self.driver.reference_of(reference)
        lv = locate(lvs, ref, snapshot, self.target_name(snapshot))
        if lv is None:
            self.driver.invalid(
                reference, f"no logical volume {ref[1]!r} exists in {self.driver.vg}"
            )
        if identity is not None and lv.uuid != identity:
            self.driver.invalid(
                reference, f"LV {lv.name} is {lv.uuid}, not the LV {identity} checked"
            )
        origin = self._origin(lvs, volume, reference)
        target = self.target_name(snapshot)
        if lv.name != target and (
            lv.name.startswith(f"_{RESERVED_PREFIX}") or self.driver.is_managed_form(lv.name)
        ):
            self.driver.invalid(reference, f"the LV is already managed as {lv.name}")
        problem = snapshot_problem(lv, origin.name)
        if problem:
            self.driver.invalid(reference, problem)
        return lv

    def describe(
        self, volume: VolumeRecord, snapshot: SnapshotRecord, reference: dict[str, Any]
    ) -> BackendObject:
        key, value = self.driver.reference_of(reference)
        lv = self.checked(self.driver.read_lvs(reference), volume, snapshot, reference)
        if key == SOURCE_NAME:
            name: str | None = value
        else:
            name = None if lv.name == self.target_name(snapshot) else lv.name
        return BackendObject(lv.uuid, name, lv.size)

    def manage(
        self,
        volume: VolumeRecord,
        snapshot: SnapshotRecord,
        reference: dict[str, Any],
        identity: str | None,
    ) -> str:
        target = self.target_name(snapshot)
        commands, vg = self.driver.commands, self.driver.vg
        with self.driver.rename_lock():
            lvs = self.driver.read_lvs(reference)
            lv = self.checked(lvs, volume, snapshot, reference, identity)
            self.driver.take_back(snapshot, lv)  # unmanaged before: managed again
            if lv.name == target:
                return target
            if by_name(lvs, target) is not None:
                self.driver.fail(f"{target} already exists while {lv.name} is still there")
            try:
                key, _ = self.driver.reference_of(reference)
                if key == SOURCE_ID and lv.origin_of(snapshot["id"]) != lv.name:
                    commands.change_tags(vg, lv.name, add=[origin_tag(snapshot["id"], lv.name)])
                commands.rename(vg, lv.name, target)
            except LvmCommandError as error:
                self.driver.fail(f"cannot rename {lv.name} to {target}: {error}")
            after = self.driver.read_lvs()
            renamed = by_name(after, target)
            origin = by_name(after, lv.origin)
            if renamed is not None and renamed.uuid == lv.uuid and origin is not None:
                problem = snapshot_problem(renamed, origin.name)
                if problem is None:
                    LOG.info("Snapshot %s: renamed LV %s to %s", snapshot["id"], lv.name, target)
                    return target
            else:
                problem = f"found {'nothing' if renamed is None else renamed.uuid}, not {lv.uuid}"
            self.driver.rename_back(snapshot, renamed, target, lv.name)
            what = f"{lv.name} changed during its rename to {target}: {problem}"
            LOG.warning("Snapshot %s: %s; renamed it back", snapshot["id"], what)
            self.driver.invalid(reference, f"{what}; the rename was undone")

    def undo(
        self,
        snapshot: SnapshotRecord,
        reference: dict[str, Any],
        identity: str | None,
    ) -> None:
        ref = self.driver.reference_of(reference)
        target = self.target_name(snapshot)
        identity = identity or snapshot.get("backend_identity")
        self.driver.put_back(snapshot, "snapshot", ref, target, identity)

    def unmanage(self, snapshot: SnapshotRecord) -> None:
        self.driver.let_go(snapshot, "snapshot", self.target_name(snapshot))

    def list_manageable(self, managed: ManagedNames, page: PageRequest) -> list[dict[str, Any]]:
        check_page_parameters(page)
        lvs = self.driver.read_lvs()
        snapshots = [lv for lv in lvs if lv.attr[0] in "sS" and lv.origin]
        listed = paginate(snapshots, lambda lv: lv.name, lambda lv: size_in_gib(lv.size), page)
        return [self._entry(lv, managed) for lv in listed]

    def _entry(self, lv: LogicalVolume, managed: ManagedNames) -> dict[str, Any]:
        cinder_id = managed.snapshots.get(lv.name)
        origin_volume = managed.volumes.get(lv.origin)
        if cinder_id is not None:
            reason: str | None = "already managed"
        elif origin_volume is None:
            reason = (
                f"its origin {lv.origin} is not a managed volume; adopt that volume "
                "with its snapshots (with_snapshots)"
            )
        elif lv.name.startswith(f"_{RESERVED_PREFIX}"):
            reason = "name is in managed form but no snapshot holds it"
        else:
            reason = lv_name_problem(lv.name) or snapshot_problem(lv, lv.origin)
        extra = {"lv_uuid": lv.uuid, "lv_attr": lv.attr, "volume_id": origin_volume}
        return manageable_snapshot_entry(
            lv.name, size_in_gib(lv.size), reason, cinder_id, lv.origin, extra
        )
