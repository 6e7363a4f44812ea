"""Manage body schema: what python-cinderclient sends passes, anything unknown does not."""

import pytest
from jsonschema.protocols import Validator
from oslo_config import cfg

from volmgr_api import validation
from volmgr_api.rest import faults
from volmgr_api.rest.microversion import APIVersion
from volmgr_api.rest.request import validate
from volmgr_api.schemas import parameter_types, volume_actions, volume_manage
from volmgr_common.conf import api as api_opts

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


def manage(version: APIVersion, conf: cfg.ConfigOpts | None = None) -> Validator:
    """The manage body validator at ``version`` (default limits unless ``conf``)."""
    if conf is None:
        conf = cfg.ConfigOpts()
        conf.register_opts(api_opts.OPTS, group=api_opts.GROUP)
    return volume_manage.validator(version, conf)


def message(body: object, validator: Validator) -> str:
    with pytest.raises(faults.HTTPError) as raised:
        validate(body, validator)
    assert raised.value.code == 400
    return raised.value.message


def test_cinderclient_body_is_valid() -> None:
    validate(CINDERCLIENT_BODY, manage(V3_0))


def test_unknown_fields_are_refused_at_both_levels() -> None:
    body = {"volume": {**CINDERCLIENT_BODY["volume"], "size": 1}}
    assert "'size' was unexpected" in message(body, manage(V3_0))
    body = {**CINDERCLIENT_BODY, "extra": 1}
    assert "'extra' was unexpected" in message(body, manage(V3_0))


def test_cluster_is_known_from_3_16() -> None:
    body = {"volume": {"cluster": "node@files", "ref": {"source-name": "d"}}}
    assert "'cluster' was unexpected" in message(body, manage(V3_0))
    validate(body, manage(V3_16))


def test_long_strings_are_refused_without_being_echoed_in_full() -> None:
    body = {"volume": {"host": "h@b", "ref": {"source-name": "d"}, "name": "n" * 5000}}
    text = message(body, manage(V3_0))
    assert "volume/name" in text
    assert "longer than 255 characters" in text
    assert len(text) < 400


@pytest.mark.parametrize("ref", ["disk1", {}, [], None, {"": "x"}, {f"k{i}": i for i in range(40)}])
def test_reference_must_be_a_small_non_empty_object(ref: object) -> None:
    message({"volume": {"host": "h@b", "ref": ref}}, manage(V3_0))


def test_booleans_in_cinders_spellings() -> None:
    for value in (True, "true", "YES", "1", "on"):
        assert parameter_types.to_bool(value)
    for value in (False, "false", "No", "0", "off"):
        assert not parameter_types.to_bool(value)
    body = {"volume": {"host": "h@b", "ref": {"a": 1}, "bootable": "maybe"}}
    message(body, manage(V3_0))


def test_bootable_may_be_null_as_openstacksdk_sends_it() -> None:
    validate({"volume": {"host": "h@b", "ref": {"a": 1}, "bootable": None}}, manage(V3_0))
    assert not parameter_types.to_bool(None)


def test_unmanage_action_body() -> None:
    validate({"os-unmanage": None}, volume_actions.UNMANAGE)
    validate({"os-unmanage": {}}, volume_actions.UNMANAGE)
    message({"os-unmanage": {"force": True}}, volume_actions.UNMANAGE)
    message({"os-unmanage": None, "os-extend": {}}, volume_actions.ACTION)


def test_name_and_description_limits_are_the_api_options(conf: cfg.ConfigOpts) -> None:
    conf.set_override("max_name_length", 4, group="api")
    conf.set_override("max_description_length", 6, group="api")
    body = {"volume": {"host": "h@b", "ref": {"a": 1}, "name": "abcd", "description": "abcdef"}}
    validate(body, manage(V3_0, conf))
    body["volume"]["name"] = "abcde"
    assert "longer than 4 characters" in message(body, manage(V3_0, conf))
    body["volume"].update(name="abcd", description="abcdefg")
    assert "longer than 6 characters" in message(body, manage(V3_0, conf))


def test_the_validator_is_compiled_once_per_version_range_and_limits(conf: cfg.ConfigOpts) -> None:
    assert manage(V3_0, conf) is manage(APIVersion(3, 15), conf)
    assert manage(V3_16, conf) is manage(APIVersion(3, 17), conf)
    assert manage(V3_0, conf) is not manage(V3_16, conf)


def test_metadata_limits_are_the_ones_the_api_checks() -> None:
    key_too_long = {"k" * (validation.MAX_METADATA_KEY + 1): "v"}
    value_too_long = {"k": "v" * (validation.MAX_METADATA_VALUE + 1)}
    for metadata in (key_too_long, value_too_long):
        message({"volume": {"host": "h@b", "ref": {"a": 1}, "metadata": metadata}}, manage(V3_0))
    longest = {"k" * validation.MAX_METADATA_KEY: "v" * validation.MAX_METADATA_VALUE}
    validate({"volume": {"host": "h@b", "ref": {"a": 1}, "metadata": longest}}, manage(V3_0))
