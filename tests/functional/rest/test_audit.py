"""The audit over REST and in ``volmgr``: ``POST os-audit`` (admin only) answers the
summary; admins see ``os-vol-drift-attr:drift`` in a volume's detail and filter
listings on drift; ``volmgr audit HOST`` prints the drift found."""

import json
import os
from pathlib import Path

import pytest

from tests.functional.rest.conftest import Rest, fresh_admin, fresh_member, identity
from tests.functional.rest.test_cli import run

ATTRIBUTE = "os-vol-drift-attr:drift"


def audit(rest: Rest, headers: dict[str, str] | None = None, host: str | None = None) -> dict:
    response = rest.call("POST", "os-audit", {"audit": {"host": host or rest.backend}}, headers)
    assert response.status_int == 200, response.text
    return response.json["audit"]


def managed_path(rest: Rest, volume: dict) -> Path:
    return rest.files / f"volume-{volume['id']}"


def test_an_audit_reports_drift_shown_to_admins_and_filtered_on(rest: Rest) -> None:
    admin = fresh_admin()
    member = identity("member", admin["X-Project-Id"], roles="member")
    volume = rest.manage(headers=admin)
    assert (
        rest.call("GET", f"volumes/{volume['id']}", headers=admin).json["volume"][ATTRIBUTE] is None
    )
    path = managed_path(rest, volume)
    with open(path, "r+b") as image:
        image.truncate(os.path.getsize(path) * 2)

    summary = audit(rest, admin)
    assert summary["host"] == rest.backend
    assert {"volume_id": volume["id"], "kind": "resized", "found": {"size_bytes": 2 * 1024**3}} in (
        summary["drifts"]
    )
    shown = rest.call("GET", f"volumes/{volume['id']}", headers=admin).json["volume"][ATTRIBUTE]
    assert (shown["kind"], shown["expected"], shown["found"]) == (
        "resized",
        {"size_bytes": 1024**3},
        {"size_bytes": 2 * 1024**3},
    )
    assert shown["since"]
    as_member = rest.call("GET", f"volumes/{volume['id']}", headers=member).json["volume"]
    assert ATTRIBUTE not in as_member

    drifted = rest.call("GET", "volumes/detail?drifted=true", headers=admin).json["volumes"]
    assert [v["id"] for v in drifted] == [volume["id"]]
    by_kind = rest.call("GET", "volumes?drift_kind=resized", headers=admin).json["volumes"]
    assert [v["id"] for v in by_kind] == [volume["id"]]
    assert rest.call("GET", "volumes?drift_kind=missing", headers=admin).json["volumes"] == []
    assert rest.call("GET", "volumes?drifted=false", headers=admin).json["volumes"] == []
    refused = rest.call("GET", "volumes?drifted=true", headers=member, version="3.31")
    assert refused.status_int == 400
    assert rest.call("GET", "volumes?drifted=maybe", headers=admin).status_int == 400

    with open(path, "r+b") as image:
        image.truncate(1024**3)
    audit(rest, admin)
    assert (
        rest.call("GET", f"volumes/{volume['id']}", headers=admin).json["volume"][ATTRIBUTE] is None
    )
    assert rest.call("GET", "volumes?drifted=true", headers=admin).json["volumes"] == []
    messages = rest.call("GET", f"messages?resource_uuid={volume['id']}", admin, version="3.3")
    assert sorted(m["event_id"] for m in messages.json["messages"]) == [
        "VOLUME_VOLUME_903_908",
        "VOLUME_VOLUME_903_910",
    ]
    seen_by_owner = rest.call("GET", "messages", headers=member, version="3.3").json["messages"]
    assert {m["user_message"] for m in seen_by_owner} == {
        "audit volume: The size of the volume's backend object changed.",
        "audit volume: The volume's backend object matches its record again.",
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"audit": {}}, 400),
        ({"audit": {"host": "no-at-sign"}}, 400),
        ({"audit": {"host": "nowhere@nothing"}}, 400),
        ({"audit": {"host": "h@b", "extra": 1}}, 400),
    ],
)
def test_a_bad_audit_request_is_a_400(rest: Rest, body: dict, status: int) -> None:
    response = rest.call("POST", "os-audit", body)
    assert response.status_int == status, response.text
    assert response.json["badRequest"]["message"]


def test_only_admins_may_audit(rest: Rest) -> None:
    response = rest.call("POST", "os-audit", {"audit": {"host": rest.backend}}, fresh_member())
    assert response.status_int == 403


def test_volmgr_audit_prints_the_drift_and_list_filters_on_it(
    rest: Rest, capsys: pytest.CaptureFixture
) -> None:
    admin = fresh_admin()
    project = admin["X-Project-Id"]
    volume = rest.manage(headers=admin)
    os.rename(managed_path(rest, volume), rest.files / "renamed-back.img")
    code, out = run(rest, capsys, project, "audit", rest.backend)
    assert code == 0, out
    first, *table = out.splitlines()
    assert first.startswith(f"{rest.backend}: ") and "renamed 1" in first
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in table if line.startswith("|")]
    assert rows[0] == ["volume_id", "kind", "found"]
    assert [row[:2] for row in rows[1:] if row[0] == volume["id"]] == [[volume["id"], "renamed"]]

    code, out = run(rest, capsys, project, "--json", "audit", rest.backend)
    summary = json.loads(out)
    assert summary["kinds"]["renamed"] >= 1 and summary["detected"] == 0
    code, out = run(rest, capsys, project, "--json", "show", volume["id"])
    assert json.loads(out)[ATTRIBUTE]["found"]["name"] == "renamed-back.img"
    code, out = run(rest, capsys, project, "--json", "list", "--drift-kind", "renamed")
    assert [v["ID"] for v in json.loads(out)] == [volume["id"]]
    code, out = run(rest, capsys, project, "--json", "list", "--drifted")
    assert volume["id"] in [v["ID"] for v in json.loads(out)]

    os.rename(rest.files / "renamed-back.img", managed_path(rest, volume))
    code, out = run(rest, capsys, project, "--json", "audit", rest.backend)
    assert json.loads(out)["cleared"] >= 1
    code, out = run(rest, capsys, project, "--json", "list", "--drift-kind", "renamed")
    assert json.loads(out) == []
