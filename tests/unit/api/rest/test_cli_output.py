"""The volmgr CLI's pure parts: endpoints, tables, progress, bulk summary."""

import io

from volmgr_api.cli.bulk import Summary
from volmgr_api.cli.client import base_endpoint
from volmgr_api.cli.output import Progress, table


def test_endpoint_may_end_in_v3_and_a_project() -> None:
    assert base_endpoint("http://h:8776") == "http://h:8776"
    assert base_endpoint("http://h:8776/") == "http://h:8776"
    assert base_endpoint("http://h:8776/v3") == "http://h:8776"
    assert base_endpoint("http://h:8776/v3/p1/") == "http://h:8776"
    assert base_endpoint("https://h/volume/v3/p1") == "https://h/volume"
    assert base_endpoint("http://h:8776/v30") == "http://h:8776/v30"


def test_table_aligns_and_shows_missing_values_as_dash() -> None:
    text = table([{"a": "x", "b": None}, {"a": "longer", "b": {"k": 1}}], ["a", "b"], ["A", "B"])
    assert text.splitlines() == [
        "+--------+----------+",
        "| A      | B        |",
        "+--------+----------+",
        "| x      | -        |",
        '| longer | {"k": 1} |',
        "+--------+----------+",
    ]


def test_progress_prints_a_line_per_step_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream)
    progress.advance("a.img")
    progress.advance("b.img")
    assert stream.getvalue().splitlines() == [
        f"[{'#' * 15}{'.' * 15}] 1/2 a.img",
        f"[{'#' * 30}] 2/2 b.img",
    ]


def test_summary_tells_how_to_resume() -> None:
    summary = Summary(found=3, available=["a"], failed=[("b", "bad")], interrupted=True)
    lines = summary.lines()
    assert lines[0].startswith("safe to manage: 3, now available: 1")
    assert "  failed  b: bad" in lines
    assert "run the same command again" in lines[-1]
