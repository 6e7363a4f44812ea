"""The migrations build exactly the schema the models describe, on every database.

Alembic's autogenerate comparison of the synced database with the models' metadata
must find nothing: a column, table, index or unique constraint added to one and not
the other fails here, not on an operator's upgrade.
"""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.db.test_backends import database  # noqa: F401 (a fixture)
from volmgr_common.db import api as db_api
from volmgr_common.db import models


def _differences(db: db_api.Database) -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "compare_server_default": False}
        )
        found = compare_metadata(context, models.Base.metadata)
    # alembic's own version table is not a model.
    return [diff for diff in found if "alembic_version" not in repr(diff)]


def test_the_synced_schema_is_the_models_schema(database: db_api.Database) -> None:  # noqa: F811
    assert _differences(database) == []
