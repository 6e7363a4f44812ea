"""Unit tests of the API's manage-existing flow (volmgr_api.flows.manage_existing).

Each task's execute and revert run against a SQLite database; the scheduler is a
stand-in that keeps what it was sent (or cannot be reached). The flow's wiring,
``requires`` and ``provides``, is checked without running it, as octavia does.
"""

import datetime as dt
import json
from typing import Any

import oslo_messaging as messaging
import pytest
import sqlalchemy as sa
from oslo_config import cfg
from taskflow.types import failure

from volmgr_api.flows import manage_existing as api_flow
from volmgr_common import context, exception
from volmgr_common.db import api as db_api
from volmgr_common.db import (
    models,
    quota,
    volume_creation,
    volume_ownership,
    volume_record,
    volume_transitions,
)
from volmgr_common.db import services as services_db
from volmgr_common.db import volume_types as types_db
from volmgr_common.db import volumes as volumes_db
from volmgr_common.flows import run_flow
from volmgr_common.manage_request import ManageRequest, RequestSpec
from volmgr_scheduler import rpcapi as scheduler_rpcapi

PROJECT = "project-a"
BACKEND = "node1@files"
CTXT = context.RequestContext(user_id="user-a", project_id=PROJECT, roles=["member"])


class RecordingScheduler(scheduler_rpcapi.SchedulerAPI):
    """The scheduler's client, keeping the casts instead of sending them."""

    def __init__(self, error: Exception | None = None) -> None:
        self.casts: list[tuple[str, RequestSpec]] = []
        self.error = error

    def manage_existing(
        self, ctxt: context.RequestContext, volume_id: str, request_spec: RequestSpec
    ) -> None:
        if self.error is not None:
            raise self.error
        self.casts.append((volume_id, request_spec))


@pytest.fixture
def backend(db: db_api.Database) -> int:
    """An up volume service for BACKEND in zone ``nova``."""
    return services_db.register(db, BACKEND, api_flow.VOLUME_BINARY, "volmgr-volume", "nova")


def inputs(ctxt: context.RequestContext = CTXT, **overrides: Any) -> dict[str, Any]:
    """The flow's store: the caller's context and request (fields as the edge checked them)."""
    fields: dict[str, Any] = {
        "host": f"{BACKEND}#pool0",
        "ref": {"source-name": "disk1"},
        "name": "disk1",
        "metadata": {"team": "a"},
        **overrides,
    }
    return {api_flow.CONTEXT: ctxt, api_flow.REQUEST: ManageRequest(**fields)}


def extract(
    conf: cfg.ConfigOpts, db: db_api.Database, **overrides: Any
) -> api_flow.AcceptedRequest:
    return api_flow.ExtractManageRequest(conf, db).execute(**inputs(**overrides))


def in_use(db: db_api.Database) -> dict[str, int]:
    usage = quota.usage(db, PROJECT, quota.DefaultLimits(10, 100, -1, 600))
    assert {r: u["reserved"] for r, u in usage.items() if u["reserved"]} == {}
    return {resource: u["in_use"] for resource, u in usage.items() if u["in_use"]}


def volume_count(db: db_api.Database) -> int:
    with db.session(write=False) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(models.Volume)) or 0


def set_heartbeat_age(db: db_api.Database, service_id: int, seconds: int) -> None:
    with db.session(write=True) as session:
        row = session.get(models.Service, service_id)
        assert row is not None and row.last_heartbeat is not None
        row.last_heartbeat = models.utcnow() - dt.timedelta(seconds=seconds)


# -- the flow, not run -----------------------------------------------------------------


def test_flow_tasks_run_in_order(conf: cfg.ConfigOpts, db: db_api.Database) -> None:
    flow = api_flow.get_flow(conf, db, RecordingScheduler())
    assert [task.name for task in flow] == ["ExtractManageRequest", "EntryCreate", "ManageCast"]


def test_flow_requires_the_request_and_provides_the_volume(
    conf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    flow = api_flow.get_flow(conf, db, RecordingScheduler())
    assert set(flow.requires) == {api_flow.CONTEXT, api_flow.REQUEST}
    assert set(flow.provides) == {api_flow.ACCEPTED, api_flow.VOLUME}


def test_each_task_needs_only_what_earlier_tasks_or_the_caller_provide(
    conf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    available = {api_flow.CONTEXT, api_flow.REQUEST}
    for task in api_flow.get_flow(conf, db, RecordingScheduler()):
        assert set(task.requires) <= available, task.name
        available |= set(task.provides)
    tasks = {task.name: task for task in api_flow.get_flow(conf, db, RecordingScheduler())}
    assert set(tasks["EntryCreate"].requires) == {api_flow.ACCEPTED}
    assert set(tasks["ManageCast"].requires) == {api_flow.CONTEXT, "volume", "accepted"}


# -- ExtractManageRequest --------------------------------------------------------------


@pytest.mark.usefixtures("backend")
def test_extract_resolves_type_zone_and_target(conf: cfg.ConfigOpts, db: db_api.Database) -> None:
    accepted = extract(conf, db)
    new = accepted.new_volume()
    ref_key = volume_creation.reference_key(BACKEND, {"source-name": "disk1"})
    assert new.values == {
        "project_id": PROJECT,
        "user_id": "user-a",
        "display_name": "disk1",
        "display_description": None,
        "host": f"{BACKEND}#pool0",
        "cluster_name": None,
        "availability_zone": "nova",
        "volume_type_id": types_db.get_by_name_or_id(db, "__DEFAULT__")["id"],
        "bootable": False,
        "with_snapshots": False,
        "reference": json.dumps({"source-name": "disk1"}),
        "reference_key": ref_key,
        "request_id": CTXT.request_id,
    }
    assert new.metadata == {"team": "a"}
    assert new.type_name == "__DEFAULT__"
    assert accepted.request_spec("v1").to_wire() == {
        "host": f"{BACKEND}#pool0",
        "backend": BACKEND,
        "pool": "pool0",
        "availability_zone": "nova",
        "volume_type": "__DEFAULT__",
        "extra_specs": {},
        "size": None,
        "volume_id": "v1",
    }


@pytest.mark.usefixtures("backend")
def test_extract_takes_a_named_type_with_its_extra_specs(
    conf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    gold = types_db.create(db, "gold", {"storage_protocol": "file"})
    for name_or_id in ("gold", gold["id"]):
        accepted = extract(conf, db, volume_type=name_or_id, host=BACKEND)
        assert accepted.new_volume().type_name == "gold"
        assert accepted.request_spec("v1").extra_specs == {"storage_protocol": "file"}
        assert accepted.request_spec("v1").pool is None


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize(
    ("overrides", "error", "text"),
    [
        ({"volume_type": "platinum"}, exception.InvalidVolumeType, "'platinum' volume type"),
        ({"volume_type": 7}, exception.InvalidInput, "volume_type must be"),
        ({"host": "node2@files"}, exception.BackendNotFound, "Host 'node2@files' not found"),
        ({"availability_zone": "az9"}, exception.InvalidInput, "not 'az9'"),
        (
            {"ctxt": context.RequestContext(user_id="u", project_id=None)},
            exception.InvalidInput,
            "names no project",
        ),
    ],
    ids=[
        "unknown-type",
        "bad-type",
        "service-missing",
        "zone-mismatch",
        "no-project",
    ],
)
def test_extract_refuses_bad_requests(
    conf: cfg.ConfigOpts,
    db: db_api.Database,
    overrides: dict[str, Any],
    error: type[Exception],
    text: str,
) -> None:
    with pytest.raises(error, match=text):
        extract(conf, db, **overrides)
    assert volume_count(db) == 0


def test_a_refused_request_creates_no_volume_type(
    conf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    # No volume service is registered: the request is refused, and must leave the
    # database as it was (the default type is made on first *use*).
    with pytest.raises(exception.BackendNotFound):
        extract(conf, db)
    assert types_db.list_all(db) == []


def test_extract_refuses_a_disabled_service(
    conf: cfg.ConfigOpts, db: db_api.Database, backend: int
) -> None:
    services_db.set_disabled(db, BACKEND, api_flow.VOLUME_BINARY, True, "maintenance")
    with pytest.raises(exception.ServiceUnavailable, match="disabled: maintenance"):
        extract(conf, db)


def test_extract_refuses_a_down_service(
    conf: cfg.ConfigOpts, db: db_api.Database, backend: int
) -> None:
    set_heartbeat_age(db, backend, conf.service_down_time + 5)
    with pytest.raises(exception.ServiceUnavailable, match="no heartbeat for more than 10s"):
        extract(conf, db)
    set_heartbeat_age(db, backend, 0)
    assert extract(conf, db).availability_zone == "nova"


def test_extract_revert_leaves_nothing_behind(conf: cfg.ConfigOpts, db: db_api.Database) -> None:
    task = api_flow.ExtractManageRequest(conf, db)
    task.revert(result=failure.Failure.from_exception(exception.InvalidInput(reason="x")))
    assert volume_count(db) == 0


# -- EntryCreate -----------------------------------------------------------------------


@pytest.fixture
def request_(conf: cfg.ConfigOpts, db: db_api.Database, backend: int) -> api_flow.AcceptedRequest:
    return extract(conf, db)


def test_entry_create_writes_a_managing_row_with_one_volume_of_quota(
    conf: cfg.ConfigOpts, db: db_api.Database, request_: api_flow.AcceptedRequest
) -> None:
    volume = api_flow.EntryCreate(conf, db).execute(request_)
    assert volumes_db.get(db, volume["id"])["status"] == volume_record.MANAGING
    assert volume["metadata"] == {"team": "a"}
    assert in_use(db) == {"volumes": 1, "volumes___DEFAULT__": 1}


def test_entry_create_refuses_a_reference_already_held(
    conf: cfg.ConfigOpts, db: db_api.Database, request_: api_flow.AcceptedRequest
) -> None:
    holder = api_flow.EntryCreate(conf, db).execute(request_)
    with pytest.raises(exception.ManageExistingAlreadyManaged, match=holder["id"]):
        api_flow.EntryCreate(conf, db).execute(request_)
    assert in_use(db) == {"volumes": 1, "volumes___DEFAULT__": 1}


def test_entry_create_revert_removes_the_row_and_gives_quota_back(
    conf: cfg.ConfigOpts, db: db_api.Database, request_: api_flow.AcceptedRequest
) -> None:
    task = api_flow.EntryCreate(conf, db)
    volume = task.execute(request_)
    task.revert(result=volume)
    with pytest.raises(exception.VolumeNotFound):
        volumes_db.get(db, volume["id"])
    assert in_use(db) == {}
    task.revert(result=volume)
    assert in_use(db) == {}


def test_entry_create_revert_of_its_own_failure_does_nothing(
    conf: cfg.ConfigOpts, db: db_api.Database, request_: api_flow.AcceptedRequest
) -> None:
    task = api_flow.EntryCreate(conf, db)
    holder = task.execute(request_)
    with pytest.raises(exception.ManageExistingAlreadyManaged) as raised:
        task.execute(request_)
    task.revert(result=failure.Failure.from_exception(raised.value))
    assert volumes_db.get(db, holder["id"])["status"] == volume_record.MANAGING
    assert in_use(db) == {"volumes": 1, "volumes___DEFAULT__": 1}


def test_entry_create_revert_keeps_a_failed_record(
    conf: cfg.ConfigOpts, db: db_api.Database, request_: api_flow.AcceptedRequest
) -> None:
    task = api_flow.EntryCreate(conf, db)
    volume = task.execute(request_)
    volume_transitions.fail_manage(db, volume["id"], "cast failed", None)
    task.revert(result=volume)
    assert volumes_db.get(db, volume["id"])["status"] == volume_record.ERROR_MANAGING


# -- ManageCast ------------------------------------------------------------------------


def test_manage_cast_sends_the_request_spec_with_the_volume_id(
    conf: cfg.ConfigOpts, db: db_api.Database, request_: api_flow.AcceptedRequest
) -> None:
    volume = api_flow.EntryCreate(conf, db).execute(request_)
    scheduler = RecordingScheduler()
    api_flow.ManageCast(db, scheduler).execute(CTXT, volume, request_)
    assert scheduler.casts == [(volume["id"], request_.request_spec(volume["id"]))]
    assert scheduler.casts[0][1].to_wire()["volume_id"] == volume["id"]


def test_a_cast_the_broker_refuses_is_messaging_unavailable(
    conf: cfg.ConfigOpts, db: db_api.Database, request_: api_flow.AcceptedRequest
) -> None:
    volume = api_flow.EntryCreate(conf, db).execute(request_)
    error = messaging.MessageDeliveryFailure("broker unreachable")
    with pytest.raises(exception.MessagingUnavailable) as raised:
        api_flow.ManageCast(db, RecordingScheduler(error)).execute(CTXT, volume, request_)
    assert raised.value.code == 503
    assert raised.value.__cause__ is error
    assert exception.MessagingUnavailable in exception.REMOTE_EXCEPTIONS


# -- the flow, run ---------------------------------------------------------------------


@pytest.mark.usefixtures("backend")
def test_the_flow_accepts_a_request_and_casts_it(conf: cfg.ConfigOpts, db: db_api.Database) -> None:
    scheduler = RecordingScheduler()
    results = run_flow(api_flow.get_flow(conf, db, scheduler), inputs())
    volume = results[api_flow.VOLUME]
    assert volumes_db.get(db, volume["id"])["status"] == volume_record.MANAGING
    assert [volume_id for volume_id, _spec in scheduler.casts] == [volume["id"]]
    assert in_use(db) == {"volumes": 1, "volumes___DEFAULT__": 1}


@pytest.mark.usefixtures("backend")
def test_a_failed_cast_leaves_no_row_and_no_quota(
    conf: cfg.ConfigOpts, db: db_api.Database
) -> None:
    """The caller is refused (503), so no row may remain that nobody was told about."""
    scheduler = RecordingScheduler(messaging.MessageDeliveryFailure("broker unreachable"))
    with pytest.raises(exception.MessagingUnavailable):
        run_flow(api_flow.get_flow(conf, db, scheduler), inputs())
    assert volumes_db.list_volumes(db) == []
    assert in_use(db) == {}
    # The reference is free again: a retry is accepted.
    retry = run_flow(api_flow.get_flow(conf, db, RecordingScheduler()), inputs())
    assert retry[api_flow.VOLUME]["status"] == volume_record.MANAGING


@pytest.mark.usefixtures("backend")
def test_entry_create_revert_leaves_a_placed_row_to_finish(
    conf: cfg.ConfigOpts, db: db_api.Database, request_: api_flow.AcceptedRequest
) -> None:
    """A cast reported failed may have arrived after all: a row a scheduler placed runs on."""
    task = api_flow.EntryCreate(conf, db)
    volume = task.execute(request_)
    assert volume_ownership.place(db, volume["id"], f"{volume['host']}#default")
    task.revert(result=volume)
    assert volumes_db.get(db, volume["id"])["status"] == volume_record.MANAGING


@pytest.mark.usefixtures("backend")
def test_a_refused_request_writes_nothing(conf: cfg.ConfigOpts, db: db_api.Database) -> None:
    quota.set_limit(db, PROJECT, "volumes", 0)
    scheduler = RecordingScheduler()
    with pytest.raises(exception.OverQuota):
        run_flow(api_flow.get_flow(conf, db, scheduler), inputs())
    assert volume_count(db) == 0
    assert scheduler.casts == []
    assert in_use(db) == {}
