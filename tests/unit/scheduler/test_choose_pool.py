"""Unit tests of Placement.choose_pool: which pool of a backend takes a volume.

Backend states come from a real HostManager fed with ``update`` (the capability
fanout) and from services registered in a SQLite database; the manager's RPC
clients sit on oslo.messaging's in-process ``fake:`` transport and send nothing.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from volmgr_common import cache, exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models
from volmgr_common.db import services as services_db
from volmgr_common.manage_request import RequestSpec
from volmgr_scheduler.host_manager import VOLUME_BINARY, HostManager
from volmgr_scheduler.placement import Placement

BACKEND = "node1@files"


@pytest.fixture
def scheduler_conf(conf_factory: Callable[..., cfg.ConfigOpts]) -> cfg.ConfigOpts:
    return conf_factory(transport_url="fake:")


@pytest.fixture
def hosts(scheduler_conf: cfg.ConfigOpts, db: db_api.Database) -> HostManager:
    return HostManager(scheduler_conf, db)


@pytest.fixture
def scheduler(scheduler_conf: cfg.ConfigOpts, hosts: HostManager) -> Placement:
    return Placement(scheduler_conf, hosts)


def register(db: db_api.Database, backend: str = BACKEND, zone: str = "nova") -> int:
    return services_db.register(db, backend, VOLUME_BINARY, "volmgr-volume", zone)


def pool(name: str, free: Any, total: Any = 1000.0, **extra: Any) -> dict[str, Any]:
    return {
        "pool_name": name,
        "total_capacity_gb": total,
        "free_capacity_gb": free,
        "reserved_percentage": 0,
        **extra,
    }


def capabilities(*pools: dict[str, Any], **common: Any) -> dict[str, Any]:
    return {"backend_name": "files", "storage_protocol": "file", "pools": list(pools), **common}


def spec(host: str = BACKEND, **values: Any) -> RequestSpec:
    wire = {"host": host, "availability_zone": "nova", "extra_specs": {}, "size": None, **values}
    return RequestSpec.from_wire(wire)


def set_heartbeat(db: db_api.Database, service_id: int, seconds_ago: int) -> None:
    with db.session(write=True) as session:
        session.execute(
            sa.update(models.Service)
            .where(models.Service.id == service_id)
            .values(last_heartbeat=models.utcnow() - dt.timedelta(seconds=seconds_ago))
        )


def test_an_unknown_backend_is_no_valid_backend(scheduler: Placement) -> None:
    with pytest.raises(exception.NoValidBackend, match="node9@files reports no pools"):
        scheduler.choose_pool(spec("node9@files"))


def test_a_backend_without_pools_is_no_valid_backend(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    register(db)
    with pytest.raises(exception.NoValidBackend, match="reports no pools"):
        scheduler.choose_pool(spec())
    hosts.update(BACKEND, capabilities())
    with pytest.raises(exception.NoValidBackend, match="reports no pools"):
        scheduler.choose_pool(spec())


def test_a_named_pool_that_does_not_exist(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    register(db)
    hosts.update(BACKEND, capabilities(pool("default", 10.0)))
    with pytest.raises(exception.NoValidBackend) as raised:
        scheduler.choose_pool(spec(f"{BACKEND}#nopool"))
    assert (
        str(raised.value) == f"No valid backend was found. backend {BACKEND} has no pool 'nopool'"
    )


def test_the_pool_with_most_free_space_is_chosen(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    register(db)
    hosts.update(BACKEND, capabilities(pool("a", 10.0), pool("b", 500.0), pool("c", 20.0)))
    chosen = scheduler.choose_pool(spec())
    assert (chosen.pool_name, chosen.host) == ("b", f"{BACKEND}#b")
    assert chosen.capabilities["storage_protocol"] == "file"
    assert chosen.availability_zone == "nova"


def test_a_named_pool_is_taken_even_with_less_space(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    register(db)
    hosts.update(BACKEND, capabilities(pool("a", 10.0), pool("b", 500.0)))
    assert scheduler.choose_pool(spec(f"{BACKEND}#a")).pool_name == "a"


def test_pools_that_fail_a_filter_are_skipped(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    register(db)
    hosts.update(
        BACKEND,
        capabilities(pool("big", 500.0, thin=False), pool("small", 10.0, thin=True)),
    )
    assert scheduler.choose_pool(spec(extra_specs={"thin": "<is> True"})).pool_name == "small"


def test_the_reasons_of_every_pool_are_given(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    register(db)
    hosts.update(BACKEND, capabilities(pool("a", 10.0), pool("b", 20.0)))
    with pytest.raises(exception.NoValidBackend) as raised:
        scheduler.choose_pool(spec(extra_specs={"replication": "<is> True"}))
    assert str(raised.value) == (
        "No valid backend was found. "
        f"{BACKEND}#a does not report 'replication' required by the volume type; "
        f"{BACKEND}#b does not report 'replication' required by the volume type."
    )


def test_a_down_service_is_rejected(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    service_id = register(db)
    hosts.update(BACKEND, capabilities(pool("default", 10.0)))
    set_heartbeat(db, service_id, seconds_ago=60)
    with pytest.raises(exception.NoValidBackend, match="is down"):
        scheduler.choose_pool(spec())


def test_a_service_whose_heartbeat_is_from_the_future_is_down(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    service_id = register(db)
    hosts.update(BACKEND, capabilities(pool("default", 10.0)))
    set_heartbeat(db, service_id, seconds_ago=-3600)  # stamped by a clock an hour ahead
    with pytest.raises(exception.NoValidBackend, match="is down"):
        scheduler.choose_pool(spec())


def test_a_service_row_answers_for_one_second(
    scheduler: Placement,
    db: db_api.Database,
    hosts: HostManager,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(cache, "_now", lambda: clock[0])
    service_id = register(db)
    hosts.update(BACKEND, capabilities(pool("default", 10.0)))
    set_heartbeat(db, service_id, seconds_ago=60)
    with pytest.raises(exception.NoValidBackend, match="is down"):
        scheduler.choose_pool(spec())
    set_heartbeat(db, service_id, seconds_ago=0)
    clock[0] += cache.ROW_TTL / 2
    with pytest.raises(exception.NoValidBackend, match="is down"):
        scheduler.choose_pool(spec())
    clock[0] += cache.ROW_TTL
    assert scheduler.choose_pool(spec()).pool_name == "default"


def test_a_disabled_service_is_rejected(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    register(db)
    hosts.update(BACKEND, capabilities(pool("default", 10.0)))
    services_db.set_disabled(db, BACKEND, VOLUME_BINARY, True, "maintenance")
    with pytest.raises(exception.NoValidBackend, match="is disabled"):
        scheduler.choose_pool(spec())


def test_another_zone_is_rejected(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    register(db, zone="az1")
    hosts.update(BACKEND, capabilities(pool("default", 10.0)))
    with pytest.raises(exception.NoValidBackend, match="is in zone 'az1', not 'nova'"):
        scheduler.choose_pool(spec())
    hosts.update(BACKEND, capabilities(pool("default", 10.0), availability_zone="nova"))
    assert scheduler.choose_pool(spec()).availability_zone == "nova"


def test_the_stored_report_serves_a_scheduler_that_heard_nothing(
    scheduler: Placement, db: db_api.Database
) -> None:
    service_id = register(db)
    services_db.heartbeat(db, service_id, capabilities(pool("stored", 10.0)))
    assert scheduler.choose_pool(spec()).pool_name == "stored"


def test_a_fresh_report_wins_over_the_stored_one(
    scheduler: Placement, db: db_api.Database, hosts: HostManager
) -> None:
    service_id = register(db)
    services_db.heartbeat(db, service_id, capabilities(pool("stored", 10.0)))
    hosts.update(BACKEND, capabilities(pool("fresh", 10.0)))
    assert scheduler.choose_pool(spec()).pool_name == "fresh"


@pytest.mark.parametrize(
    "bad",
    [{"free_capacity_gb": "lots"}, {"reserved_percentage": "ten"}, {"total_capacity_gb": None}],
    ids=["free-not-a-number", "reserved-not-a-number", "total-missing"],
)
def test_a_malformed_report_rejects_the_pool_not_the_request(
    scheduler: Placement, db: db_api.Database, hosts: HostManager, bad: dict[str, Any]
) -> None:
    # A driver (any class named by [volume] volume_driver) reported nonsense: the
    # request must fail as NoValidBackend, which records error_managing. Any other
    # error leaves the volume managing for ever (see the functional test).
    register(db)
    hosts.update(BACKEND, capabilities({**pool("default", 10.0), **bad}))
    with pytest.raises(exception.NoValidBackend, match="default"):
        scheduler.choose_pool(spec())
