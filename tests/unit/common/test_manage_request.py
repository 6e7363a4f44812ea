"""Unit tests of the typed manage request and request spec (volmgr_common.manage_request)."""

import dataclasses

import pytest

from volmgr_common.manage_request import FIELDS, ManageRequest, RequestSpec


def test_a_manage_request_travels_as_the_keyword_arguments_of_rpc_1_0() -> None:
    request = ManageRequest(host="node1@files#p", ref={"source-name": "d"}, name="n")
    assert request.to_wire() == {
        "host": "node1@files#p",
        "ref": {"source-name": "d"},
        "name": "n",
        "description": None,
        "volume_type": None,
        "availability_zone": None,
        "metadata": {},
        "bootable": False,
    }
    assert (*request.to_wire(), "with_snapshots") == FIELDS
    assert request.backend == "node1@files"


def test_a_chain_request_carries_with_snapshots_as_rpc_1_3_does() -> None:
    request = ManageRequest(host="node1@files", ref={"source-name": "d"}, with_snapshots=True)
    assert tuple(request.to_wire()) == FIELDS
    assert request.to_wire()["with_snapshots"] is True


def test_a_manage_request_is_frozen() -> None:
    request = ManageRequest(host="node1@files", ref={"source-name": "d"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.name = "other"  # type: ignore[misc]


def test_a_request_spec_is_rebuilt_from_what_it_sends() -> None:
    vtype = {"id": "t1", "name": "gold", "extra_specs": {"thin": "<is> True"}}
    spec = RequestSpec.for_manage("node1@files#p", "nova", vtype).for_volume("v1")
    wire = spec.to_wire()
    assert wire == {
        "host": "node1@files#p",
        "backend": "node1@files",
        "pool": "p",
        "availability_zone": "nova",
        "volume_type": "gold",
        "extra_specs": {"thin": "<is> True"},
        "size": None,
        "volume_id": "v1",
    }
    assert RequestSpec.from_wire(wire) == spec


def test_a_request_spec_tolerates_what_older_or_newer_senders_send() -> None:
    spec = RequestSpec.from_wire({"host": "node1@files", "extra_specs": None, "later": 1})
    assert spec == RequestSpec(host="node1@files")
    assert "volume_id" not in spec.to_wire()
    with pytest.raises(KeyError):
        RequestSpec.from_wire({"availability_zone": "nova"})
