"""Unit tests of the shared listing helpers and of the file driver's O(page) listing.

``paginate`` sorts cheap items and asks for sizes only when sorting by size; the
file driver must therefore ``lstat`` only the entries of the page it returns when
sorting by name, whatever the size of the directory.
"""

import os
from pathlib import Path
from typing import Any

import pytest

from tests.driver_support import make_conf
from volmgr_common import exception
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.base import (
    GIB,
    manageable_entry,
    paginate,
    paginate_manageable,
    size_in_gib,
)
from volmgr_volume.drivers.file import Described, FileDriver

ITEMS = [("c", 1), ("a", 3), ("d", 1), ("b", 2)]


def _page(*args: Any, sort_key: str = "reference", sort_dir: str = "asc") -> list[str]:
    marker, limit, offset = args
    page = PageRequest(marker, limit, offset, ((sort_key, sort_dir),))
    items = paginate(ITEMS, lambda i: i[0], lambda i: i[1], page)
    return [name for name, _ in items]


@pytest.mark.parametrize(
    ("size", "gib"), [(0, 0), (1, 1), (GIB, 1), (GIB + 1, 2), (2**63 - 1, 2**33)]
)
def test_size_in_gib_is_an_exact_ceiling(size: int, gib: int) -> None:
    assert size_in_gib(size) == gib


def test_paginate_by_name_and_by_size_with_ties_by_name() -> None:
    assert _page(None, None, 0) == ["a", "b", "c", "d"]
    assert _page(None, None, 0, sort_dir="desc") == ["d", "c", "b", "a"]
    assert _page(None, None, 0, sort_key="size") == ["c", "d", "b", "a"]
    assert _page(None, None, 0, sort_key="size", sort_dir="desc") == ["a", "b", "d", "c"]


def test_paginate_marker_offset_and_limit() -> None:
    assert _page("b", 1, 0) == ["c"]
    assert _page("b", None, 1) == ["d"]
    assert _page(None, 2, 1) == ["b", "c"]
    assert _page("d", 5, 0) == []
    assert _page(None, 0, 0) == []


def test_paginate_asks_for_sizes_only_when_sorting_by_size() -> None:
    def no_size(item: Any) -> int:
        raise AssertionError("size asked for a name sort")

    assert paginate(
        ITEMS, lambda i: i[0], no_size, PageRequest(limit=1, sort=(("reference", "asc"),))
    )


@pytest.mark.parametrize(
    ("page", "sort_key", "sort_dir", "cause"),
    [
        ((None, 1, 0), "name", "asc", "sort key"),
        ((None, 1, 0), "size", "up", "sort key"),
        ((None, -1, 0), "size", "asc", "negative"),
        ((None, 1, -1), "size", "asc", "negative"),
        (("zz", 1, 0), "size", "asc", "marker 'zz' not found"),
    ],
)
def test_paginate_refuses_bad_parameters(
    page: tuple[Any, Any, Any], sort_key: str, sort_dir: str, cause: str
) -> None:
    with pytest.raises(exception.InvalidInput, match=cause):
        paginate(ITEMS, lambda i: i[0], lambda i: i[1], PageRequest(*page, ((sort_key, sort_dir),)))


def test_paginate_manageable_over_entries() -> None:
    entries = [manageable_entry(name, size, None, None) for name, size in ITEMS]
    page = paginate_manageable(entries, PageRequest(marker="c", limit=2, sort=(("size", "asc"),)))
    assert [entry["reference"]["source-name"] for entry in page] == ["d", "b"]
    assert page[0] == {
        "reference": {"source-name": "d"},
        "size": 1,
        "safe_to_manage": True,
        "reason_not_safe": None,
        "cinder_id": None,
        "extra_info": None,
    }


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FileDriver, list[str]]:
    """A file driver over 600 files that records which entries it describes."""
    driver = load_driver(make_conf(tmp_path))
    assert isinstance(driver, FileDriver)
    driver.do_setup()
    for n in range(600):
        with open(os.path.join(driver.directory, f"f{n:04}"), "wb") as f:
            f.truncate(n % 5 * GIB)
    described: list[str] = []
    describe = driver._describe

    def counting_describe(fd: int, name: str) -> Described | None:
        described.append(name)
        return describe(fd, name)

    monkeypatch.setattr(driver, "_describe", counting_describe)
    return driver, described


def test_a_page_sorted_by_name_stats_only_its_entries(
    counted: tuple[FileDriver, list[str]],
) -> None:
    driver, described = counted
    page = driver.list_manageable(
        {}, PageRequest(marker="f0299", limit=10, offset=5, sort=(("reference", "asc"),))
    )
    expected = [f"f{n:04}" for n in range(305, 315)]
    assert [entry["reference"]["source-name"] for entry in page] == expected
    assert described == expected


def test_a_page_sorted_by_size_stats_each_entry_once(
    counted: tuple[FileDriver, list[str]],
) -> None:
    driver, described = counted
    page = driver.list_manageable({}, PageRequest(limit=3, sort=(("size", "desc"),)))
    assert [entry["size"] for entry in page] == [4, 4, 4]
    assert sorted(described) == [f"f{n:04}" for n in range(600)]


def test_an_entry_that_vanishes_is_left_out_and_the_page_still_filled(
    counted: tuple[FileDriver, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    driver, _ = counted
    describe = driver._describe
    monkeypatch.setattr(
        driver, "_describe", lambda fd, name: None if name == "f0001" else describe(fd, name)
    )
    page = driver.list_manageable({}, PageRequest(limit=3, sort=(("reference", "asc"),)))
    assert [entry["reference"]["source-name"] for entry in page] == ["f0000", "f0002", "f0003"]
