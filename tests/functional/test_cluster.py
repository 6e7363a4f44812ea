"""Functional tests: two volume services in one cluster serve one backend.

Two members (``node1@files`` and ``node2@files``, ``[DEFAULT] cluster = c1``) run in
this process beside the API and the scheduler, over one directory and one
in-process broker. Requests sent to the cluster ``c1@files`` (or to a member's own
host, which leads to the cluster) are placed on the cluster and taken by either
member; a listing of the cluster is answered by a member; a claim that a member
stopped renewing is resumed by the cluster's recovery.
"""

import datetime as dt
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from tests.fault_plugin import FaultPlugin
from tests.functional.stack import GIB, Stack, make_file, reset_memory_broker
from volmgr_api.flows import manage_existing as api_flow
from volmgr_common import context, exception
from volmgr_common.db import api as db_api
from volmgr_common.db import models, volume_ownership, volume_record
from volmgr_common.db import services as services_db
from volmgr_common.manage_request import ManageRequest
from volmgr_common.page_request import PageRequest
from volmgr_volume import rpcapi as volume_rpcapi
from volmgr_volume import service as volume_service

CLUSTER = "c1@files"
MEMBERS = ("node1@files", "node2@files")
STALE_AFTER = 1


def _member_conf(
    conf_factory: Callable[..., cfg.ConfigOpts], transport_url: str, host: str
) -> cfg.ConfigOpts:
    return conf_factory(
        transport_url=transport_url,
        api__bind_port=0,
        host=host,
        cluster="c1",
        recovery__interval=1,
        recovery__stale_after=STALE_AFTER,
    )


@pytest.fixture
def stack_conf(conf_factory: Callable[..., cfg.ConfigOpts]) -> cfg.ConfigOpts:
    """The first member's config (the API and the scheduler share it)."""
    return _member_conf(conf_factory, f"kombu+memory:////{uuid.uuid4().hex}", "node1")


@pytest.fixture
def cluster(
    stack_conf: cfg.ConfigOpts,
    conf_factory: Callable[..., cfg.ConfigOpts],
    db: db_api.Database,
    quick_stop: None,
    fault_plugin: FaultPlugin,
) -> Iterator[Stack]:
    """The stack of the first member, plus a second member of the same cluster."""
    reset_memory_broker()
    running = Stack.start_all(stack_conf, db)
    try:
        second = _member_conf(conf_factory, stack_conf.transport_url, "node2")
        running.start(volume_service.build(second, db, running.messaging))
    except BaseException:
        running.stop()
        raise
    yield running
    running.stop()


def _publishers(stack: Stack, volume_id: str) -> set[str]:
    end = stack.notifications.wait_for(volume_id, "volume.manage_existing.end")
    return {end["publisher_id"]}


def test_members_register_their_cluster(cluster: Stack) -> None:
    for host in MEMBERS:
        row = services_db.get_by_host(cluster.db, host, volume_service.BINARY)
        assert row["cluster_name"] == CLUSTER and row["backend"] == CLUSTER
    named = services_db.get_backend(cluster.db, CLUSTER, volume_service.BINARY, down_time=10)
    assert named["host"] == CLUSTER and named["is_up"]


def test_manages_sent_to_the_cluster_spread_over_its_members(cluster: Stack) -> None:
    ids = []
    for index in range(16):
        make_file(cluster.files / f"disk{index}.img", GIB)
        ids.append(cluster.manage(f"disk{index}.img", host=CLUSTER)["id"])
    publishers: set[str] = set()
    for volume_id in ids:
        volume = cluster.wait_terminal(volume_id)
        assert volume["status"] == volume_record.AVAILABLE, volume
        assert volume["host"].partition("#")[0] == CLUSTER
        publishers |= _publishers(cluster, volume_id)
    assert publishers == {f"volmgr.volume.{host}" for host in MEMBERS}
    with cluster.db.session(write=False) as session:
        clusters = set(session.scalars(sa.select(models.Volume.cluster_name)))
    assert clusters == {CLUSTER}


def test_a_member_host_leads_to_its_cluster(cluster: Stack) -> None:
    make_file(cluster.files / "disk.img", GIB)
    accepted = cluster.manage("disk.img", host=f"{MEMBERS[1]}#default")
    volume = cluster.wait_terminal(accepted["id"])
    assert volume["status"] == volume_record.AVAILABLE, volume
    assert volume["host"] == f"{CLUSTER}#default"
    # One backend, whichever name asks: the same object is refused through the cluster.
    with pytest.raises(exception.ManageExistingAlreadyManaged, match=volume["id"]):
        cluster.manage("disk.img", host=CLUSTER)


def test_listing_by_cluster_is_answered_by_a_member(cluster: Stack) -> None:
    make_file(cluster.files / "a.img", GIB)
    make_file(cluster.files / "b.img", GIB)
    managed = cluster.manage("a.img", host=CLUSTER)
    assert cluster.wait_terminal(managed["id"])["status"] == volume_record.AVAILABLE
    listing = cluster.api.get_manageable_volumes(cluster.ctxt, CLUSTER, PageRequest(limit=100))
    safe = {item["reference"]["source-name"]: item["safe_to_manage"] for item in listing}
    assert safe == {f"volume-{managed['id']}": False, "b.img": True}
    # Each member still answers on its own host too, and sees the cluster's volumes.
    for host in MEMBERS:
        own = volume_rpcapi.VolumeAPI(cluster.messaging, timeout=10).get_manageable_volumes(
            cluster.ctxt, host, PageRequest(limit=100)
        )
        assert own == listing


def test_a_claim_a_member_stopped_renewing_is_resumed_by_the_cluster(cluster: Stack) -> None:
    """A row claimed by a member that is gone (its claim unrenewed) ends available."""
    make_file(cluster.files / "orphan.img", GIB)
    ctxt = context.RequestContext(user_id="user-a", project_id="project-a", roles=["member"])
    request = ManageRequest(host=CLUSTER, ref={"source-name": "orphan.img"})
    accepted = api_flow.ExtractManageRequest(cluster.conf, cluster.db).execute(ctxt, request)
    row = api_flow.EntryCreate(cluster.conf, cluster.db).execute(accepted)
    assert volume_ownership.place(cluster.db, row["id"], f"{CLUSTER}#default")
    assert volume_ownership.claim_flow(cluster.db, row["id"], "a-member-now-gone")
    with cluster.db.session(write=True) as session:
        session.execute(
            sa.update(models.Volume)
            .where(models.Volume.id == row["id"])
            .values(updated_at=models.utcnow() - dt.timedelta(seconds=60))
        )
    volume = cluster.wait_terminal(row["id"], timeout=10 + 3 * STALE_AFTER)
    assert volume["status"] == volume_record.AVAILABLE, volume
    assert _publishers(cluster, row["id"]) <= {f"volmgr.volume.{host}" for host in MEMBERS}
    assert cluster.listing() == [f"volume-{row['id']}"]
