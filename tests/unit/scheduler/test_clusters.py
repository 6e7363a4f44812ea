"""Unit tests: a cluster of volume services is one backend to the scheduler.

Members register with the cluster's name (``services.register(..., cluster_name)``)
in a SQLite database; capability reports arrive under the cluster's name, as the
members send them. A cluster is up while any enabled member is; the pool chosen is
the cluster's, so the cast goes to the cluster and any member takes it.
"""

from collections.abc import Callable

import pytest
from oslo_config import cfg

from tests.unit.scheduler.test_choose_pool import capabilities, pool, set_heartbeat, spec
from volmgr_common import exception
from volmgr_common.db import api as db_api
from volmgr_common.db import services as services_db
from volmgr_scheduler.host_manager import VOLUME_BINARY, HostManager
from volmgr_scheduler.placement import Placement

CLUSTER = "c1@files"
MEMBERS = ("node1@files", "node2@files", "node3@files")
DOWN_TIME = 10


@pytest.fixture
def scheduler_conf(conf_factory: Callable[..., cfg.ConfigOpts]) -> cfg.ConfigOpts:
    return conf_factory(transport_url="fake:", service_down_time=DOWN_TIME)


@pytest.fixture
def members(db: db_api.Database) -> dict[str, int]:
    """Three up members of CLUSTER: ``{host: service id}``."""
    return {
        host: services_db.register(
            db, host, VOLUME_BINARY, "volmgr-volume", "nova", cluster_name=CLUSTER
        )
        for host in MEMBERS
    }


def backend(db: db_api.Database, name: str) -> dict:
    return services_db.get_backend(db, name, VOLUME_BINARY, down_time=DOWN_TIME)


def placement(conf: cfg.ConfigOpts, db: db_api.Database) -> Placement:
    hosts = HostManager(conf, db)
    hosts.update(CLUSTER, capabilities(pool("default", 500.0)))
    return Placement(conf, hosts)


def test_a_cluster_is_named_by_its_backend_and_a_member_leads_to_it(
    db: db_api.Database, members: dict[str, int]
) -> None:
    cluster = backend(db, CLUSTER)
    assert (cluster["host"], cluster["backend"], cluster["is_up"]) == (CLUSTER, CLUSTER, True)
    member = backend(db, MEMBERS[0])
    assert (member["host"], member["backend"]) == (MEMBERS[0], CLUSTER)


def test_a_service_outside_any_cluster_is_its_own_backend(db: db_api.Database) -> None:
    services_db.register(db, "lone@files", VOLUME_BINARY, "volmgr-volume", "nova")
    assert backend(db, "lone@files")["backend"] == "lone@files"
    with pytest.raises(exception.ServiceNotFound):
        backend(db, "nobody@files")


def test_a_cluster_stays_up_while_one_member_is(
    db: db_api.Database, members: dict[str, int]
) -> None:
    for host in MEMBERS[:2]:
        set_heartbeat(db, members[host], DOWN_TIME * 3)
    assert backend(db, CLUSTER)["is_up"]
    set_heartbeat(db, members[MEMBERS[2]], DOWN_TIME * 3)
    assert not backend(db, CLUSTER)["is_up"]


def test_a_disabled_member_does_not_keep_its_cluster_open(
    db: db_api.Database, members: dict[str, int]
) -> None:
    services_db.set_disabled(db, MEMBERS[0], VOLUME_BINARY, True, "maintenance")
    assert not backend(db, CLUSTER)["disabled"]
    for host in MEMBERS[1:]:
        set_heartbeat(db, members[host], DOWN_TIME * 3)
    # The only up member is disabled: the cluster is up but closed to new requests.
    assert backend(db, CLUSTER)["disabled"]


def test_the_scheduler_places_on_the_cluster(
    scheduler_conf: cfg.ConfigOpts, db: db_api.Database, members: dict[str, int]
) -> None:
    set_heartbeat(db, members[MEMBERS[0]], DOWN_TIME * 3)
    chosen = placement(scheduler_conf, db).choose_pool(spec(CLUSTER))
    assert chosen.host == f"{CLUSTER}#default" and chosen.service_up


def test_the_scheduler_refuses_a_cluster_whose_members_are_all_down(
    scheduler_conf: cfg.ConfigOpts, db: db_api.Database, members: dict[str, int]
) -> None:
    for service_id in members.values():
        set_heartbeat(db, service_id, DOWN_TIME * 3)
    with pytest.raises(exception.NoValidBackend, match="is down"):
        placement(scheduler_conf, db).choose_pool(spec(CLUSTER))
