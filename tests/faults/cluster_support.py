"""Members of a volume cluster in the fault suite: starting them, telling them apart.

The module's volume daemon is the first member (its module sets ``[DEFAULT]
cluster`` in ``OWN_ENV``); more members join it on the same file backend (one
shared directory). A member is told apart by the instance id of its running
process (the last start in its log, the prefix of its claims' tokens and the
owner of the adoption jobs it runs) and by the volumes its log says it finished.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tests.faults.conftest import FAST_RECOVERY, Env
from tests.integration import daemons

STARTED = re.compile(r"volmgr-volume started on (\S+) \(topic [^)]*instance (\w+)\)")
AVAILABLE = re.compile(r"Volume ([0-9a-f-]{36}) is available:")
RENAMED = re.compile(r"Volume ([0-9a-f-]{36}): renamed ")


def cluster_backend(env: Env, cluster: str) -> str:
    """``cluster@backend``: the name requests give the cluster of the env's backend."""
    return f"{cluster}@{env.volume.service_host.partition('@')[2]}"


def start_members(env: Env, cluster: str, hosts: Sequence[str]) -> list[daemons.Daemon]:
    """The module's volume daemon, then one more member of ``cluster`` per host, started."""
    sections = {k: dict(v) for k, v in FAST_RECOVERY.items()}
    sections["DEFAULT"]["cluster"] = cluster
    sections["image_backend"] = {"directory": env.directory}
    members = [env.volume]
    for host in hosts:
        member = env.factory.create(
            daemons.VOLUME,
            name=f"volmgr-volume-{host}",
            host=host,
            directory=env.directory,
            extra=sections,
        )
        member.start(env.db)
        members.append(member)
    return members


def instance(member: daemons.Daemon) -> str:
    """The instance id of the member's running process (the last start in its log)."""
    found = [m for m in STARTED.finditer(member.log_text()) if m.group(1) == member.service_host]
    assert found, f"{member.name} logged no start:\n{member.tail()}"
    return found[-1].group(2)


def finished_by(member: daemons.Daemon) -> list[str]:
    """Ids of the volumes the member's log says it made available."""
    return AVAILABLE.findall(member.log_text())


def renamed_by(member: daemons.Daemon) -> list[str]:
    """Ids of the volumes whose objects the member's (debug) log says it renamed."""
    return RENAMED.findall(member.log_text())
