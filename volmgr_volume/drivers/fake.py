"""Fake driver: an in-memory backend for tests only; it never holds real data.

Every reference ``{"source-name": str}`` names an existing object unless the name
starts with ``missing``. An object's size is the reference's ``size_gb`` or
``[fake_backend] object_size_gb``. Managing an object only records, on this driver
instance, that its managed name now stands for the original reference.

It remembers, as a backend's mark would, the project each object was managed for:
``list_managed_objects`` lists every managed object with it, and a reference naming
the volume's own managed name re-adopts that object where it stands.

Failures and delays can be injected at every step (``get_size``, ``manage``,
``undo_manage``, ``unmanage``, ``list``): for every call with ``[fake_backend]
fail_at`` and ``delay``, or for one reference with its keys ``fake-fail-at`` and
``fake-delay`` (``unmanage`` uses the reference given to ``manage``). Both delays
add up; the delay is slept before the failure.
"""

import threading
import time
from collections.abc import Container, Iterator, Mapping, Sequence
from typing import Any, NoReturn

from oslo_config import cfg
from oslo_log import log as logging

from volmgr_common import drift, exception
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers.base import (
    GIB,
    SOURCE_NAME,
    BackendAudit,
    ManagedObject,
    VolumeDriver,
    fingerprint,
    managed_name_pattern,
    paginate_manageable,
    volume_id_in,
)

LOG = logging.getLogger(__name__)

STEPS = ("get_size", "manage", "undo_manage", "unmanage", "list")
FAIL_AT = "fake-fail-at"
DELAY = "fake-delay"
SIZE = "size_gb"
ALLOWED_KEYS = frozenset({SOURCE_NAME, SIZE, FAIL_AT, DELAY})


def _invalid(reference: Any, reason: str) -> NoReturn:
    raise exception.ManageExistingInvalidReference(ref=reference, reason=reason)


def _check_reference(reference: Any) -> None:
    """Refuse anything but ``{"source-name": str}`` plus the optional fake keys."""
    if not isinstance(reference, Mapping) or SOURCE_NAME not in reference:
        _invalid(reference, "the reference must be a dict with 'source-name'")
    extra = sorted(str(key) for key in reference if key not in ALLOWED_KEYS)
    if extra:
        _invalid(reference, f"unexpected keys {extra}")
    name = reference[SOURCE_NAME]
    if not isinstance(name, str) or not name:
        _invalid(reference, "'source-name' must be a non-empty string")
    size = reference.get(SIZE, 0)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        _invalid(reference, f"'{SIZE}' must be a non-negative integer")
    if reference.get(FAIL_AT, STEPS[0]) not in STEPS:
        _invalid(reference, f"'{FAIL_AT}' must be one of {list(STEPS)}")
    delay = reference.get(DELAY, 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        _invalid(reference, f"'{DELAY}' must be a non-negative number")


class FakeAudit(BackendAudit):
    """A copy of what the fake driver holds (objects and projects), taken at once."""

    def __init__(
        self,
        driver: "FakeDriver",
        managed: dict[str, dict[str, Any]],
        projects: dict[str, str | None],
    ) -> None:
        self._driver = driver
        self._managed = managed
        self._projects = projects
        self._holders = {f"fake:{ref[SOURCE_NAME]}": name for name, ref in managed.items()}

    def managed_objects(self, known_ids: Container[str] = ()) -> Iterator[ManagedObject]:
        for name, reference in self._managed.items():
            volume_id = volume_id_in(self._driver._managed_re, name) or ""
            if volume_id in known_ids:
                continue
            yield ManagedObject(
                name=name,
                volume_id=volume_id,
                identity=f"fake:{reference[SOURCE_NAME]}",
                size_bytes=self._driver._size(reference) * GIB,
                original_name=reference[SOURCE_NAME],
                project_id=self._projects.get(name),
            )

    def check(self, volume: drift.AuditedVolume) -> drift.Drift | None:
        stored = self._managed.get(volume.managed_name)
        holder = None if stored is None else f"fake:{stored[SOURCE_NAME]}"
        if stored is not None and volume.identity in (None, holder):
            return drift.size_drift(volume, self._driver._size(stored) * GIB)
        moved = None if volume.identity is None else self._holders.get(volume.identity)
        if moved is not None and moved != volume.managed_name:
            return drift.renamed(volume, moved, holder)
        return drift.gone(volume, holder)


class FakeDriver(VolumeDriver):
    """In-memory driver for tests only; never use it for real data."""

    vendor_name = "volmgr"
    driver_version = "1.0"
    storage_protocol = "fake"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self._managed_re = managed_name_pattern(conf.volume.volume_name_template)
        self._lock = threading.Lock()
        # Managed name -> the original reference, as given to manage().
        self._managed: dict[str, dict[str, Any]] = {}
        # Source name -> managed name: the same records, looked up the other way.
        self._holders: dict[str, str] = {}
        # Managed name -> the project it was managed for (the fake's "mark").
        self._projects: dict[str, str | None] = {}

    # -- helpers -------------------------------------------------------------------------

    def _step(self, step: str, reference: Mapping[str, Any] | None = None) -> None:
        """Sleep the configured delays, then fail if this step is to fail."""
        reference = reference or {}
        delay = self.conf.fake_backend.delay + float(reference.get(DELAY, 0))
        if delay:
            time.sleep(delay)
        if step in (self.conf.fake_backend.fail_at, reference.get(FAIL_AT)):
            raise exception.VolumeDriverException(reason=f"fake failure injected at {step}")

    def _size(self, reference: Mapping[str, Any]) -> int:
        return int(reference.get(SIZE, self.conf.fake_backend.object_size_gb))

    def _record(self, target: str, reference: Mapping[str, Any]) -> None:
        """Note (under the lock) that ``target`` now stands for ``reference``."""
        self._managed[target] = dict(reference)
        self._holders[reference[SOURCE_NAME]] = target

    def _forget(self, target: str) -> dict[str, Any] | None:
        """Drop (under the lock) what ``target`` stands for; returns it, if any."""
        stored = self._managed.pop(target, None)
        self._projects.pop(target, None)
        if stored is not None:
            self._holders.pop(stored[SOURCE_NAME], None)
        return stored

    def _existing(self, reference: Any, step: str) -> str:
        """Check the reference, run the step's injections and return the source name."""
        _check_reference(reference)
        self._step(step, reference)
        name: str = reference[SOURCE_NAME]
        if name.startswith("missing"):
            _invalid(reference, f"object {name!r} does not exist")
        return name

    # -- the contract --------------------------------------------------------------------

    def get_size(self, volume: VolumeRecord, reference: dict[str, Any]) -> int:
        self._existing(reference, "get_size")
        with self._lock:
            stored = self._managed.get(self.managed_name(volume["id"]))
        return self._size(stored if stored is not None else reference)

    def get_identity(self, volume: VolumeRecord, reference: dict[str, Any]) -> str:
        """An in-memory object is its original source name (no delay or failure of its
        own), whatever name it has now."""
        _check_reference(reference)
        with self._lock:
            stored = self._managed.get(reference[SOURCE_NAME])
        return f"fake:{(stored or reference)[SOURCE_NAME]}"

    def manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> str:
        name = self._existing(reference, "manage")
        target = self.managed_name(volume["id"])
        with self._lock:
            if name == target:  # a re-adoption: the object stays where it is
                if target not in self._managed:
                    _invalid(reference, f"object {name!r} does not exist")
                self._projects[target] = volume.get("project_id")
                return target
            holder = self._holders.get(name)
            if holder == target:
                return target
            if holder is not None:
                raise exception.VolumeDriverException(
                    reason=f"object {name!r} is already managed as {holder}"
                )
            if target in self._managed:
                raise exception.VolumeDriverException(reason=f"{target} already holds an object")
            self._record(target, reference)
            self._projects[target] = volume.get("project_id")
        LOG.debug("Fake driver: %s managed as %s", name, target)
        return target

    def undo_manage(
        self, volume: VolumeRecord, reference: dict[str, Any], *, identity: str | None = None
    ) -> None:
        _check_reference(reference)
        self._step("undo_manage", reference)
        target = self.managed_name(volume["id"])
        if reference[SOURCE_NAME] == target:
            return  # a re-adoption renamed nothing
        with self._lock:
            stored = self._managed.get(target)
            if stored is None:
                return
            if stored[SOURCE_NAME] != reference[SOURCE_NAME]:
                raise exception.VolumeDriverException(
                    reason=f"{target} holds {stored[SOURCE_NAME]!r}, not {reference[SOURCE_NAME]!r}"
                )
            self._forget(target)
        LOG.info("Fake driver: %s put back as %s", target, reference[SOURCE_NAME])

    def unmanage(self, volume: VolumeRecord) -> None:
        target = volume.get("provider_location") or self.managed_name(volume["id"])
        with self._lock:
            stored = self._managed.get(target)
        self._step("unmanage", stored)
        with self._lock:
            self._forget(target)
        LOG.info("Fake driver: %s unmanaged (was %s)", target, stored)

    def start_audit(self) -> FakeAudit:
        """A copy of the managed objects (an audit fails where a listing would)."""
        self._step("list")
        with self._lock:
            managed = {name: dict(ref) for name, ref in self._managed.items()}
            return FakeAudit(self, managed, dict(self._projects))

    def list_manageable(self, managed: dict[str, str], page: PageRequest) -> list[dict[str, Any]]:
        self._step("list")
        with self._lock:
            known = dict(self._managed)
        entries = [
            {
                "reference": {SOURCE_NAME: name},
                "size": self._size(reference),
                "safe_to_manage": False,
                "reason_not_safe": "already managed",
                "cinder_id": managed.get(name),
                "extra_info": None,
            }
            for name, reference in known.items()
        ]
        return paginate_manageable(entries, page)

    def fingerprints(self, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Every name but ``missing…`` is an object of ``[fake_backend] object_size_gb``
        (one it manages keeps the size it was managed with); without ``names``, the
        objects it manages, as its listing shows them."""
        with self._lock:
            held = {
                self._managed[target][SOURCE_NAME]: self._managed[target]
                for target in self._managed
            }
        if names is None:
            names = sorted(held)
        return {
            name: fingerprint(
                name,
                self._size(held.get(name, {})) * GIB,
                f"fake:{name}",
                "already managed" if name in held else None,
            )
            for name in names
            if not name.startswith("missing")
        }

    def get_capabilities(self) -> dict[str, Any]:
        with self._lock:
            allocated = sum(self._size(ref) for ref in self._managed.values())
        total = self.conf.fake_backend.total_capacity_gb
        pool = {
            "pool_name": self.conf.fake_backend.pool_name,
            "total_capacity_gb": total,
            "free_capacity_gb": max(total - allocated, 0),
            "allocated_capacity_gb": allocated,
            "reserved_percentage": 0,
            "thin_provisioning_support": False,
        }
        return {
            "backend_name": self.backend_name,
            "vendor_name": self.vendor_name,
            "driver_version": self.driver_version,
            "storage_protocol": self.storage_protocol,
            "pools": [pool],
        }
