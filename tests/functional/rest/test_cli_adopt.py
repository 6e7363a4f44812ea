"""``volmgr adopt plan``, ``adopt plans`` and ``adopt plan-show`` over HTTP."""

import json
import os
import uuid

import pytest

from tests.functional.rest.conftest import GIB, Rest, unique
from tests.functional.rest.test_cli import run


def test_plan_prints_every_object_and_the_totals(rest: Rest, capsys: pytest.CaptureFixture) -> None:
    project = unique("cli")
    start = f"cli-adopt-{uuid.uuid4().hex[:6]}-"
    for n in range(3):
        rest.make_file(f"{start}{n}", size=(n + 1) * GIB)
    os.link(rest.files / f"{start}2", rest.files.parent / f"{start}link")
    code, out = run(
        rest, capsys, project, "adopt", "plan", rest.backend, "--name", f"{start}*",
        "--max-size", "3", "--name-template", "new-{source-name}", "--metadata", "a=b",
    )  # fmt: skip
    assert code == 0, out
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in out.splitlines()]
    assert ["0", f"{start}0", "1", "manage", f"new-{start}0", ""] in rows
    assert any(row[:4] == ["2", f"{start}2", "3", "skip"] for row in rows)
    assert "to manage: 2 (3 GiB); skipped: 1" in out
    assert "not safe: 1" in out
    assert "quota volumes: 2 after the plan (limit 1000)" in out

    code, out = run(rest, capsys, project, "--json", "adopt", "plans")
    plans = json.loads(out)
    assert code == 0 and plans[0]["totals"]["manage"] == 2
    plan_id = plans[0]["id"]
    code, out = run(rest, capsys, project, "adopt", "plan-show", plan_id, "--json")
    shown = json.loads(out)
    assert [i["source_name"] for i in shown["items"]] == [f"{start}{n}" for n in range(3)]
    assert shown["values"]["metadata"] == {"a": "b"}
    code, out = run(rest, capsys, project, "adopt", "plan-show", plan_id, "--verdict", "skip")
    assert f"{start}2" in out and f"{start}0 " not in out


def test_plan_refusals_print_the_reason(rest: Rest, capsys: pytest.CaptureFixture) -> None:
    project = unique("cli")
    code, out = run(rest, capsys, project, "adopt", "plan", "nobody@nothing")
    assert code == 1 and "nobody@nothing" in out
    code, out = run(
        rest, capsys, project, "adopt", "plan", rest.backend, "--min-size", "4", "--max-size", "1"
    )
    assert code == 1 and "min_size" in out
