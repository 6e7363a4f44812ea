"""The snapshot flows' shape, checked without running them (as octavia's flow tests do).

Each flow requires only what its caller stores, each task only what the store or an
earlier task gives, and the tasks come in the order the design states.
"""

from typing import Any

from oslo_config import cfg

from volmgr_api.flows import manage_snapshot as api_flow
from volmgr_common.db import api as db_api
from volmgr_volume.flows import manage_snapshot as volume_flow


def _checked(flow: Any, stored: set[str]) -> None:
    available = set(stored)
    for task in flow:
        assert set(task.requires) <= available, task.name
        available |= set(task.provides)


def test_the_volume_services_snapshot_flow(conf: cfg.ConfigOpts, db: db_api.Database) -> None:
    flow = volume_flow.get_flow(conf, db, driver=None, notifier=None)  # type: ignore[arg-type]
    assert [task.name for task in flow] == [
        "NotifySnapshotStart",
        "RecordSnapshotIdentity",
        "ChargeSnapshotGigabytes",
        "ManageSnapshot",
        "FinishSnapshot",
    ]
    stored = {volume_flow.CONTEXT, volume_flow.VOLUME, volume_flow.SNAPSHOT}
    assert set(flow.requires) == stored
    assert set(flow.provides) == {
        volume_flow.FOUND,
        volume_flow.SIZE,
        volume_flow.PROVIDER_LOCATION,
    }
    _checked(flow, stored)


def test_the_apis_snapshot_flow(conf: cfg.ConfigOpts, db: db_api.Database) -> None:
    flow = api_flow.get_flow(conf, db, volume=None)  # type: ignore[arg-type]
    assert [task.name for task in flow] == [
        "CheckSnapshotTarget",
        "CreateSnapshotEntry",
        "CastSnapshotManage",
    ]
    stored = {api_flow.CONTEXT, api_flow.REQUEST}
    assert set(flow.requires) == stored
    assert set(flow.provides) == {api_flow.BACKEND, api_flow.SNAPSHOT}
    _checked(flow, stored)
