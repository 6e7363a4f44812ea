"""The contract every backend driver fulfils.

A driver claims an object that already exists on its backend without copying it:
it reports the object's size and its identity (which object it is, whatever its
name: a file's device and inode, an LV's uuid), gives it a managed name
(``manage``), can put it back exactly as it was (``undo_manage``), lets it go
(``unmanage``), lists what could be managed and reports capabilities. ``manage``
and ``undo_manage`` must be idempotent: a flow resumed after a crash may call them
again for the same volume. Given an identity, both move only the object that has
it: whatever races them, what ends under the new name is that object, or the
rename is undone and the call fails. ``manage_many`` manages the objects of a
batch of requests in one call (a driver may share its reads among them); each
gets what ``manage`` would have given it.

Snapshots (optional; a driver that has none raises SnapshotsNotSupported and lists
nothing): a snapshot is an object whose origin is a managed volume's object (an LVM
snapshot LV of the volume's LV, a qcow2 overlay whose backing file is the volume's
image). ``describe_snapshot`` checks that the reference names such an object of
that very volume and reports it; ``manage_snapshot`` renames it to the snapshot's
managed name (``[volume] snapshot_name_template``) and ``undo_manage_snapshot``
renames it back, both idempotent and identity-checked as for volumes; renaming a
snapshot never breaks a reference (nothing refers to a snapshot, and its own link
to its origin is kept); ``unmanage_snapshot`` changes nothing; the listing gives
each entry a ``source_reference`` naming its origin. Signatures (stable):
``describe_snapshot(volume, snapshot, reference) -> BackendObject``,
``manage_snapshot(volume, snapshot, reference, *, identity) -> str``,
``undo_manage_snapshot(volume, snapshot, reference, *, identity) -> None``,
``unmanage_snapshot(snapshot) -> None``,
``list_manageable_snapshots(managed, page) -> list[dict]``.
An audit (:meth:`VolumeDriver.start_audit`) reads the backend once and returns a
:class:`BackendAudit` that checks any number of managed volumes, a page at a
time, against that one reading: each is found as recorded, or with a
:class:`~volmgr_common.drift.Drift`. An audit never changes a backend object.

A driver that can adopt a *chain* (an object with the snapshots built on it: an
LV with its snapshot LVs, a qcow2 image with its overlays) also implements
``describe_chain`` (the chain as the backend shows it, refused with a clear reason
when it cannot be adopted), ``manage_chain`` (the base takes its volume's managed
name, each member its snapshot's, and every reference between them stays valid)
and ``undo_manage_chain`` (every object of the chain back under its original name
with its original references). Both are idempotent and all-or-nothing: when
``manage_chain`` fails, it has put the whole chain back before it raises.
Orphans and re-adoption. ``list_managed_objects`` lists the backend's objects in
managed form (named by the volume name template, or carrying volmgr's marks) with
what the backend records about each: its identity, size and marks, and from them
the volume id, the original name and the original project where recorded (see
``volmgr_volume.orphans``, which compares them with the database). A reference
whose ``source-name`` is the volume's own managed name (:meth:`VolumeDriver.is_readoption`)
re-adopts the object where it stands: ``manage`` renames nothing and ``undo_manage``
moves nothing.

The module also holds what every driver's manageable listing shares: the sort and
pagination of :func:`paginate` (which sorts cheap keys and lets the driver describe
only the page it returns) and the entry shape of :func:`manageable_entry`; and
what plans and jobs compare: the shape of a fingerprint (:func:`fingerprint`) and
what changed between two (:func:`fingerprint_changes`).
"""

import abc
import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from oslo_config import cfg

from volmgr_common import exception
from volmgr_common.db.backend_orphans import RELEASED_KEYS, released_at
from volmgr_common.db.snapshot_record import SnapshotRecord
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.drift import AuditedVolume, Drift
from volmgr_common.limits import GIB, size_in_gib
from volmgr_common.page_request import MANAGEABLE_DEFAULT_SORT, MANAGEABLE_SORT_KEYS, PageRequest

SOURCE_NAME = "source-name"
SORT_DIRS = ("asc", "desc")
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
T = TypeVar("T")

ManageCall = tuple[VolumeRecord, dict[str, Any], str | None]
"""One request of :meth:`VolumeDriver.manage_many`: ``(volume, reference, identity)``."""


@dataclasses.dataclass(frozen=True)
class BackendObject:
    """What :meth:`VolumeDriver.describe` found: the object a reference names.

    ``identity`` is :meth:`VolumeDriver.get_identity`'s; ``name`` the object's name
    before volmgr renamed it; ``size_bytes`` its exact size (None when the driver
    cannot tell bytes).
    """

    identity: str
    name: str | None
    size_bytes: int | None


@dataclasses.dataclass(frozen=True)
class ChainMember:
    """One snapshot of a chain, as :meth:`VolumeDriver.describe_chain` found it.

    ``reference`` names it (``{"source-name": name}``), ``identity`` is what
    :meth:`VolumeDriver.get_identity` would say of it, ``size_bytes`` its size.
    ``backing`` is the reference its header holds to the object below it, exactly as
    written, and ``backing_format`` that object's format as recorded (image chains;
    None where the backend keeps the relation itself, as LVM does). Recorded before
    a manage, they are what an undo writes back.
    """

    reference: dict[str, Any]
    identity: str
    name: str
    size_bytes: int
    backing: str | None = None
    backing_format: str | None = None


@dataclasses.dataclass(frozen=True)
class Chain:
    """A base object and the members built on it, oldest (closest to the base) first."""

    base: BackendObject
    members: tuple[ChainMember, ...]


@dataclasses.dataclass(frozen=True)
class ChainLink:
    """A member to manage: the id of the snapshot that will hold it, and the member."""

    snapshot_id: str
    member: ChainMember


@dataclasses.dataclass(frozen=True)
class ChainLocations:
    """Where :meth:`VolumeDriver.manage_chain` put a chain: the volume's provider
    location and each snapshot's, in the order of the links."""

    volume: str
    snapshots: tuple[str, ...]


def check_chain_links(chain: Chain, links: Sequence[ChainLink], reference: Any) -> None:
    """ManageExistingInvalidReference unless ``links`` are the members of ``chain``
    (the same objects, by identity, with the same backing references) in order."""
    expected = [(m.identity, m.name, m.backing, m.backing_format) for m in chain.members]
    given = [
        (link.member.identity, link.member.name, link.member.backing, link.member.backing_format)
        for link in links
    ]
    if given == expected:
        return
    found = ", ".join(m.name for m in chain.members) or "no members"
    asked = ", ".join(link.member.name for link in links) or "no members"
    raise exception.ManageExistingInvalidReference(
        ref=reference,
        reason=f"the chain of {chain.base.name} is now {found}, not {asked} as described; "
        "describe it again",
    )


@dataclasses.dataclass(frozen=True)
class ManagedObject:
    """An object of the backend in managed form, as :meth:`VolumeDriver.list_managed_objects`
    found it.

    ``volume_id`` is the volume the object's name (or, failing that, its mark) says it
    belongs to; ``original_name`` the name it had before volmgr renamed it and
    ``project_id`` the project it was managed for, when the backend records them
    (None otherwise); ``marks`` what volmgr wrote on the object (LV tags, a file's
    extended attribute) as the backend reports it.
    """

    name: str
    volume_id: str
    identity: str
    size_bytes: int | None
    original_name: str | None = None
    project_id: str | None = None
    marks: tuple[str, ...] = ()

    @property
    def released_at(self) -> str | None:
        """When a user's unmanage let the object go, as its release mark says."""
        return released_at(self.marks)

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for RPC and the REST view."""
        return {
            "name": self.name,
            "volume_id": self.volume_id,
            "identity": self.identity,
            "size_bytes": self.size_bytes,
            "size": None if self.size_bytes is None else size_in_gib(self.size_bytes),
            "original_name": self.original_name,
            "project_id": self.project_id,
            "marks": list(self.marks),
            "released_at": self.released_at,
        }


RELEASED_TAG, RELEASED_ATTRIBUTE = RELEASED_KEYS
"""The release mark's key as an LV tag (``volmgr-released=<UTC time>``) and as a
file's extended attribute (its value the UTC time)."""


def release_time() -> str:
    """Now, as a release mark records it (UTC, to the second; only characters an LV tag
    may hold)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manage_attempt(volume: Mapping[str, Any]) -> str:
    """What tells one manage of a volume from another, in characters an LV tag may hold:
    its id and its row's creation time (a re-adoption writes a new row under the same
    id). A release mark set aside by a manage is given back only when that very
    manage is reverted."""
    created = re.sub(r"[^0-9A-Za-z]", "", str(volume.get("created_at") or ""))
    return f"{volume['id']}.{created}"


def managed_name_pattern(template: str) -> re.Pattern[str]:
    """A pattern matching the names ``template`` gives volumes (``%s`` = a UUID, the
    pattern's first group)."""
    uuid_group = f"({UUID_PATTERN})"
    return re.compile(uuid_group.join(re.escape(part) for part in template.split("%s")))


def volume_id_in(pattern: re.Pattern[str], name: str) -> str | None:
    """The volume id a managed name carries (lower case), None if ``name`` is not one."""
    match = pattern.fullmatch(name)
    return match.group(1).lower() if match else None


def gib_floor(size_bytes: int) -> float:
    """Bytes as GiB, floored to two decimals (for capacities)."""
    return size_bytes * 100 // GIB / 100


def check_page_parameters(page: PageRequest) -> tuple[str, str]:
    """The page's ``(sort_key, sort_dir)``; InvalidInput unless the page is usable."""
    sort_key, sort_dir = page.single_sort(MANAGEABLE_DEFAULT_SORT)
    if sort_key not in MANAGEABLE_SORT_KEYS or sort_dir not in SORT_DIRS:
        raise exception.InvalidInput(reason="sort key must be reference or size, dir asc or desc")
    if page.offset < 0 or (page.limit is not None and page.limit < 0):
        raise exception.InvalidInput(reason="limit and offset must not be negative")
    return sort_key, sort_dir


def paginate(
    items: Sequence[T],
    name: Callable[[T], str],
    size: Callable[[T], int],
    page: PageRequest,
) -> list[T]:
    """Sort ``items``, continue after the marker, then apply offset and limit.

    The page's marker is the name of the last item of the previous page and must be
    among ``items``; a limit of None means no limit. ``size`` is called only when
    sorting by size (ties are broken by name), so a driver can sort thousands of
    cheap items and describe only the page.
    """
    sort_key, sort_dir = check_page_parameters(page)
    marker, limit, offset = page.marker, page.limit, page.offset
    key: Callable[[T], Any] = name if sort_key == "reference" else lambda i: (size(i), name(i))
    ordered = sorted(items, key=key, reverse=sort_dir == "desc")
    start = offset
    if marker is not None:
        index = next((n for n, item in enumerate(ordered) if name(item) == marker), None)
        if index is None:
            raise exception.InvalidInput(reason=f"marker {marker!r} not found")
        start += index + 1
    return ordered[start:] if limit is None else ordered[start : start + limit]


def paginate_manageable(entries: list[dict[str, Any]], page: PageRequest) -> list[dict[str, Any]]:
    """:func:`paginate` over complete manageable entries (small backends)."""
    return paginate(
        entries, lambda entry: entry["reference"][SOURCE_NAME], lambda entry: entry["size"], page
    )


def fingerprint(
    name: str, size_bytes: int, identity: str, reason_not_safe: str | None, **own: Any
) -> dict[str, Any]:
    """What :meth:`VolumeDriver.fingerprints` says of one object.

    ``size_bytes`` is the volume's size in bytes (an image's virtual size);
    ``reason_not_safe`` why the driver would refuse to manage the object as it is
    (None when nothing on the backend forbids it); ``own`` the driver's own keys.
    """
    return {
        "name": name,
        "size_bytes": size_bytes,
        "identity": identity,
        "reason_not_safe": reason_not_safe,
        **own,
    }


def fingerprint_changes(
    planned: Mapping[str, Any], current: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """What changed from the fingerprint ``planned`` to ``current``, key by key:
    ``{key: {"planned": value, "current": value}}`` for every key whose value differs
    (a key one side lacks counts as None). Nothing changed: an empty dict.

    ``current`` None means the object is no longer on the backend under its name
    (removed or renamed): every planned key then changes to None.
    """
    now: Mapping[str, Any] = current if current is not None else {}
    return {
        key: {"planned": planned.get(key), "current": now.get(key)}
        for key in sorted(set(planned) | set(now))
        if planned.get(key) != now.get(key)
    }


def manageable_entry(
    name: str,
    size: int,
    reason_not_safe: str | None,
    cinder_id: str | None,
    extra_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry of a manageable listing, referenced by ``source-name``."""
    return {
        "reference": {SOURCE_NAME: name},
        "size": size,
        "safe_to_manage": reason_not_safe is None,
        "reason_not_safe": reason_not_safe,
        "cinder_id": cinder_id,
        "extra_info": extra_info,
    }


@dataclasses.dataclass(frozen=True)
class ManagedNames:
    """What a manageable-snapshot listing needs to know of the database: the managed
    objects of the backend, ``{name: id}``, volumes' and snapshots'."""

    volumes: dict[str, str]
    snapshots: dict[str, str]


def manageable_snapshot_entry(
    name: str,
    size: int,
    reason_not_safe: str | None,
    cinder_id: str | None,
    source_name: str,
    extra_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry of a manageable-snapshot listing: a volume entry with the
    ``source_reference`` of the origin it is a snapshot of."""
    entry = manageable_entry(name, size, reason_not_safe, cinder_id, extra_info)
    entry["source_reference"] = {SOURCE_NAME: source_name}
    return entry


class BackendAudit(abc.ABC):
    """One reading of a backend, against which managed volumes are checked.

    Made by :meth:`VolumeDriver.start_audit` from a single look at the backend (one
    directory scan, one ``lvs`` report); :meth:`check` may look again at the
    objects of the volumes it checks (their size, their header) but never lists
    the backend again and never changes anything on it.
    """

    @abc.abstractmethod
    def check(self, volume: AuditedVolume) -> Drift | None:
        """None when the volume's object is as recorded, else the most serious drift."""

    @abc.abstractmethod
    def managed_objects(self, known_ids: Container[str] = ()) -> Iterator[ManagedObject]:
        """Every object of this reading in managed form (see
        :meth:`VolumeDriver.list_managed_objects`) but those whose volume id is in
        ``known_ids`` (the caller knows them: they are not looked at again); it may
        look again at the others (their size, their marks), never lists the backend
        again."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Let go of what the reading holds (a directory descriptor)."""

    def __enter__(self) -> "BackendAudit":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ChainAdopter(Protocol):
    """What does a driver's chain work (``image_chain.ImageChains``, ``lvm_chain.LvmChains``)."""

    def describe(self, volume: VolumeRecord, reference: dict[str, Any]) -> Chain: ...

    def manage(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        identity: str | None,
    ) -> ChainLocations: ...

    def undo(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        identity: str | None,
    ) -> None: ...


class VolumeDriver(abc.ABC):
    """Abstract backend driver. ``volume`` arguments are volume records (db.volume_record)."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.backend_name: str = conf.volume.backend_name

    def managed_name(self, volume_id: str) -> str:
        return self.conf.volume.volume_name_template % volume_id

    def is_managed_form(self, name: str) -> bool:
        """Whether ``name`` looks like a managed volume's name (its template with a UUID)."""
        return (
            managed_name_pattern(self.conf.volume.volume_name_template).fullmatch(name) is not None
        )

    def is_any_managed_form(self, name: str) -> bool:
        """Whether ``name`` looks like a managed volume's or a managed snapshot's name."""
        return self.is_managed_form(name) or self.is_managed_snapshot_form(name)

    def is_managed_snapshot_form(self, name: str) -> bool:
        """Whether ``name`` looks like a managed snapshot's name (its template with a UUID)."""
        return managed_name_pattern(self.snapshot_managed_name("%s")).fullmatch(name) is not None

    def is_readoption(self, volume: Mapping[str, Any], reference: Any) -> bool:
        """Whether ``reference`` names the volume's own managed name: a re-adoption of an
        orphan where it stands, under the volume id its name carries (no rename)."""
        name = reference.get(SOURCE_NAME) if isinstance(reference, Mapping) else None
        return name is not None and name == self.managed_name(volume["id"])

    def do_setup(self) -> None:  # noqa: B027 - optional hook
        """Prepare the backend (create directories, check tools); raise if unusable."""

    @abc.abstractmethod
    def get_size(self, volume: VolumeRecord, reference: dict[str, Any]) -> int:
        """Size in whole GiB (rounded up) of the referenced object.

        Raises ManageExistingInvalidReference if the reference is unusable. If the
        object already carries this volume's managed name (a resumed flow, whose
        volume holds the ``backend_identity`` recorded before the rename), its size
        is reported too.
        """

    @abc.abstractmethod
    def get_identity(self, volume: VolumeRecord, reference: dict[str, Any]) -> str:
        """Which object the reference names, as a string that no other object of the
        backend has (and that names do not change), checked as ``get_size`` checks it.

        If the object already carries this volume's managed name (a resumed flow,
        whose volume holds the ``backend_identity`` recorded before the rename), that
        object's identity is reported.
        """

    def describe(self, volume: VolumeRecord, reference: dict[str, Any]) -> BackendObject:
        """:meth:`get_identity` with the object's original name and size in bytes, in
        one look at the backend. This default knows only the identity and the name
        the reference gives; drivers that can tell more override it."""
        name = reference.get(SOURCE_NAME) if isinstance(reference, dict) else None
        identity = self.get_identity(volume, reference)
        return BackendObject(identity, name if isinstance(name, str) else None, None)

    @abc.abstractmethod
    def manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> str:
        """Give the object its managed name; returns the provider location.

        With ``identity`` (from :meth:`get_identity`), only the object that has it is
        renamed: a different object under the reference is refused, and one that
        takes its place during the rename is put back and refused.
        """

    def manage_many(self, calls: Sequence[ManageCall]) -> list[str | Exception]:
        """:meth:`manage` for each ``(volume, reference, identity)``: for each, in order,
        its provider location or the error its ``manage`` would have raised."""
        results: list[str | Exception] = []
        for volume, reference, identity in calls:
            try:
                results.append(self.manage(volume, reference, identity=identity))
            except Exception as error:
                results.append(error)
        return results

    @abc.abstractmethod
    def undo_manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> None:
        """Put the object back under its original name, exactly as it was.

        Only the object whose identity is ``identity`` (or the volume's recorded
        ``backend_identity``) is moved; anything else under the managed name is left
        alone and the call fails.
        """

    @abc.abstractmethod
    def unmanage(self, volume: VolumeRecord) -> None:
        """Stop managing: the object stays on the backend under its current name."""

    @abc.abstractmethod
    def list_manageable(self, managed: dict[str, str], page: PageRequest) -> list[dict[str, Any]]:
        """One page of the objects on the backend (sorted by ``reference`` or ``size``),
        as ``{reference, size, safe_to_manage, reason_not_safe, cinder_id,
        extra_info}``; ``managed`` maps managed names to volume ids."""

    def snapshot_managed_name(self, snapshot_id: str) -> str:
        """The name a managed snapshot gets (``[volume] snapshot_name_template``)."""
        return self.conf.volume.snapshot_name_template % snapshot_id

    def _no_snapshots(self) -> exception.SnapshotsNotSupported:
        return exception.SnapshotsNotSupported(
            backend=self.backend_name, reason=f"the {type(self).__name__} has no snapshots"
        )

    def describe_snapshot(
        self, volume: VolumeRecord, snapshot: SnapshotRecord, reference: dict[str, Any]
    ) -> BackendObject:
        """The object ``reference`` names, checked to be a snapshot of ``volume``'s
        object that may be managed (or already this snapshot's, renamed by an earlier
        run): its identity, original name and size in bytes. Raises
        ManageExistingInvalidReference (with the reason) otherwise."""
        raise self._no_snapshots()

    def manage_snapshot(
        self,
        volume: VolumeRecord,
        snapshot: SnapshotRecord,
        reference: dict[str, Any],
        *,
        identity: str | None = None,
    ) -> str:
        """Give the snapshot object its managed name (only the object that has
        ``identity``); returns the provider location."""
        raise self._no_snapshots()

    def undo_manage_snapshot(
        self,
        volume: VolumeRecord,
        snapshot: SnapshotRecord,
        reference: dict[str, Any],
        *,
        identity: str | None = None,
    ) -> None:
        """Put the snapshot object back under its original name, exactly as it was."""
        raise self._no_snapshots()

    def unmanage_snapshot(self, snapshot: SnapshotRecord) -> None:
        """Stop managing a snapshot: the object stays under its current name."""
        raise self._no_snapshots()

    def list_manageable_snapshots(
        self, managed: ManagedNames, page: PageRequest
    ) -> list[dict[str, Any]]:
        """One page of the snapshot objects of the backend (sorted as
        :meth:`list_manageable`), each with its ``source_reference``. A driver without
        snapshots has none to list."""
        check_page_parameters(page)
        return []

    @abc.abstractmethod
    def start_audit(self) -> BackendAudit:
        """Read the backend once for an audit; the reading checks volumes (see
        :class:`BackendAudit`). Raises VolumeDriverException when the backend cannot
        be read."""

    def list_managed_objects(self) -> Iterator[ManagedObject]:
        """Every object of the backend in managed form (its name made by the volume name
        template, or a mark volmgr wrote on it), read once, whether or not a volume row
        knows it; see :class:`ManagedObject`. Changes nothing on the backend. It is what
        an audit's reading finds (:meth:`BackendAudit.managed_objects`)."""
        with self.start_audit() as reading:
            yield from reading.managed_objects()

    @abc.abstractmethod
    def fingerprints(self, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """The fingerprint of each named object that is on the backend (every object
        when ``names`` is None), read in one look at the backend: ``{"name",
        "size_bytes", "identity", "reason_not_safe"}`` (see :func:`fingerprint`) plus
        the driver's own keys (``mtime_ns`` for files and images; an LV's uuid is its
        identity). An absent name is absent from the answer. Nothing is changed."""

    @abc.abstractmethod
    def get_capabilities(self) -> dict[str, Any]:
        """``{"backend_name", "vendor_name", "driver_version", "storage_protocol",
        "pools": [{"pool_name", "total_capacity_gb", "free_capacity_gb",
        "allocated_capacity_gb", "reserved_percentage", ...}]}``."""

    # -- chains (optional) ---------------------------------------------------------------

    def describe_chain(self, volume: VolumeRecord, reference: dict[str, Any]) -> Chain:
        """The object ``reference`` names as the base of a chain, with its members in
        order; ManageExistingInvalidReference when the chain cannot be adopted (a
        member in use, outside the backend, a backing loop, a branching chain...).
        This default refuses: the backend does not adopt chains."""
        raise exception.ManageExistingInvalidReference(
            ref=reference,
            reason=f"the {type(self).__name__} backend cannot adopt a volume with its snapshots",
        )

    def manage_chain(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        *,
        identity: str | None = None,
    ) -> ChainLocations:
        """Give the base (the object of ``identity``) its volume's managed name and
        each member its snapshot's, keeping every reference between them valid.

        ``links`` must be the chain's members as :meth:`describe_chain` found them, in
        order; a chain that changed since is refused. Idempotent; when it fails, every
        object of the chain is back under its original name before it raises."""
        self.describe_chain(volume, reference)
        raise NotImplementedError  # pragma: no cover - describe_chain refused already

    def undo_manage_chain(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        *,
        identity: str | None = None,
    ) -> None:
        """Put every object of the chain back under its original name with its
        original references. Only the objects whose identities the base and the
        links give are moved; idempotent."""
        self.describe_chain(volume, reference)


class ChainsByAdopter(VolumeDriver):
    """The chain calls of a driver whose ``chains`` (a :class:`ChainAdopter`) does the
    work; put it before the driver's other base class."""

    chains: ChainAdopter

    def describe_chain(self, volume: VolumeRecord, reference: dict[str, Any]) -> Chain:
        return self.chains.describe(volume, reference)

    def manage_chain(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        *,
        identity: str | None = None,
    ) -> ChainLocations:
        return self.chains.manage(volume, reference, links, identity)

    def undo_manage_chain(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        *,
        identity: str | None = None,
    ) -> None:
        self.chains.undo(volume, reference, links, identity)
