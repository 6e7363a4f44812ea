"""Unit tests of the page request: what a listing is asked for, and how it crosses RPC."""

import json

import pytest

from volmgr_common import exception
from volmgr_common.page_request import MANAGEABLE_DEFAULT_SORT, PageRequest


def test_a_page_crosses_rpc_as_the_1_0_keywords_and_comes_back_equal() -> None:
    page = PageRequest(marker="disk1", limit=10, offset=2, sort=(("size", "desc"),))
    wire = json.loads(json.dumps(page.rpc_kwargs(MANAGEABLE_DEFAULT_SORT)))
    assert wire == {
        "marker": "disk1",
        "limit": 10,
        "offset": 2,
        "sort_key": "size",
        "sort_dir": "desc",
    }
    assert PageRequest.from_rpc(**wire) == page


def test_a_page_without_a_sort_is_sent_in_the_default_order() -> None:
    wire = PageRequest(limit=5).rpc_kwargs(("reference", "asc"))
    assert (wire["sort_key"], wire["sort_dir"]) == ("reference", "asc")
    assert PageRequest.from_rpc(marker=None, limit=5) == PageRequest(limit=5)


def test_a_listing_sorted_by_one_key_refuses_several() -> None:
    page = PageRequest(sort=(("size", "asc"), ("reference", "asc")))
    with pytest.raises(exception.InvalidInput, match="one key"):
        page.single_sort(MANAGEABLE_DEFAULT_SORT)
