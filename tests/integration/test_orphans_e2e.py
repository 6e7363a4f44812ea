"""Orphan re-adoption across the real daemons, over RabbitMQ, on PostgreSQL.

The restored-database story through the RPC interface another service uses
(``ApiAPI.list_orphans`` and ``readopt_orphan``, API RPC 1.1, which asks the volume
service with volume RPC 1.2): volumes are managed, the rows of the test's projects
(volumes, their metadata, their quota usage) are saved as a backup would save them,
more volumes are managed, the saved rows are written back in place of the live
ones, and the orphans the restore left are re-adopted until everything agrees again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.integration import daemons
from tests.integration.conftest import Cluster
from volmgr_common import exception
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api
from volmgr_common.db import models, quota_audit

GIB = 1024**3
TABLES = (models.VolumeMetadata, models.Volume, models.QuotaUsage)


def _rows_of(session: Session, table: Any, projects: list[str]) -> Any:
    if table is models.VolumeMetadata:
        owned = sa.select(models.Volume.id).where(models.Volume.project_id.in_(projects))
        return sa.select(table).where(table.volume_id.in_(owned))
    return sa.select(table).where(table.project_id.in_(projects))


@db_api.reader
def backup(session: Session, projects: list[str]) -> dict[Any, list[dict[str, Any]]]:
    """The rows of ``projects``: their volumes, metadata and quota usage."""
    saved = {}
    for table in TABLES:
        stmt = _rows_of(session, table, projects)
        saved[table] = [
            dict(row._mapping)
            for row in session.execute(stmt.with_only_columns(*models.table_of(table).c))
        ]
    return saved


@db_api.writer
def restore(session: Session, projects: list[str], saved: dict[Any, list[dict[str, Any]]]) -> None:
    """Put the saved rows back in place of the live ones, in one transaction."""
    for table in TABLES:
        doomed = _rows_of(session, table, projects).with_only_columns(models.table_of(table).c.id)
        session.execute(
            sa.delete(models.table_of(table)).where(
                models.table_of(table).c.id.in_(doomed.scalar_subquery())
            )
        )
    for table in reversed(TABLES):
        if saved[table]:
            session.execute(sa.insert(models.table_of(table)), saved[table])


def manage_files(
    client: daemons.ApiClient, cluster: Cluster, ctxts: list[RequestContext], count: int
) -> list[dict[str, Any]]:
    volumes = []
    for n in range(count):
        ctxt = ctxts[n % len(ctxts)]
        name = daemons.unique_name("orphan-e2e")
        with (cluster.directory / name).open("wb") as handle:
            handle.truncate(GIB)
        volume = client.manage(ctxt, cluster.backend_host, name)
        volumes.append(client.wait_for_terminal(volume["id"], ctxt=ctxt))
        assert volumes[-1]["status"] == "available", volumes[-1]
    return volumes


def inodes(directory: Path, volumes: list[dict[str, Any]]) -> dict[str, int]:
    return {v["id"]: os.lstat(directory / f"volume-{v['id']}").st_ino for v in volumes}


def test_a_restored_database_is_brought_back_in_line(
    client: daemons.ApiClient, cluster: Cluster, db: db_api.Database
) -> None:
    ctxts = [client.context(), client.context()]
    projects = [str(c.project_id) for c in ctxts]
    admin = client.context("it-admin")
    before = manage_files(client, cluster, ctxts, 2)
    saved = backup(db, projects)
    after = manage_files(client, cluster, ctxts, 3)
    objects = inodes(cluster.directory, before + after)
    usage = {p: daemons.quota_usage(db, p) for p in projects}

    restore(db, projects, saved)
    orphans = {o["volume_id"]: o for o in client.api.list_orphans(admin, cluster.backend_host)}
    assert set(orphans) >= {v["id"] for v in after}
    assert not set(orphans) & {v["id"] for v in before}

    for volume in after:
        orphan = orphans[volume["id"]]
        assert orphan["project_id"] == volume["project_id"]
        readopted = client.api.readopt_orphan(admin, cluster.backend_host, orphan["name"])
        assert (readopted["id"], readopted["project_id"]) == (volume["id"], volume["project_id"])
    for volume in after:
        done = client.wait_for_terminal(volume["id"], ctxt=admin)
        assert done["status"] == "available", done
        assert done["provenance"]["readopted"] is True
    with pytest.raises(exception.ManageExistingAlreadyManaged):
        client.api.readopt_orphan(admin, cluster.backend_host, f"volume-{after[0]['id']}")

    assert inodes(cluster.directory, before + after) == objects, "nothing renamed"
    assert {p: daemons.quota_usage(db, p) for p in projects} == usage
    assert quota_audit.check(db) == []
    left = {o["volume_id"] for o in client.api.list_orphans(admin, cluster.backend_host)}
    assert not left & {v["id"] for v in before + after}
