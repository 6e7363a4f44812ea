"""Unit tests of the manage request checks (volmgr_api.validation): pure functions."""

from typing import Any

import pytest
from oslo_config import cfg

from volmgr_api import validation
from volmgr_common import exception
from volmgr_common.context import RequestContext
from volmgr_common.manage_request import (
    SNAPSHOT_FIELDS,
    SNAPSHOT_REQUIRED_FIELDS,
    ManageRequest,
    SnapshotRequest,
)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("node1@files", ("node1@files", None)),
        ("node1@files#pool0", ("node1@files", "pool0")),
        ("node-1.example.org@lvm_ssd#vg.01", ("node-1.example.org@lvm_ssd", "vg.01")),
    ],
)
def test_parse_host_splits_backend_and_pool(host: str, expected: tuple[str, str | None]) -> None:
    assert validation.parse_host(host) == expected


@pytest.mark.parametrize(
    "host",
    [
        "node1",
        "node1@",
        "@files",
        "node1@files#",
        "node1@files#a#b",
        "node 1@files",
        "node1@fi/les",
        "a" * 201 + "@files",
        "",
        None,
        42,
        ["node1@files"],
    ],
)
def test_parse_host_refuses_malformed_hosts(host: Any) -> None:
    with pytest.raises(exception.InvalidHost) as raised:
        validation.parse_host(host)
    assert "expected 'host@backend' or 'host@backend#pool'" in str(raised.value)
    assert raised.value.code == 400


@pytest.mark.parametrize("host", ["node1@files\n", "node1@files#pool0\n"])
def test_parse_host_refuses_a_trailing_newline(host: str) -> None:
    with pytest.raises(exception.InvalidHost):
        validation.parse_host(host)


def test_check_reference_returns_a_good_reference() -> None:
    ref = {"source-name": "disk1", "size_gb": 3}
    assert validation.check_reference(ref) == ref


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ({}, "ref must be a non-empty object"),
        (None, "ref must be a non-empty object"),
        ("disk1", "ref must be a non-empty object"),
        (["source-name", "disk1"], "ref must be a non-empty object"),
        ({"": "disk1"}, "ref keys must be non-empty strings"),
        ({1: "disk1"}, "ref keys must be non-empty strings"),
        ({"source-name": "d", "opts": {1, 2}}, "ref is not plain JSON data"),
        ({"source-name": "d", "opts": "x" * 5000}, "ref is larger than 4096 bytes"),
        ({"source-name": ""}, "ref source-name must be a non-empty string"),
        ({"source-name": 3}, "ref source-name must be a non-empty string"),
        ({"source-id": None}, "ref source-id must be a non-empty string"),
        ({"source-id": "x" * 256}, "ref source-id must be a non-empty string of at most 255"),
    ],
)
def test_check_reference_refuses_bad_references(ref: Any, reason: str) -> None:
    with pytest.raises(exception.InvalidInput, match=reason):
        validation.check_reference(ref)


def test_check_text_accepts_none_and_short_strings() -> None:
    assert validation.check_text("name", None, 5) is None
    assert validation.check_text("name", "abcde", 5) == "abcde"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("abcdef", "name is longer than 5 characters"), (7, "name must be a string")],
)
def test_check_text_refuses_long_or_non_strings(value: Any, reason: str) -> None:
    with pytest.raises(exception.InvalidInput, match=reason):
        validation.check_text("name", value, 5)


def test_check_metadata_accepts_none_and_string_pairs() -> None:
    assert validation.check_metadata(None, 2) == {}
    assert validation.check_metadata({"a": "1", "b": ""}, 2) == {"a": "1", "b": ""}


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        (["a"], "metadata must be an object of strings"),
        ({"a": "1", "b": "2", "c": "3"}, "metadata has more than 2 items"),
        ({"": "1"}, "metadata keys must be strings of 1 to 255 characters"),
        ({"k" * 256: "1"}, "metadata keys must be strings of 1 to 255 characters"),
        ({"a": 1}, "metadata value of 'a' must be a string of at most 255 characters"),
        ({"a": "v" * 256}, "metadata value of 'a' must be a string"),
        ({"a": None}, "metadata value of 'a' must be a string"),
    ],
)
def test_check_metadata_refuses_bad_metadata(metadata: Any, reason: str) -> None:
    with pytest.raises(exception.InvalidInput, match=reason):
        validation.check_metadata(metadata, 2)


def fields(**overrides: Any) -> dict[str, Any]:
    return {"host": "node1@files", "ref": {"source-name": "disk1"}, **overrides}


def test_manage_request_uses_the_api_limits(conf: cfg.ConfigOpts) -> None:
    conf.set_override("max_name_length", 4, group="api")
    request = validation.manage_request(conf, fields(name="disk", bootable=True))
    assert request == ManageRequest(
        host="node1@files", ref={"source-name": "disk1"}, name="disk", bootable=True
    )
    with pytest.raises(exception.InvalidInput, match="name is longer than 4"):
        validation.manage_request(conf, fields(name="disk1", bootable=False))


def test_manage_request_keeps_every_field(conf: cfg.ConfigOpts) -> None:
    given = fields(
        host="node1@files#pool0",
        name="n",
        description="d",
        volume_type="gold",
        availability_zone="nova",
        metadata={"a": "1"},
        bootable=True,
    )
    request = validation.manage_request(conf, given)
    assert request.to_wire() == given
    assert request.backend == "node1@files"


def test_manage_request_reads_null_metadata_as_empty(conf: cfg.ConfigOpts) -> None:
    assert validation.manage_request(conf, fields(metadata=None)).metadata == {}


@pytest.mark.parametrize("bootable", ["true", 1, None])
def test_manage_request_wants_a_boolean_bootable(conf: cfg.ConfigOpts, bootable: Any) -> None:
    with pytest.raises(exception.InvalidInput, match="bootable must be true or false"):
        validation.manage_request(conf, fields(bootable=bootable))


@pytest.mark.parametrize(
    ("overrides", "error", "text"),
    [
        ({"host": "node1"}, exception.InvalidHost, "expected 'host@backend'"),
        ({"ref": {}}, exception.InvalidInput, "ref must be a non-empty object"),
        ({"name": "n" * 256}, exception.InvalidInput, "name is longer than 255"),
        ({"description": 5}, exception.InvalidInput, "description must be a string"),
        ({"metadata": {"a": 1}}, exception.InvalidInput, "metadata value of 'a'"),
        ({"metadata": "a=1"}, exception.InvalidInput, "metadata must be an object"),
        # Checked in this order: the first problem is the one reported.
        ({"host": "node1", "ref": {}}, exception.InvalidHost, "expected 'host@backend'"),
        ({"bootable": "x", "name": 5}, exception.InvalidInput, "bootable must be"),
        ({"name": 5, "metadata": "x"}, exception.InvalidInput, "name must be a string"),
    ],
)
def test_manage_request_refuses_bad_fields(
    conf: cfg.ConfigOpts, overrides: dict[str, Any], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        validation.manage_request(conf, fields(**overrides))


@pytest.mark.parametrize(
    "given",
    [{"ref": {"source-name": "d"}}, {"host": "node1@files"}, fields(size=1)],
    ids=["no-host", "no-ref", "unknown-field"],
)
def test_manage_request_with_wrong_fields_is_a_programming_error(
    conf: cfg.ConfigOpts, given: dict[str, Any]
) -> None:
    with pytest.raises(TypeError):
        validation.manage_request(conf, given)


def test_request_project_is_the_callers() -> None:
    ctxt = RequestContext(user_id="u", project_id="p")
    assert validation.request_project(ctxt) == "p"
    with pytest.raises(exception.InvalidInput, match="names no project"):
        validation.request_project(RequestContext(user_id="u", project_id=None))


@pytest.mark.parametrize(
    "given",
    [
        {"ref": {"source-name": "s"}},
        {"volume_id": "0" * 8 + "-0000-4000-8000-" + "0" * 12},
        {"volume_id": "v", "ref": {"source-name": "s"}, "size": 1},
    ],
    ids=["no-volume-id", "no-ref", "unknown-field"],
)
def test_snapshot_fields_with_wrong_names_are_a_programming_error(given: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="manage_existing_snapshot"):
        validation.check_call_fields(
            "manage_existing_snapshot", given, SNAPSHOT_FIELDS, SNAPSHOT_REQUIRED_FIELDS
        )


def test_a_snapshot_request_on_the_wire_is_checked_back_into_itself(conf: cfg.ConfigOpts) -> None:
    request = SnapshotRequest(
        volume_id="0" * 8 + "-0000-4000-8000-" + "0" * 12,
        ref={"source-name": "snap"},
        name="s",
        description="d",
        metadata={"k": "v"},
    )
    wire = request.to_wire()
    validation.check_call_fields(
        "manage_existing_snapshot", wire, SNAPSHOT_FIELDS, SNAPSHOT_REQUIRED_FIELDS
    )
    assert validation.snapshot_request(conf, wire) == request
