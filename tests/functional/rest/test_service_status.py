"""``PUT os-services/disable|disable-log-reason|enable`` and what a disabled service refuses."""

from typing import Any

from tests.functional.rest.conftest import Rest, fresh_admin, fresh_member
from volmgr_common.db import volumes as volumes_db


def put(rest: Rest, action: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return rest.call("PUT", f"os-services/{action}", body, headers=headers or fresh_admin())


def volume_service(rest: Rest) -> dict[str, Any]:
    services = rest.call("GET", "os-services?binary=cinder-volume", headers=fresh_admin()).json
    [service] = services["services"]
    return service


def test_disable_with_a_reason_refuses_manages_until_enabled(rest: Rest) -> None:
    owner = fresh_admin()
    body = {"host": rest.backend, "binary": "cinder-volume", "disabled_reason": "disk swap"}
    try:
        response = put(rest, "disable-log-reason", body)
        assert response.status_int == 200
        assert response.json == {
            "host": rest.backend,
            "binary": "cinder-volume",
            "service": "",
            "status": "disabled",
            "disabled": True,
            "disabled_reason": "disk swap",
        }
        shown = volume_service(rest)
        assert (shown["status"], shown["disabled_reason"]) == ("disabled", "disk swap")

        rows_before = len(volumes_db.list_volumes(rest.db))
        refused = rest.call("POST", "os-volume-manage", rest.manage_body(rest.make_file()), owner)
        assert refused.status_int == 400
        assert refused.json["badRequest"]["message"] == (
            f"Service {rest.backend} is unavailable: disabled: disk swap"
        )
        assert len(volumes_db.list_volumes(rest.db)) == rows_before

        plain = put(rest, "disable", {"host": rest.backend, "service": "volmgr-volume"})
        assert plain.json["service"] == "volmgr-volume"
        assert (plain.json["status"], plain.json["disabled_reason"]) == ("disabled", None)
    finally:
        enabled = put(rest, "enable", {"host": rest.backend, "binary": "volmgr-volume"})
    assert enabled.status_int == 200
    assert (enabled.json["status"], enabled.json["disabled"]) == ("enabled", False)
    assert enabled.json["disabled_reason"] is None
    assert (volume_service(rest)["status"], volume_service(rest)["disabled_reason"]) == (
        "enabled",
        None,
    )
    assert rest.manage(headers=owner)["status"] == "available"


def test_only_an_admin_may_change_a_service(rest: Rest) -> None:
    body = {"host": rest.backend, "binary": "volmgr-volume"}
    response = put(rest, "disable", body, headers=fresh_member())
    assert response.status_int == 403
    assert volume_service(rest)["status"] == "enabled"


def test_bad_requests(rest: Rest) -> None:
    missing = put(rest, "disable", {"host": "nowhere@files", "binary": "volmgr-volume"})
    assert missing.status_int == 404
    assert missing.json["itemNotFound"]["message"] == (
        "Service volmgr-volume on host nowhere@files could not be found."
    )
    for action, body in [
        ("disable", {"host": rest.backend}),
        ("disable", {"binary": "volmgr-volume"}),
        ("disable", {"host": rest.backend, "binary": "volmgr-volume", "disabled_reason": "x"}),
        ("disable-log-reason", {"host": rest.backend, "binary": "volmgr-volume"}),
        (
            "disable-log-reason",
            {"host": rest.backend, "binary": "volmgr-volume", "disabled_reason": "   "},
        ),
        (
            "disable-log-reason",
            {"host": rest.backend, "binary": "volmgr-volume", "disabled_reason": "r" * 256},
        ),
        ("enable", {"host": "", "binary": "volmgr-volume"}),
    ]:
        response = put(rest, action, body)
        assert response.status_int == 400, (action, body, response.text)
    assert volume_service(rest)["status"] == "enabled"
    unknown = rest.call("PUT", "os-services/freeze", {"host": rest.backend}, fresh_admin())
    assert unknown.status_int == 404
