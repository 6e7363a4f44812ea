"""The volmgr CLI's pure parts: endpoints, tables, progress, bulk summary."""

import argparse
import io
import re

from volmgr_api.cli.bulk import Summary
from volmgr_api.cli.client import base_endpoint
from volmgr_api.cli.output import Progress
from volmgr_common import output


def formatted(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    output.add_options(parser)
    return parser.parse_args(list(argv))


def test_endpoint_may_end_in_v3_and_a_project() -> None:
    assert base_endpoint("http://h:8776") == "http://h:8776"
    assert base_endpoint("http://h:8776/") == "http://h:8776"
    assert base_endpoint("http://h:8776/v3") == "http://h:8776"
    assert base_endpoint("http://h:8776/v3/p1/") == "http://h:8776"
    assert base_endpoint("https://h/volume/v3/p1") == "https://h/volume"
    assert base_endpoint("http://h:8776/v30") == "http://h:8776/v30"


def test_table_aligns_and_nested_values_print_as_json() -> None:
    stream = io.StringIO()
    rows = [["x", None], ["longer", {"k": 1}]]
    output.emit_list(formatted(), ["A", "B"], rows, stream)
    assert stream.getvalue().splitlines() == [
        "+--------+----------+",
        "| A      | B        |",
        "+--------+----------+",
        "| x      | None     |",
        '| longer | {"k": 1} |',
        "+--------+----------+",
    ]


def test_json_keeps_nested_values_and_csv_prints_one_object_as_a_row() -> None:
    stream = io.StringIO()
    output.emit_one(formatted("-f", "json", "--noindent"), {"a": 1, "b": {"k": [1]}}, stream)
    assert stream.getvalue().strip() == '{"a": 1, "b": {"k": [1]}}'
    stream = io.StringIO()
    output.emit_one(formatted("-f", "csv", "-c", "B"), {"a": 1, "b": "x"}, stream)
    assert stream.getvalue().splitlines() == ['"b"', '"x"']


def test_progress_prints_a_line_per_step_with_rate_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream)
    progress.advance("a.img")
    progress.advance("b.img")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    meter = r"{} {}/2 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+object/s\] {}"
    assert re.fullmatch(meter.format(" 50%", 1, "a.img"), lines[0]), lines[0]
    assert re.fullmatch(meter.format("100%", 2, "b.img"), lines[1]), lines[1]


def test_summary_tells_how_to_resume() -> None:
    summary = Summary(found=3, available=["a"], failed=[("b", "bad")], interrupted=True)
    lines = summary.lines()
    assert lines[0].startswith("safe to manage: 3, now available: 1")
    assert "  failed  b: bad" in lines
    assert "run the same command again" in lines[-1]
