"""Microversions of the volume API, negotiated with the ``OpenStack-API-Version`` header.

A request names its version as ``OpenStack-API-Version: volume 3.8`` (or
``volume latest``); a request that names none is served as the minimum version.
A malformed version is a 400, a version outside [MIN, MAX] a 406. Every versioned
response carries the version it was served at, with ``Vary`` naming the header.

Version history (what volmgr implements of Cinder's history, for the routes it serves):

* 3.0  - Manage, manageable listing (os-volume-manage), volumes, services, quotas, types;
  snapshots: os-snapshot-manage (manage, listing), snapshots (list, show, delete of a
  failed manage, os-unmanage).
* 3.2  - The ``bootable`` filter of volume lists is parsed as a boolean.
* 3.3  - User messages (``GET messages``, ``GET messages/{id}``).
* 3.4  - The ``glance_metadata`` filter of volume lists (volmgr volumes carry none).
* 3.5  - Messages accept ``marker``, ``limit`` and ``sort``.
* 3.7  - Services show ``cluster``.
* 3.8  - ``manageable_volumes`` and ``manageable_snapshots`` resources: list, detail,
  and manage by POST.
* 3.10 - The ``group_id`` filter of volume lists (volmgr volumes are in no group).
* 3.12 - ``GET volumes/summary``.
* 3.13 - Volume views show ``group_id``.
* 3.14 - Snapshot views show ``group_snapshot_id`` (always null: no group snapshots).
* 3.16 - A manage request may name a ``cluster`` instead of a ``host``.
* 3.17 - Manageable listings accept ``cluster`` instead of ``host``.
* 3.21 - Volume details show ``provider_id`` to an admin (the backend object's identity).
* 3.22 - Snapshot lists take the ``metadata`` filter.
* 3.30 - Snapshot lists sort by ``name`` (volmgr accepts it at every version).
* 3.36 - ``volumes/summary`` lists the distinct ``metadata`` values of the volumes.
* 3.41 - Snapshot views show ``user_id``.
* 3.45 - Volume and snapshot lists accept ``with_count`` and then show ``count``.
* 3.48 - Volume details show ``shared_targets`` and ``service_uuid``.
* 3.49 - Services show a volume service's ``backend_state``.
* 3.61 - Volume details show ``cluster_name`` to an admin.
* 3.63 - Volume details show ``volume_type_id``.
* 3.65 - Volume details show ``consumes_quota``; volume lists accept it as a filter.
  Snapshot views show ``consumes_quota`` too.
* 3.67 - Every project route is also served without the project id (``/v3/volumes``),
  in the caller's project. As in Cinder, whose router adds both forms whatever the
  version, these URLs answer at every version: 3.67 only announces them.
* 3.69 - ``shared_targets`` may be null (volmgr's is unknown: true before 3.69).
* 3.71 - The maximum (Cinder 2024.1).

Versions that change nothing volmgr serves: 3.1 (image upload), 3.6 (consistency
groups), 3.9 (backups), 3.11 (group types), 3.15 (ETags of
volume updates), 3.18 - 3.20, 3.24 - 3.29, 3.35, 3.37, 3.38, 3.43, 3.44,
3.47, 3.51, 3.54 - 3.59, 3.62 and 3.66 (backups, groups, snapshots, attachments,
transfers, clusters, workers, pools, default types: resources volmgr does not serve),
3.23 (``force`` on delete: volmgr deletes only failed manages, never backend data, so
there is nothing to force), 3.32 (service log levels, not served), 3.39 (limits, not
served), 3.40, 3.42, 3.46, 3.68 and 3.71's ``os-extend_volume_completion`` (volume
actions other than ``os-unmanage``, answered 400 at every version), 3.50
(multiattach: volmgr volumes are never attached), 3.53 (schemas of volume create and
update, not served), 3.64 (``encryption_key_id``: volmgr volumes are never
encrypted), 3.70 (transfers).

Listings (gated at Cinder's versions, served up to MAX):

* 3.31 - Generalized filters: a user's unknown filter is a 400 instead of being
  dropped; an administrator's ``key~`` is an inexact match.
* 3.33 - ``GET resource_filters``: the filters a user may use, per resource.
* 3.34 - A user's ``name~`` (a listed ``key~``) matches a part of the name.
* 3.52 - Volume type listings take the generalized filters (``is_public``,
  ``extra_specs``).
* 3.60 - Volume listings filter ``created_at``/``updated_at`` by comparisons
  (``gt:``, ``gte:``, ``eq:``, ``neq:``, ``lt:``, ``lte:``).
"""

import dataclasses
import re
from functools import total_ordering

HEADER = "OpenStack-API-Version"
SERVICE = "volume"
MIN_VERSION = "3.0"
MAX_VERSION = "3.71"
_PATTERN = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


class InvalidVersion(ValueError):
    """The header names a version that is not of the form X.Y (400)."""


class UnsupportedVersion(ValueError):
    """The header names a version outside the supported range (406)."""


@total_ordering
@dataclasses.dataclass(frozen=True)
class APIVersion:
    """One microversion, comparable with another or with a string ``"3.8"``."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> "APIVersion":
        match = _PATTERN.match(text.strip())
        if not match:
            raise InvalidVersion(f"Version {text!r} is not of the form X.Y (for example 3.8).")
        return cls(int(match.group(1)), int(match.group(2)))

    def _key(self, other: "APIVersion | str") -> tuple[int, int]:
        return (other.major, other.minor) if isinstance(other, APIVersion) else _tuple(other)

    def __lt__(self, other: "APIVersion | str") -> bool:
        return (self.major, self.minor) < self._key(other)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, APIVersion | str):
            return NotImplemented
        return (self.major, self.minor) == self._key(other)

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def matches(self, minimum: str, maximum: str | None = None) -> bool:
        """True if this version is in [minimum, maximum] (no maximum: open-ended)."""
        return self >= minimum and (maximum is None or self <= maximum)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def _tuple(text: str) -> tuple[int, int]:
    version = APIVersion.parse(text)
    return version.major, version.minor


MIN = APIVersion.parse(MIN_VERSION)
MAX = APIVersion.parse(MAX_VERSION)


def negotiate(header: str | None) -> APIVersion:
    """The version a request is served at, from its ``OpenStack-API-Version`` header."""
    if not header:
        return MIN
    requested = None
    for item in header.split(","):
        words = item.split()
        if len(words) == 2 and words[0].lower() == SERVICE:
            requested = words[1]
            break
    if requested is None:
        return MIN
    if requested.lower() == "latest":
        return MAX
    version = APIVersion.parse(requested)
    if not MIN <= version <= MAX:
        raise UnsupportedVersion(
            f"Version {version} is not supported by the API. Minimum is {MIN} and maximum is {MAX}."
        )
    return version
