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

The module also holds what every driver's manageable listing shares: the sort and
pagination of :func:`paginate` (which sorts cheap keys and lets the driver describe
only the page it returns) and the entry shape of :func:`manageable_entry`; and
what plans and jobs compare: the shape of a fingerprint (:func:`fingerprint`) and
what changed between two (:func:`fingerprint_changes`).
"""

import abc
import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from oslo_config import cfg

from volmgr_common import exception
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.page_request import MANAGEABLE_DEFAULT_SORT, MANAGEABLE_SORT_KEYS, PageRequest

GIB = 1024**3
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


def managed_name_pattern(template: str) -> re.Pattern[str]:
    """A pattern matching the names ``template`` gives volumes (``%s`` = a UUID)."""
    return re.compile(UUID_PATTERN.join(re.escape(part) for part in template.split("%s")))


def size_in_gib(size_bytes: int) -> int:
    """Bytes rounded up to whole GiB (an empty object is 0 GiB)."""
    return -(-size_bytes // GIB)  # integer ceiling: exact even beyond 2**53 bytes


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


class VolumeDriver(abc.ABC):
    """Abstract backend driver. ``volume`` arguments are volume records (db.volume_record)."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.backend_name: str = conf.volume.backend_name

    def managed_name(self, volume_id: str) -> str:
        return self.conf.volume.volume_name_template % volume_id

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
