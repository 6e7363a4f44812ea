"""A deployment whose senders are all capped at the previous release (``[upgrade_levels]
api, scheduler, volume = 0.1.0``), as during a rolling upgrade before the last old
service is gone.

Manages still work (batches go out as 0.1.0's 1.1 batch casts). Every operation the
previous release's services do not know (snapshots, audits, re-adoption, adoption plans
and jobs) is refused with a 400 that names ``[upgrade_levels]``, and leaves nothing
behind: no snapshot, plan or job row, no volume written.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.adoption_support import write_plan
from tests.functional.rest.conftest import Rest, fresh_admin, running_stack
from volmgr_common.db import models
from volmgr_volume import drivers

PREVIOUS_RELEASE = "0.1.0"
CAPS = {f"upgrade_levels__{api}": PREVIOUS_RELEASE for api in ("api", "scheduler", "volume")}
TABLES = (models.Snapshot, models.AdoptionPlan, models.AdoptionJob, models.Volume)


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rest]:
    with running_stack(tmp_path_factory.mktemp("capped"), **CAPS) as rest:
        yield rest


def _rows(rest: Rest) -> dict[str, int]:
    with rest.db.engine.connect() as connection:
        return {
            model.__tablename__: int(
                connection.scalar(sa.select(sa.func.count()).select_from(model)) or 0
            )
            for model in TABLES
        }


def test_manages_go_on_under_the_previous_release_caps(capped: Rest) -> None:
    admin = fresh_admin()
    volumes = [capped.manage(headers=admin) for _ in range(3)]
    assert {v["status"] for v in volumes} == {"available"}


def _refusals(rest: Rest, volume: dict[str, Any], plan_id: str) -> dict[str, tuple[str, str, Any]]:
    host = rest.backend
    return {
        "snapshot manage": (
            "POST",
            "os-snapshot-manage",
            {"snapshot": {"volume_id": volume["id"], "ref": {"source-name": "snap.img"}}},
        ),
        "manageable snapshots": ("GET", f"os-snapshot-manage?host={host}", None),
        "audit": ("POST", "os-audit", {"audit": {"host": host}}),
        "readopt": (
            "POST",
            "os-orphans/action",
            {"os-readopt": {"host": host, "name": "volume-0", "project_id": "p"}},
        ),
        "adoption plan": ("POST", "os-adoption-plans", {"plan": {"host": host}}),
        "adoption job": ("POST", "os-adoption-jobs", {"job": {"plan_id": plan_id}}),
    }


def test_what_the_previous_release_cannot_do_is_refused_with_a_400_and_writes_nothing(
    capped: Rest,
) -> None:
    admin = fresh_admin()
    volume = capped.manage(headers=admin)
    driver = drivers.load_driver(capped.conf)
    capped.make_file("plan-me.img")
    plan_id = write_plan(capped.db, driver, capped.backend, ["plan-me.img"], admin["X-Project-Id"])
    before = _rows(capped)
    answers = {}
    for what, (method, path, body) in _refusals(capped, volume, plan_id).items():
        response = capped.call(method, path, body, headers=admin)
        answers[what] = (response.status_int, response.text)
    assert {what: code for what, (code, _text) in answers.items()} == dict.fromkeys(answers, 400)
    for what, (_code, text) in answers.items():
        assert "upgrade_levels" in text, (what, text)
    assert _rows(capped) == before
    assert Path(capped.files / "plan-me.img").exists()
    # The orphan listing reads what the last audit recorded: no message, so it answers.
    listing = capped.call("GET", f"os-orphans?host={capped.backend}", None, headers=admin)
    assert listing.status_int == 200 and listing.json["orphans"] == []
