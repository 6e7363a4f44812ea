"""Functional tests of the REST API against a cluster of two volume services.

``node1@files`` and ``node2@files`` are members of the cluster ``c1`` (one backend
directory); a manage request names the cluster (3.16), a listing names it (3.17),
the services listing shows each member's cluster (3.7), and an adoption plan naming
the cluster or a member is the cluster's (its job runs in one member).
"""

import dataclasses
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.adoption_support import wait_job
from tests.functional.rest.conftest import Rest, fresh_admin, running_stack
from volmgr_common.db import models
from volmgr_common.db import volumes as volumes_db

CLUSTER = "c1@files"
MEMBERS = ("node1@files", "node2@files")


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rest]:
    """The API, a scheduler and two members of the cluster ``c1`` on one directory."""
    tmp_path = tmp_path_factory.mktemp("rest-cluster")
    with running_stack(tmp_path, more_volume_hosts=("node2",), host="node1", cluster="c1") as stack:
        yield dataclasses.replace(stack, backend=CLUSTER)


def test_manage_by_cluster_places_the_volume_on_the_cluster(rest: Rest) -> None:
    headers = fresh_admin()
    body = {"volume": {"cluster": CLUSTER, "ref": {"source-name": rest.make_file()}}}
    response = rest.call("POST", "os-volume-manage", body, headers=headers, version="3.16")
    assert response.status_int == 202, response.text
    volume = rest.wait_status(response.json["volume"]["id"], headers=headers)
    assert volume["status"] == "available"
    assert volume["os-vol-host-attr:host"] == f"{CLUSTER}#default"


def test_manage_by_a_member_host_leads_to_its_cluster(rest: Rest) -> None:
    headers = fresh_admin()
    name = rest.make_file()
    body = {"volume": {"host": MEMBERS[1], "ref": {"source-name": name}}}
    response = rest.call("POST", "os-volume-manage", body, headers=headers)
    assert response.status_int == 202, response.text
    volume = rest.wait_status(response.json["volume"]["id"], headers=headers)
    assert volume["os-vol-host-attr:host"] == f"{CLUSTER}#default"
    again = {"volume": {"cluster": CLUSTER, "ref": {"source-name": name}}}
    response = rest.call("POST", "os-volume-manage", again, headers=headers, version="3.16")
    assert response.status_int == 409, response.text
    assert volume["id"] in response.json["conflictingRequest"]["message"]


def test_an_unknown_cluster_is_400(rest: Rest) -> None:
    body = {"volume": {"cluster": "c9@files", "ref": {"source-name": rest.make_file()}}}
    response = rest.call("POST", "os-volume-manage", body, headers=fresh_admin(), version="3.16")
    assert response.status_int == 400, response.text


def test_manageable_listing_by_cluster(rest: Rest) -> None:
    name = rest.make_file()
    response = rest.call(
        "GET", f"manageable_volumes?cluster={CLUSTER}", headers=fresh_admin(), version="3.17"
    )
    assert response.status_int == 200, response.text
    listed = [entry["reference"]["source-name"] for entry in response.json["manageable-volumes"]]
    assert name in listed


def test_services_show_their_cluster(rest: Rest) -> None:
    services = rest.call("GET", "os-services", headers=fresh_admin(), version="3.7").json
    clusters = {
        s["host"]: s["cluster"] for s in services["services"] if s["binary"] == "volmgr-volume"
    }
    assert clusters == {host: CLUSTER for host in MEMBERS}


def _cluster_name(rest: Rest, volume_id: str) -> str | None:
    with rest.db.engine.connect() as connection:
        return connection.scalar(
            sa.select(models.Volume.cluster_name).where(models.Volume.id == volume_id)
        )


@pytest.mark.parametrize("host", [CLUSTER, MEMBERS[1]])
def test_an_adoption_plan_of_a_cluster_or_a_member_adopts_on_the_cluster(
    rest: Rest, host: str
) -> None:
    headers = fresh_admin()
    prefix = f"adopt-{host.partition('@')[0]}-"
    names = [rest.make_file(f"{prefix}{n}.img") for n in range(3)]
    body = {"plan": {"host": host, "filters": {"name": f"{prefix}*"}}}
    response = rest.call("POST", "os-adoption-plans", body, headers=headers)
    assert response.status_int == 200, response.text
    plan = response.json["plan"]
    assert plan["backend"] == CLUSTER and plan["totals"]["manage"] == 3
    applied = rest.call("POST", "os-adoption-jobs", {"job": {"plan_id": plan["id"]}}, headers)
    assert applied.status_int == 202, applied.text
    job = wait_job(rest.db, applied.json["job"]["id"])
    assert job["backend"] == CLUSTER and job["counters"]["available"] == 3, job
    shown = rest.call("GET", f"os-adoption-jobs/{job['id']}", headers=headers).json["job"]
    for item in shown["items"]:
        volume = volumes_db.get(rest.db, item["volume_id"])
        assert volume["host"].partition("#")[0] == CLUSTER, volume["host"]
        assert _cluster_name(rest, volume["id"]) == CLUSTER
        assert not (rest.files / item["source_name"]).exists()
    assert sorted(item["source_name"] for item in shown["items"]) == names
