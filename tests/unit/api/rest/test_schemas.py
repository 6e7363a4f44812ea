"""Manage body schema: what python-cinderclient sends passes, anything unknown does not."""

import pytest

from volmgr_api.rest import faults
from volmgr_api.rest.microversion import APIVersion
from volmgr_api.rest.request import validate
from volmgr_api.schemas import parameter_types, volume_actions, volume_manage

V3_0 = APIVersion(3, 0)
V3_16 = APIVersion(3, 16)
CINDERCLIENT_BODY = {
    "volume": {
        "host": "node@files",
        "ref": {"source-name": "disk1"},
        "name": None,
        "description": None,
        "volume_type": None,
        "availability_zone": None,
        "metadata": None,
        "bootable": False,
    }
}


def message(body: object, schema: dict) -> str:
    with pytest.raises(faults.HTTPError) as raised:
        validate(body, schema)
    assert raised.value.code == 400
    return raised.value.message


def test_cinderclient_body_is_valid() -> None:
    validate(CINDERCLIENT_BODY, volume_manage.create(V3_0))


def test_unknown_fields_are_refused_at_both_levels() -> None:
    body = {"volume": {**CINDERCLIENT_BODY["volume"], "size": 1}}
    assert "'size' was unexpected" in message(body, volume_manage.create(V3_0))
    body = {**CINDERCLIENT_BODY, "extra": 1}
    assert "'extra' was unexpected" in message(body, volume_manage.create(V3_0))


def test_cluster_is_known_from_3_16() -> None:
    body = {"volume": {"cluster": "node@files", "ref": {"source-name": "d"}}}
    assert "'cluster' was unexpected" in message(body, volume_manage.create(V3_0))
    validate(body, volume_manage.create(V3_16))


def test_long_strings_are_refused_without_being_echoed_in_full() -> None:
    body = {"volume": {"host": "h@b", "ref": {"source-name": "d"}, "name": "n" * 5000}}
    text = message(body, volume_manage.create(V3_0))
    assert "volume/name" in text
    assert "longer than 255 characters" in text
    assert len(text) < 400


@pytest.mark.parametrize("ref", ["disk1", {}, [], None, {"": "x"}, {f"k{i}": i for i in range(40)}])
def test_reference_must_be_a_small_non_empty_object(ref: object) -> None:
    message({"volume": {"host": "h@b", "ref": ref}}, volume_manage.create(V3_0))


def test_booleans_in_cinders_spellings() -> None:
    for value in (True, "true", "YES", "1", "on"):
        assert parameter_types.to_bool(value)
    for value in (False, "false", "No", "0", "off"):
        assert not parameter_types.to_bool(value)
    body = {"volume": {"host": "h@b", "ref": {"a": 1}, "bootable": "maybe"}}
    message(body, volume_manage.create(V3_0))


def test_unmanage_action_body() -> None:
    validate({"os-unmanage": None}, volume_actions.unmanage)
    validate({"os-unmanage": {}}, volume_actions.unmanage)
    message({"os-unmanage": {"force": True}}, volume_actions.unmanage)
    message({"os-unmanage": None, "os-extend": {}}, volume_actions.action)
