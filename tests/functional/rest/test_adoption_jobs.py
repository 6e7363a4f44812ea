"""``os-adoption-jobs`` over REST: apply, show with paged and filtered items, list,
the actions, and the 4xx answers of bad input (nothing written)."""

import uuid
from typing import Any

from tests.adoption_support import wait_job, write_plan
from tests.functional.rest.conftest import Rest, fresh_admin, fresh_member
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_volume import drivers


def _plan(rest: Rest, headers: dict[str, str], count: int, **kwargs: Any) -> str:
    names = [rest.make_file(size=1024 * 1024) for _ in range(count)]
    return _plan_of(rest, headers, names, **kwargs)


def _plan_of(rest: Rest, headers: dict[str, str], names: list[str], **kwargs: Any) -> str:
    driver = drivers.load_driver(rest.conf)
    return write_plan(rest.db, driver, rest.backend, names, headers["X-Project-Id"], **kwargs)


def _apply(rest: Rest, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return rest.call("POST", "os-adoption-jobs", {"job": body}, headers=headers)


def test_apply_show_list_and_undo(rest: Rest) -> None:
    admin = fresh_admin()
    names = [rest.make_file(size=1024 * 1024) for _ in range(5)]
    response = _apply(rest, admin, {"plan_id": _plan_of(rest, admin, names), "max_in_flight": 2})
    assert response.status_int == 202, response.text
    job = response.json["job"]
    assert job["kind"] == "adopt" and job["total"] == 5 and job["max_in_flight"] == 2
    wait_job(rest.db, job["id"])
    shown = rest.call("GET", f"os-adoption-jobs/{job['id']}?limit=2", headers=admin).json["job"]
    assert shown["status"] == "completed" and shown["counters"]["available"] == 5
    assert [item["position"] for item in shown["items"]] == [0, 1]
    after = rest.call("GET", f"os-adoption-jobs/{job['id']}?marker=1", headers=admin).json
    assert [item["position"] for item in after["job"]["items"]] == [2, 3, 4]
    none = rest.call("GET", f"os-adoption-jobs/{job['id']}?status=stale", headers=admin).json
    assert none["job"]["items"] == []
    listed = rest.call("GET", "os-adoption-jobs", headers=admin).json["jobs"]
    assert job["id"] in [j["id"] for j in listed]

    paused = rest.call("POST", f"os-adoption-jobs/{job['id']}/action", {"pause": None}, admin)
    assert paused.status_int == 409
    undo = rest.call("POST", f"os-adoption-jobs/{job['id']}/action", {"undo": None}, admin)
    assert undo.status_int == 202
    assert wait_job(rest.db, undo.json["job"]["id"])["counters"]["undone"] == 5
    again = rest.call("POST", f"os-adoption-jobs/{job['id']}/action", {"undo": None}, admin)
    assert again.json["job"]["id"] == undo.json["job"]["id"]
    for name in names:  # back under their names: gone, so that no later test adopts them
        (rest.files / name).unlink()


def test_bad_input_is_a_4xx_and_writes_nothing(rest: Rest) -> None:
    admin = fresh_admin()
    before = len(jobs_db.list_jobs(rest.db, None, None, 10_000))
    plan_id = _plan(rest, admin, 1)
    cases = [
        (_apply(rest, admin, {"plan_id": plan_id, "max_in_flight": 0}), 400),
        (_apply(rest, admin, {"plan_id": plan_id, "max_in_flight": 10_001}), 400),
        (_apply(rest, admin, {"plan_id": plan_id, "bogus": 1}), 400),
        (_apply(rest, admin, {"plan_id": str(uuid.uuid4())}), 404),
        (_apply(rest, fresh_member(), {"plan_id": plan_id}), 403),
        (_apply(rest, admin, {"plan_id": _plan(rest, admin, 1, expires_in=-5)}), 409),
        (rest.call("GET", f"os-adoption-jobs/{uuid.uuid4()}", headers=admin), 404),
        (rest.call("GET", "os-adoption-jobs/not-a-uuid", headers=admin), 404),
        (rest.call("GET", "os-adoption-jobs?status=bogus", headers=admin), 400),
        (
            rest.call("POST", f"os-adoption-jobs/{uuid.uuid4()}/action", {"cancel": None}, admin),
            404,
        ),
        (
            rest.call(
                "POST",
                f"os-adoption-jobs/{uuid.uuid4()}/action",
                {"cancel": None, "pause": None},
                admin,
            ),
            400,
        ),
    ]
    for response, code in cases:
        assert response.status_int == code, response.text
    assert len(jobs_db.list_jobs(rest.db, None, None, 10_000)) == before
    # The plan was not applied by any of them: it applies now, once.
    assert _apply(rest, admin, {"plan_id": plan_id}).status_int == 202
    assert _apply(rest, admin, {"plan_id": plan_id}).status_int == 409


def test_applying_an_empty_plan_is_a_no_op(rest: Rest) -> None:
    admin = fresh_admin()
    nothing = {"plan": {"host": rest.backend, "filters": {"name": f"none-{uuid.uuid4().hex}*"}}}
    plan = rest.call("POST", "os-adoption-plans", nothing, headers=admin).json["plan"]
    assert plan["totals"]["objects"] == 0
    response = _apply(rest, admin, {"plan_id": plan["id"]})
    assert response.status_int == 202, response.text
    job = wait_job(rest.db, response.json["job"]["id"])
    assert job["status"] == "completed" and job["total"] == 0
    assert {k: v for k, v in job["counters"].items() if v} == {}
    assert rest.call("GET", "volumes", headers=admin).json["volumes"] == []


def test_undo_of_a_live_job_is_a_409_that_writes_nothing(rest: Rest) -> None:
    admin = fresh_admin()
    # Jobs written but not started (their runner is never told): live as long as needed.
    plan_id = _plan_of(rest, admin, [f"absent-{uuid.uuid4().hex}"])
    running = jobs_db.create_adopt_job(rest.db, plan_id, None, {"max_in_flight": 1})
    paused = jobs_db.create_adopt_job(
        rest.db, _plan_of(rest, admin, [f"absent-{uuid.uuid4().hex}"]), None, {"max_in_flight": 1}
    )
    action = f"os-adoption-jobs/{paused['id']}/action"
    assert rest.call("POST", action, {"pause": None}, admin).status_int == 200
    before = len(jobs_db.list_jobs(rest.db, None, None, 10_000))
    for job, status in ((running, "running"), (paused, "paused")):
        path = f"os-adoption-jobs/{job['id']}/action"
        answer = rest.call("POST", path, {"undo": None}, admin)
        assert answer.status_int == 409, answer.text
        [(_kind, fault)] = answer.json.items()
        assert f"is {status}; cancel it" in fault["message"]
    assert len(jobs_db.list_jobs(rest.db, None, None, 10_000)) == before
    for job in (running, paused):
        path = f"os-adoption-jobs/{job['id']}/action"
        assert rest.call("POST", path, {"cancel": None}, admin).status_int == 200
