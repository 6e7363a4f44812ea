"""LVM chains of the LVM driver: an origin LV with its classic snapshot LVs.

A chain is named by its origin's ``source-name``; its members are the LVs whose
``origin`` (from the ``lvs`` report) is that LV, in name order. LVM keeps the
relation itself, by name inside the VG's metadata, and ``lvrename`` of the origin
updates it: no reference has to be rewritten, only names.

Refused before anything is renamed: a base that is itself a snapshot (the reason
names its origin), a base or member that may not be managed for any other reason
(open, partial, internal, a name LVM reserves or in managed form), thin or merging
snapshots. Adopting renames the origin to its volume's managed name and each
snapshot to its snapshot's managed name (with a leading ``_`` when the name would
start with ``snapshot``, a prefix LVM reserves; Cinder names its snapshot LVs the
same way), under the VG's rename lock, then checks every LV on one fresh report (by
uuid, with its snapshot relation intact). An undo, or a failure anywhere, renames
every LV of the chain back; each LV is found by uuid under its original or its
managed name, so both are idempotent.
"""

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from oslo_log import log as logging

from volmgr_common import exception
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_volume.drivers.base import (
    SOURCE_NAME,
    BackendObject,
    Chain,
    ChainLink,
    ChainLocations,
    ChainMember,
    check_chain_links,
)
from volmgr_volume.drivers.lvm_commands import (
    KIND_NAMES,
    LogicalVolume,
    by_name,
    by_uuid,
    kind_problem,
    lv_name_problem,
)

if TYPE_CHECKING:
    from volmgr_volume.drivers.lvm import LvmDriver

LOG = logging.getLogger(__name__)
SNAPSHOT_KIND = "s"
_MANAGED_FORM = "its name is in managed form"


@dataclasses.dataclass(frozen=True)
class Placed:
    """One LV of a chain to adopt: its names before and after, its uuid."""

    original: str
    managed: str
    identity: str | None


def _invalid(reference: Any, reason: str) -> NoReturn:
    raise exception.ManageExistingInvalidReference(ref=reference, reason=reason)


class LvmChains:
    """Reads, adopts and puts back the snapshot chains of an LVM driver's VG."""

    def __init__(self, driver: "LvmDriver") -> None:
        self.driver = driver

    def _base_name(self, reference: Any) -> str:
        key, value = self.driver._reference(reference)
        if key != SOURCE_NAME:
            _invalid(reference, "a volume with its snapshots is adopted by 'source-name'")
        return value

    def describe(self, volume: VolumeRecord, reference: dict[str, Any]) -> Chain:
        name = self._base_name(reference)
        return self._describe(self.driver._lvs(reference), name, reference)

    def _describe(self, lvs: Sequence[LogicalVolume], name: str, reference: Any) -> Chain:
        base = by_name(lvs, name)
        if base is None:
            raise exception.ManageExistingInvalidReference(
                ref=reference, reason=f"no logical volume {name!r} exists in {self.driver.vg}"
            )
        if base.origin:
            _invalid(
                reference,
                f"the LV is a snapshot of {base.origin}: it is a member of the chain of "
                f"{base.origin}; adopt {base.origin} with its snapshots",
            )
        problem = lv_name_problem(base.name) or kind_problem(_as_plain(base), set())
        if problem:
            _invalid(reference, problem)
        snapshots = sorted((lv for lv in lvs if lv.origin == base.name), key=lambda lv: lv.name)
        members = tuple(self._member(lv, reference) for lv in snapshots)
        return Chain(BackendObject(base.uuid, base.name, base.size), members)

    def _member(self, lv: LogicalVolume, reference: Any) -> ChainMember:
        kind = lv.attr[0]
        problem = None
        if kind != SNAPSHOT_KIND:
            problem = f"it is {KIND_NAMES.get(kind, f'an LV of type {kind!r}')}, not a snapshot"
        problem = (
            problem
            or lv_name_problem(lv.name)
            or (_MANAGED_FORM if self.driver.is_managed_form(lv.name) else None)
            or (_MANAGED_FORM if self.driver.is_managed_snapshot_form(lv.name) else None)
            or kind_problem(_as_plain(lv), set())
        )
        if problem:
            _invalid(reference, f"member {lv.name} of the chain: {problem}")
        return ChainMember({SOURCE_NAME: lv.name}, lv.uuid, lv.name, lv.size)

    def _placed(
        self,
        volume: VolumeRecord,
        reference: Any,
        links: Sequence[ChainLink],
        identity: str | None,
    ) -> list[Placed]:
        """The base then each member: original and managed names, uuid."""
        base = Placed(
            self._base_name(reference),
            self.driver._target_name(volume),
            identity or volume.get("backend_identity"),
        )
        members = []
        for link in links:
            managed = self.driver._snapshots.target_name({"id": link.snapshot_id})
            members.append(Placed(link.member.name, managed, link.member.identity))
        return [base, *members]

    def manage(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        identity: str | None,
    ) -> ChainLocations:
        placed = self._placed(volume, reference, links, identity)
        with self.driver._locked():
            lvs = self.driver._lvs(reference)
            if placed[0].identity is None or all(_under(lvs, p) == p.original for p in placed):
                chain = self._describe(lvs, placed[0].original, reference)
                if placed[0].identity not in (None, chain.base.identity):
                    _invalid(reference, f"the base is now {chain.base.identity}")
                check_chain_links(chain, links, reference)
                placed[0] = dataclasses.replace(placed[0], identity=chain.base.identity)
            try:
                self._rename_all(lvs, placed, reference)
                self._check_all(self.driver._lvs(), placed)
            except Exception as error:
                LOG.warning(
                    "Volume %s: adopting its chain failed (%s); putting it back",
                    volume["id"],
                    error,
                )
                self._put_back(placed)
                raise
        LOG.info(
            "Volume %s: adopted LV %s with %d snapshots",
            volume["id"],
            placed[0].original,
            len(links),
        )
        return ChainLocations(placed[0].managed, tuple(p.managed for p in placed[1:]))

    def _rename_all(
        self, lvs: Sequence[LogicalVolume], placed: list[Placed], reference: Any
    ) -> None:
        for p in placed:
            where = _under(lvs, p)
            if where is None:
                _invalid(
                    reference, f"LV {p.identity} is under neither {p.original} nor {p.managed}"
                )
            if where == p.original:
                if by_name(lvs, p.managed) is not None:
                    raise exception.VolumeDriverException(
                        reason=f"{p.managed} already exists while {p.original} is still there"
                    )
                self.driver._run(self.driver.commands.rename, self.driver.vg, p.original, p.managed)

    def _check_all(self, after: Sequence[LogicalVolume], placed: list[Placed]) -> None:
        """Every LV under its managed name, and every member still a snapshot of the base."""
        for position, p in enumerate(placed):
            lv = by_name(after, p.managed)
            if lv is None or lv.uuid != p.identity:
                found = "nothing" if lv is None else f"LV {lv.uuid}"
                raise exception.VolumeDriverException(
                    reason=f"{p.original} was replaced during its rename to {p.managed}: "
                    f"found {found}, not {p.identity}"
                )
            if position and lv.origin != placed[0].managed:
                raise exception.VolumeDriverException(
                    reason=f"{p.managed} is no longer a snapshot of {placed[0].managed}"
                )

    def undo(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        identity: str | None,
    ) -> None:
        placed = self._placed(volume, reference, links, identity)
        with self.driver._locked():
            self._put_back(placed)
        LOG.info("Volume %s: its chain is back under its original names", volume["id"])

    def _put_back(self, placed: list[Placed]) -> None:
        """Every LV found by uuid under its managed name back to its original name; what
        cannot be put back is reported after everything else was."""
        lvs = self.driver._lvs()
        errors = []
        for p in reversed(placed):
            if p.identity is None:
                errors.append(f"the uuid of {p.original} is unknown; it is left where it is")
                continue
            where = _under(lvs, p)
            if where == p.managed:
                if by_name(lvs, p.original) is not None:
                    errors.append(f"cannot put {p.managed} back as {p.original}: the name is taken")
                    continue
                try:
                    self.driver._run(
                        self.driver.commands.rename, self.driver.vg, p.managed, p.original
                    )
                except exception.VolmgrException as error:
                    errors.append(str(error))
            elif where is None and by_uuid(lvs, p.identity) is not None:
                errors.append(f"LV {p.identity} is under another name; it is left where it is")
        if errors:
            raise exception.VolumeDriverException(reason="; ".join(errors))


def _under(lvs: Sequence[LogicalVolume], placed: Placed) -> str | None:
    """The name (original or managed) the LV of ``placed`` has now, or None."""
    lv = by_uuid(lvs, placed.identity) if placed.identity else None
    if lv is not None and lv.name in (placed.original, placed.managed):
        return lv.name
    return None


def _as_plain(lv: LogicalVolume) -> LogicalVolume:
    """``lv`` as if it were no origin and no snapshot, so that :func:`kind_problem`
    judges only its state (open, partial, internal)."""
    return dataclasses.replace(lv, attr="-" + lv.attr[1:], origin="")
