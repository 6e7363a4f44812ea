"""Each microversion's effect on the views, below and at the version that brings it."""

from typing import Any

import pytest
import webob
from oslo_config import cfg

from volmgr_api.rest.microversion import APIVersion
from volmgr_api.rest.policy import Enforcer
from volmgr_api.rest.request import ApiRequest, AppState
from volmgr_api.rest.views import services as service_views
from volmgr_api.rest.views import volumes as volume_views
from volmgr_common.context import RequestContext
from volmgr_common.db.volume_record import VolumeRecord

ADMIN = RequestContext(user_id="admin", project_id="ops", roles=["admin"])
MEMBER = RequestContext(user_id="alice", project_id="p1", roles=["member"])
HOST = "node1@files#default"


@pytest.fixture(scope="module")
def state() -> AppState:
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[], default_config_dirs=[])
    return AppState(conf=conf, api=None, enforcer=Enforcer(conf))  # type: ignore[arg-type]


def request(
    state: AppState, version: str, ctxt: RequestContext = ADMIN, path: str = "/v3/ops/volumes"
) -> ApiRequest:
    req = ApiRequest(webob.Request.blank(path), state, APIVersion.parse(version), ctxt)
    req.project_in_url = "/ops/" in path
    return req


def volume(**changes: Any) -> VolumeRecord:
    record: dict[str, Any] = {
        "id": "8a3e1b8e-4a43-4b53-9a43-1c1f4b0a3d11",
        "project_id": "p1",
        "user_id": "alice",
        "name": "data1",
        "description": None,
        "status": "available",
        "host": HOST,
        "availability_zone": "nova",
        "volume_type_id": "5d7b6e4c-1111-4c2b-8f5e-0a0b0c0d0e0f",
        "volume_type": "__DEFAULT__",
        "size": 2,
        "bootable": False,
        "reference": {"source-name": "disk1.img"},
        "provider_location": "volume-8a3e",
        "backend_identity": "2049:1234",
        "provenance": None,
        "drift": None,
        "consumes_quota": True,
        "metadata": {},
        "failure_reason": None,
        "request_id": None,
        "created_at": "2026-12-01T10:00:00",
        "updated_at": None,
        "launched_at": None,
        "scheduled_at": None,
    }
    record.update(changes)
    return record  # type: ignore[return-value]


def shown(state: AppState, version: str, ctxt: RequestContext = ADMIN, **changes: Any) -> dict:
    return volume_views.detail(request(state, version, ctxt), volume(**changes))


@pytest.mark.parametrize(
    ("field", "first", "value"),
    [
        ("group_id", "3.13", None),
        ("provider_id", "3.21", "2049:1234"),
        ("service_uuid", "3.48", volume_views.service_uuid(HOST)),
        ("cluster_name", "3.61", None),
        ("volume_type_id", "3.63", "5d7b6e4c-1111-4c2b-8f5e-0a0b0c0d0e0f"),
        ("consumes_quota", "3.65", True),
    ],
)
def test_detail_fields_appear_at_their_version(
    state: AppState, field: str, first: str, value: object
) -> None:
    major, minor = first.split(".")
    assert field not in shown(state, f"{major}.{int(minor) - 1}")
    assert shown(state, first)[field] == value
    assert shown(state, "3.71")[field] == value


@pytest.mark.parametrize("field", ["provider_id", "cluster_name"])
def test_admin_only_fields_are_hidden_from_members(state: AppState, field: str) -> None:
    assert field not in shown(state, "3.71", MEMBER)
    assert field in shown(state, "3.71", ADMIN)


def test_provenance_is_an_unversioned_admin_only_attribute(state: AppState) -> None:
    origin = {"original_name": "disk1.img", "size_bytes": 1234, "adoption_job_id": None}
    attribute = volume_views.PROVENANCE_ATTRIBUTE
    for version in ("3.0", "3.71"):
        assert shown(state, version, provenance=origin)[attribute] == origin
        assert attribute not in shown(state, version, MEMBER, provenance=origin)
    # A volume managed before provenance was recorded shows it as null.
    assert shown(state, "3.0")[attribute] is None


def test_shared_targets_is_true_before_3_69_and_null_from_it(state: AppState) -> None:
    assert "shared_targets" not in shown(state, "3.47")
    assert shown(state, "3.48")["shared_targets"] is True
    assert shown(state, "3.68")["shared_targets"] is True
    assert shown(state, "3.69")["shared_targets"] is None


def test_a_failed_manage_consumes_no_quota(state: AppState) -> None:
    assert shown(state, "3.65", status="error_managing", consumes_quota=False)[
        "consumes_quota"
    ] is (False)


def test_service_uuid_is_one_per_backend() -> None:
    one = volume_views.service_uuid("node1@files#default")
    assert one == volume_views.service_uuid("node1@files#other")
    assert one == volume_views.service_uuid("node1@files")
    assert one != volume_views.service_uuid("node1@lvm")


def test_encryption_key_id_is_never_shown(state: AppState) -> None:
    """3.64 shows it for encrypted volumes only; volmgr's never are."""
    assert "encryption_key_id" not in shown(state, "3.71")
    assert shown(state, "3.71")["encrypted"] is False


def test_links_keep_the_project_only_when_the_url_had_it(state: AppState) -> None:
    with_project = volume_views.summary(request(state, "3.0"), volume())
    without = volume_views.summary(request(state, "3.67", path="/v3/volumes"), volume())
    assert with_project["links"][0]["href"].startswith("http://localhost/v3/ops/volumes/")
    assert without["links"][0]["href"] == f"http://localhost/v3/volumes/{volume()['id']}"
    assert without["links"][1]["href"] == f"http://localhost/volumes/{volume()['id']}"


def test_count_is_shown_from_3_45_when_asked(state: AppState) -> None:
    records = [volume()]
    assert "count" not in volume_views.list_view(request(state, "3.44"), records, 10, False, 7)
    assert volume_views.list_view(request(state, "3.45"), records, 10, False, 7)["count"] == 7
    assert "count" not in volume_views.list_view(request(state, "3.45"), records, 10, False)


def service(binary: str, capabilities: dict | None) -> dict[str, Any]:
    return {
        "binary": binary,
        "host": "node1@files",
        "availability_zone": "nova",
        "disabled": False,
        "disabled_reason": None,
        "is_up": True,
        "last_heartbeat": "2026-12-01T10:00:00",
        "capabilities": capabilities,
    }


def test_backend_state_from_3_49_for_volume_services(state: AppState) -> None:
    reported = service("volmgr-volume", {"pools": []})
    assert "backend_state" not in service_views.service(request(state, "3.48"), reported)
    assert service_views.service(request(state, "3.49"), reported)["backend_state"] == "up"
    down = service("volmgr-volume", {"backend_state": "down"})
    assert service_views.service(request(state, "3.49"), down)["backend_state"] == "down"
    never = service("volmgr-volume", None)
    assert service_views.service(request(state, "3.49"), never)["backend_state"] is None
    api = service("volmgr-api", None)
    assert "backend_state" not in service_views.service(request(state, "3.71"), api)
