"""RPC version caps for rolling upgrades: ``[upgrade_levels]`` resolved to versions.

During a rolling upgrade, services of two releases run side by side. A client
of an RPC API must then send nothing newer than the oldest service that answers
it understands: ``[upgrade_levels] <api>`` caps the version it sends, either as
an RPC version (``1.0``) or as the volmgr release whose services are still
running (``0.1.0``: whatever that release's services understand). The clients
ask ``can_send_version`` before using a newer method and fall back to the older
ones (one batch cast of version 1.1 becomes single 1.0 casts).

``auto`` reads the cap from the services table instead: the oldest version that
any recorded service of that RPC API answers (each service records its version
when it starts). It is read when a client is made and again on SIGHUP, so once
the last old service is upgraded (and a retired one removed with ``volmgr-manage
service remove``), a SIGHUP lifts the cap without a restart.

This module names the RPC APIs and the versions each release speaks; it imports
no daemon package (each daemon's ``rpcapi`` module holds its current version, and
a unit test checks that the newest release here agrees with them).
"""

import re
from collections.abc import Callable, Iterable

from oslo_config import cfg

API_BINARIES = {
    "api": "volmgr-api",
    "scheduler": "volmgr-scheduler",
    "volume": "volmgr-volume",
}
"""The RPC APIs that can be capped (``[upgrade_levels]`` option names) and the
binary (services table) of the services that answer each."""

RELEASES: dict[str, dict[str, str]] = {
    "0.1.0": {"api": "1.0", "scheduler": "1.1", "volume": "1.1"},
    "0.2.0": {"api": "1.2", "scheduler": "1.1", "volume": "1.6"},
    "0.3.0": {"api": "1.3", "scheduler": "1.1", "volume": "1.7"},
}
"""The RPC API versions that the services of each volmgr release understand.

A new release adds a row here when it raises any RPC API's version; the row of the
release being replaced is what an operator names while both run."""

CURRENT_RELEASE = "0.3.0"
"""The release this code is; its row in :data:`RELEASES` is what it speaks."""

AUTO = "auto"
"""The ``[upgrade_levels]`` value that reads the cap from the services table."""

_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class UnknownUpgradeLevel(ValueError):
    """An ``[upgrade_levels]`` value that is neither a version nor a known release."""


def current_version(api: str) -> str:
    """The version of ``api`` that this release's services speak."""
    return RELEASES[CURRENT_RELEASE][api]


def parse(version: str) -> tuple[int, int]:
    """``"1.1"`` → ``(1, 1)``; raises :class:`UnknownUpgradeLevel` for anything else."""
    match = _VERSION.match(version)
    if match is None:
        raise UnknownUpgradeLevel(f"{version!r} is not an RPC version (MAJOR.MINOR)")
    return int(match.group(1)), int(match.group(2))


def resolve(api: str, level: str | None) -> str | None:
    """The version cap that ``level`` (an ``[upgrade_levels]`` value) sets for ``api``.

    None (unset) means no cap: clients send the newest version they know. A
    release name gives the version that release's services speak. A version must
    have the major version of this release's API (a cap of another major would
    forbid every method; oslo.messaging checks only minor versions against a cap).
    """
    if level is None or level == "":
        return None
    if level in RELEASES:
        return RELEASES[level][api]
    try:
        major, _minor = parse(level)
    except UnknownUpgradeLevel:
        raise UnknownUpgradeLevel(
            f"{level!r} is neither an RPC version (MAJOR.MINOR) nor a known release "
            f"({', '.join(sorted(RELEASES))})"
        ) from None
    current_major, _ = parse(current_version(api))
    if major != current_major:
        raise UnknownUpgradeLevel(
            f"{level} is not a version of the {api} RPC API (this release speaks "
            f"{current_version(api)}; known releases: {', '.join(sorted(RELEASES))})"
        )
    return level


def is_auto(conf: cfg.ConfigOpts, api: str) -> bool:
    """Whether ``[upgrade_levels] <api>`` is ``auto``."""
    return conf.upgrade_levels[api] == AUTO


def auto_cap(api: str, reported: Iterable[str | None]) -> str | None:
    """The ``auto`` cap of ``api`` given the versions its recorded services answer.

    A service that recorded no version started before the schema held one: it
    speaks what the oldest known release speaks. No service, or none older than
    this release: no cap.
    """
    oldest_release = min(RELEASES, key=_release_key)
    versions = [v if v is not None else RELEASES[oldest_release][api] for v in reported]
    if not versions:
        return None
    oldest = min(versions, key=parse)
    return oldest if newer(current_version(api), oldest) else None


def _release_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("."))


def version_cap(
    conf: cfg.ConfigOpts, api: str, reported: Callable[[str], Iterable[str | None]] | None = None
) -> str | None:
    """The cap ``[upgrade_levels] <api>`` sets in ``conf`` (None: no cap).

    ``auto`` needs ``reported``: the versions the recorded services of an RPC API
    answer (``volmgr_common.db.services.rpc_versions``).
    """
    if is_auto(conf, api):
        if reported is None:
            raise UnknownUpgradeLevel(
                f"[upgrade_levels] {api} = auto needs the services table, which this "
                "process does not read"
            )
        return auto_cap(api, reported(API_BINARIES[api]))
    return resolve(api, conf.upgrade_levels[api])


def validate(conf: cfg.ConfigOpts) -> None:
    """Raise :class:`UnknownUpgradeLevel` naming the option for any value that cannot be
    resolved (``auto`` always can)."""
    for api in API_BINARIES:
        if is_auto(conf, api):
            continue
        try:
            version_cap(conf, api)
        except UnknownUpgradeLevel as error:
            raise UnknownUpgradeLevel(f"[upgrade_levels] {api}: {error}") from error


def newer(version: str, than: str) -> bool:
    """Whether RPC version ``version`` is newer than ``than``."""
    return parse(version) > parse(than)
