"""Rows for the drift tests, inserted as any schema from 0006 on holds them."""

import json
import uuid

import sqlalchemy as sa

from volmgr_common.db import api as db_api
from volmgr_common.db import models


def insert_volume(db: db_api.Database, host: str, status: str, name: str) -> str:
    """A volume row (and its own type) with only the columns revision 0006 has; its id."""
    type_id, volume_id = str(uuid.uuid4()), str(uuid.uuid4())
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO volume_types (id, name, is_public, created_at) "
                "VALUES (:id, :name, :true, :now)"
            ),
            {"id": type_id, "name": f"t-{type_id}", "true": True, "now": models.utcnow()},
        )
        connection.execute(
            sa.text(
                "INSERT INTO volumes (id, project_id, status, host, availability_zone, "
                "volume_type_id, size, bootable, reference, reference_key, quota_volumes, "
                "quota_gigabytes, created_at) VALUES (:id, 'p1', :status, :host, 'nova', "
                ":type_id, 7, :false, :ref, :key, :true, 7, :now)"
            ),
            {
                "id": volume_id,
                "status": status,
                "host": host,
                "type_id": type_id,
                "ref": json.dumps({"source-name": name}),
                "key": volume_id,
                "true": True,
                "false": False,
                "now": models.utcnow(),
            },
        )
    return volume_id
