"""The typed values of a manage request as it crosses the services.

``ManageRequest`` is what a caller asks of volmgr-api: it is built once where the
request arrives (the REST handler, the RPC endpoint; ``volmgr_api.validation``
checks it there) and the API's flow carries it as it is. ``RequestSpec`` is what
the scheduler needs to place the request's row.

Over RPC both travel as plain dicts (``to_wire``) and are rebuilt on arrival
(``from_wire``): the keys are those RPC 1.0 always carried, so senders and
receivers of other versions read them unchanged. Plain data only: this module
imports nothing of volmgr's daemons.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

REQUIRED_FIELDS = ("host", "ref")
"""The fields a manage request must name; the others have defaults."""


@dataclasses.dataclass(frozen=True)
class ManageRequest:
    """Bring the object ``ref`` on ``host`` (``host@backend[#pool]``) under management."""

    host: str
    ref: dict[str, Any]
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    bootable: bool = False
    with_snapshots: bool = False
    """Adopt the object with the snapshots built on it (a chain), in one request."""
    volume_id: str | None = None
    """The id the new volume must have: set only by the API when it re-adopts an
    orphan under the volume id its name carries; never a caller's field, never on
    the wire."""

    @property
    def backend(self) -> str:
        """``host@backend`` without the pool."""
        return self.host.partition("#")[0]

    def to_wire(self) -> dict[str, Any]:
        """The keyword arguments of the RPC ``manage_existing`` call (``with_snapshots``
        only when set: the API RPC knows it from 1.3)."""
        wire = {name: getattr(self, name) for name in FIELDS}
        if not self.with_snapshots:
            del wire["with_snapshots"]
        return wire


FIELDS = tuple(
    field.name for field in dataclasses.fields(ManageRequest) if field.name != "volume_id"
)
"""Every field of a manage request, in the order the API checks them."""


@dataclasses.dataclass(frozen=True)
class RequestSpec:
    """What the scheduler needs to place a manage request (its size is not known yet)."""

    host: str
    availability_zone: str | None = None
    volume_type: str | None = None
    extra_specs: dict[str, str] = dataclasses.field(default_factory=dict)
    size: int | None = None
    volume_id: str | None = None

    @classmethod
    def for_manage(
        cls, host: str, zone: str, volume_type: Mapping[str, Any], volume_id: str | None = None
    ) -> "RequestSpec":
        """The spec of a manage on ``host`` in ``zone``, of a volume type row."""
        return cls(
            host=host,
            availability_zone=zone,
            volume_type=volume_type["name"],
            extra_specs=dict(volume_type["extra_specs"]),
            volume_id=volume_id,
        )

    @property
    def backend(self) -> str:
        """``host@backend`` without the pool."""
        return self.host.partition("#")[0]

    @property
    def pool(self) -> str | None:
        """The pool the request names, if any."""
        return self.host.partition("#")[2] or None

    def for_volume(self, volume_id: str) -> "RequestSpec":
        """This spec, naming the volume row it places."""
        return dataclasses.replace(self, volume_id=volume_id)

    def to_wire(self) -> dict[str, Any]:
        """The ``request_spec`` argument of the scheduler's casts."""
        wire: dict[str, Any] = {
            "host": self.host,
            "backend": self.backend,
            "pool": self.pool,
            "availability_zone": self.availability_zone,
            "volume_type": self.volume_type,
            "extra_specs": dict(self.extra_specs),
            "size": self.size,
        }
        if self.volume_id is not None:
            wire["volume_id"] = self.volume_id
        return wire

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> "RequestSpec":
        """The spec a cast carried; keys it does not know (``backend``, ``pool``, derived
        from ``host``, or a newer sender's) are ignored. Raises KeyError without ``host``."""
        return cls(
            host=wire["host"],
            availability_zone=wire.get("availability_zone"),
            volume_type=wire.get("volume_type"),
            extra_specs=dict(wire.get("extra_specs") or {}),
            size=wire.get("size"),
            volume_id=wire.get("volume_id"),
        )


@dataclasses.dataclass(frozen=True)
class SnapshotRequest:
    """A checked request to manage an existing snapshot of volume ``volume_id``
    (``volmgr_api.validation.snapshot_request``)."""

    volume_id: str
    ref: dict[str, Any]
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """The keyword arguments of the RPC ``manage_existing_snapshot`` call."""
        return {name: getattr(self, name) for name in SNAPSHOT_FIELDS}


SNAPSHOT_FIELDS = tuple(field.name for field in dataclasses.fields(SnapshotRequest))
"""Every field of a snapshot manage request, in the order the API checks them."""

SNAPSHOT_REQUIRED_FIELDS = ("volume_id", "ref")
"""The fields a snapshot manage request must name; the others have defaults."""
