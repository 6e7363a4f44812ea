"""``os-adoption-plans`` over REST: plan, list, show with items paged, delete; refusals.

Each test selects its own files with a name glob of a prefix only it uses (the
stack's backend directory is shared by the module). A refused request writes no
plan and touches no file.
"""

import os
import uuid
from typing import Any

import pytest

from tests.functional.rest.conftest import GIB, Rest, fresh_admin, fresh_member
from volmgr_common.db import adoption_plans


def prefix() -> str:
    return f"adopt-{uuid.uuid4().hex[:8]}-"


def plan_body(rest: Rest, **fields: Any) -> dict[str, Any]:
    return {"plan": {"host": rest.backend, **fields}}


def plan_count(rest: Rest) -> int:
    return len(adoption_plans.list_plans(rest.db))


def refused(rest: Rest, code: int, body: Any, headers: dict[str, str] | None = None) -> str:
    before, files = plan_count(rest), sorted(os.listdir(rest.files))
    response = rest.call("POST", "os-adoption-plans", body, headers=headers or fresh_admin())
    assert response.status_int == code, response.text
    [(_kind, fault)] = response.json.items()
    assert fault["code"] == code
    assert plan_count(rest) == before
    assert sorted(os.listdir(rest.files)) == files
    return str(fault["message"])


def test_a_plan_is_made_shown_paged_and_listed(rest: Rest) -> None:
    headers = fresh_admin()
    start = prefix()
    names = [rest.make_file(f"{start}{n}", size=(n + 1) * GIB) for n in range(5)]
    body = plan_body(
        rest,
        filters={"name": f"{start}*", "max_size": 4},
        name_template="adopted-{source-name}",
        metadata={"origin": "old-cluster"},
        bootable="true",
    )
    response = rest.call("POST", "os-adoption-plans", body, headers=headers)
    assert response.status_int == 200, response.text
    plan = response.json["plan"]
    assert plan["status"] == "ready"
    assert plan["totals"]["objects"] == plan["totals"]["manage"] == 4
    assert plan["totals"]["gigabytes"] == 1 + 2 + 3 + 4
    assert plan["values"]["bootable"] is True
    assert plan["target_project_id"] == headers["X-Project-Id"]
    assert sorted(os.listdir(rest.files)) == sorted(os.listdir(rest.files))  # untouched
    assert all(name in os.listdir(rest.files) for name in names)

    first = rest.call("GET", f"os-adoption-plans/{plan['id']}?limit=3", headers=headers).json
    assert [i["source_name"] for i in first["plan"]["items"]] == names[:3]
    assert first["plan"]["items"][0]["volume_name"] == f"adopted-{names[0]}"
    assert first["plan"]["items"][0]["fingerprint"]["name"] == names[0]
    next_href = first["items_links"][0]["href"]
    assert "marker=2" in next_href
    rest_page = rest.call(
        "GET", f"os-adoption-plans/{plan['id']}?limit=3&marker=2", headers=headers
    ).json["plan"]["items"]
    assert [i["source_name"] for i in rest_page] == names[3:4]
    listed = rest.call("GET", "os-adoption-plans", headers=headers).json["plans"]
    assert plan["id"] in [p["id"] for p in listed]


def test_an_empty_plan_is_a_valid_answer(rest: Rest) -> None:
    body = plan_body(rest, filters={"name": f"{prefix()}*"})
    response = rest.call("POST", "os-adoption-plans", body, headers=fresh_admin())
    assert response.status_int == 200, response.text
    assert response.json["plan"]["totals"]["objects"] == 0


def test_skips_are_filtered_by_verdict(rest: Rest) -> None:
    headers = fresh_admin()
    start = prefix()
    rest.make_file(f"{start}ok")
    rest.make_file(f"{start}linked")
    os.link(rest.files / f"{start}linked", rest.files.parent / f"{start}elsewhere")
    body = plan_body(rest, filters={"name": f"{start}*"})
    plan = rest.call("POST", "os-adoption-plans", body, headers=headers).json["plan"]
    assert plan["totals"]["skipped_by_reason"] == {"not safe": 1}
    shown = rest.call("GET", f"os-adoption-plans/{plan['id']}?verdict=skip", headers=headers)
    (item,) = shown.json["plan"]["items"]
    assert item["source_name"] == f"{start}linked"
    assert "hard links" in item["reason"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"host": "nobody@nothing"}, "nobody@nothing"),
        ({"host": "not a host"}, "host"),
        ({"filters": {"min_size": 5, "max_size": 2}}, "min_size"),
        ({"filters": {"min_size": -1}}, "min_size"),
        ({"filters": {"max_size": "big"}}, "max_size"),
        ({"filters": {"name": ""}}, "name"),
        ({"filters": {"size": 1}}, "filters"),
        ({"name_template": "{source_name}"}, "unknown key"),
        ({"name_template": "{source-name"}, "brace"),
        ({"volume_type": "no-such-type"}, "no-such-type"),
        ({"project_id": "a b"}, "project"),
        ({"metadata": {"k": 1}}, "metadata"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_a_400_that_writes_nothing(
    rest: Rest, fields: dict[str, Any], words: str
) -> None:
    body = {"plan": {"host": rest.backend, **fields}}
    assert words in refused(rest, 400, body)


def test_a_pool_is_refused_a_plan_covers_the_backend(rest: Rest) -> None:
    assert "without #pool" in refused(rest, 400, plan_body(rest, host=f"{rest.backend}#files"))


def test_plans_are_admin_only(rest: Rest) -> None:
    member = fresh_member()
    refused(rest, 403, plan_body(rest), headers=member)
    assert rest.call("GET", "os-adoption-plans", headers=member).status_int == 403


def test_unknown_plans_are_404_and_bad_markers_400(rest: Rest) -> None:
    headers = fresh_admin()
    missing = str(uuid.uuid4())
    assert rest.call("GET", f"os-adoption-plans/{missing}", headers=headers).status_int == 404
    assert rest.call("GET", "os-adoption-plans/not-a-uuid", headers=headers).status_int == 404
    assert rest.call("DELETE", f"os-adoption-plans/{missing}", headers=headers).status_int == 404
    assert rest.call("GET", "os-adoption-plans?marker=zz", headers=headers).status_int == 400
    body = plan_body(rest, filters={"name": f"{prefix()}*"})
    plan = rest.call("POST", "os-adoption-plans", body, headers=headers).json["plan"]
    for query in ("marker=-1", "marker=x", "verdict=maybe", "limit=-2", "other=1"):
        answer = rest.call("GET", f"os-adoption-plans/{plan['id']}?{query}", headers=headers)
        assert answer.status_int == 400, (query, answer.text)


def test_a_plan_is_deleted_unless_applied(rest: Rest) -> None:
    headers = fresh_admin()
    body = plan_body(rest, filters={"name": f"{prefix()}*"})
    kept = rest.call("POST", "os-adoption-plans", body, headers=headers).json["plan"]
    gone = rest.call("POST", "os-adoption-plans", body, headers=headers).json["plan"]
    assert rest.call("DELETE", f"os-adoption-plans/{gone['id']}", headers=headers).status_int == 202
    assert rest.call("GET", f"os-adoption-plans/{gone['id']}", headers=headers).status_int == 404
    with rest.db.session(True) as session:
        assert adoption_plans.mark_applied(session, kept["id"], str(uuid.uuid4()))
    answer = rest.call("DELETE", f"os-adoption-plans/{kept['id']}", headers=headers)
    assert answer.status_int == 409
    shown = rest.call("GET", f"os-adoption-plans/{kept['id']}", headers=headers).json["plan"]
    assert shown["status"] == "applied"


def test_a_disabled_volume_service_takes_no_plan(rest: Rest) -> None:
    admin = fresh_admin()
    body = {"host": rest.backend, "binary": "cinder-volume", "disabled_reason": "disk swap"}
    try:
        assert rest.call("PUT", "os-services/disable-log-reason", body, admin).status_int == 200
        message = refused(rest, 400, plan_body(rest))
        assert message == f"Service {rest.backend} is unavailable: disabled: disk swap"
    finally:
        enable = {"host": rest.backend, "binary": "volmgr-volume"}
        assert rest.call("PUT", "os-services/enable", enable, admin).status_int == 200
