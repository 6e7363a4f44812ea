"""Query parameters: unknown or repeated names, limits, offsets, sort keys."""

import pytest
from webob.multidict import MultiDict

from volmgr_api.rest import faults
from volmgr_api.rest.params import Params, check_sort, is_uuid


def params(
    *pairs: tuple[str, str],
    allowed: tuple[str, ...] = ("limit", "offset", "sort", "sort_key", "sort_dir", "flag"),
) -> Params:
    return Params(MultiDict(pairs), allowed)


def bad(call: object) -> str:
    with pytest.raises(faults.HTTPError) as raised:
        call()  # type: ignore[operator]
    assert raised.value.code == 400
    return raised.value.message


def test_unknown_parameter_is_refused_with_cinders_message() -> None:
    assert bad(lambda: params(("colour", "red"))) == (
        "Invalid filters colour are found in query options."
    )


def test_repeated_or_long_parameter_is_refused() -> None:
    assert "more than once" in bad(lambda: params(("limit", "1"), ("limit", "2")))
    assert "longer than" in bad(lambda: params(("limit", "1" * 300)))


def test_limit_defaults_to_and_is_capped_by_the_maximum() -> None:
    assert params().limit(50) == 50
    assert params(("limit", "10")).limit(50) == 10
    assert params(("limit", "500")).limit(50) == 50
    assert bad(lambda: params(("limit", "x")).limit(5)) == "limit param must be an integer"
    assert bad(lambda: params(("limit", "-1")).limit(5)) == "limit param must be positive"


def test_offset_must_be_a_small_non_negative_integer() -> None:
    assert params(("offset", "3")).offset() == 3
    bad(lambda: params(("offset", "-3")).offset())
    bad(lambda: params(("offset", str(2**40))).offset())


def test_sort_forms() -> None:
    assert params(("sort", "size:asc")).sort("reference") == [("size", "asc")]
    assert params(("sort", "size")).sort("reference") == [("size", "desc")]
    assert params(("sort_key", "size"), ("sort_dir", "asc")).sort("reference") == [("size", "asc")]
    assert params().sort("reference", "asc") == [("reference", "asc")]
    bad(lambda: params(("sort", "size"), ("sort_key", "size")).sort("reference"))


def test_check_sort_names_the_bad_key_or_direction() -> None:
    assert "Invalid sort keys passed: colour" in bad(
        lambda: check_sort([("colour", "asc")], ["size"])
    )
    assert "Invalid sort dirs passed: up" in bad(lambda: check_sort([("size", "up")], ["size"]))
    bad(lambda: check_sort([("size", "asc"), ("size", "desc")], ["size"]))


def test_booleans() -> None:
    assert params(("flag", "True")).boolean("flag")
    assert not params(("flag", "0")).boolean("flag")
    assert "must be a boolean" in bad(lambda: params(("flag", "maybe")).boolean("flag"))


def test_uuid() -> None:
    assert is_uuid("0f5e1c9c-2a3b-4c5d-8e9f-0a1b2c3d4e5f")
    assert not is_uuid("0f5e1c9c2a3b4c5d8e9f0a1b2c3d4e5f")
    assert not is_uuid("../etc/passwd")
