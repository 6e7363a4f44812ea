"""Body of a manage request: ``{"volume": {"host" | "cluster", "ref", ...}}``.

``cluster`` is accepted from microversion 3.16 on. Optional fields may be null,
as python-cinderclient sends every field it knows; ``bootable`` too (false), as
openstacksdk sends it when ``openstack volume create --remote-source`` is given
neither ``--bootable`` nor ``--non-bootable``. The longest name and
description are the ``[api]`` options that the RPC API applies too.
``with_snapshots`` (a strict boolean) is volmgr's own: Cinder has no such field and
its clients never send it; it asks for the object's chain to be adopted with it.
"""

import functools
from typing import Any

from jsonschema.protocols import Validator
from oslo_config import cfg

from volmgr_api.rest.microversion import APIVersion
from volmgr_api.schemas import compile_schema
from volmgr_api.schemas import parameter_types as types
from volmgr_common.limits import STRING_WIDTH

HOST = types.nullable_string(1024, 1)
CLUSTER_VERSION = "3.16"


def create(with_cluster: bool, max_name_length: int, max_description_length: int) -> dict[str, Any]:
    """The manage body schema, with or without ``cluster``, at these limits."""
    properties: dict[str, Any] = {
        "host": HOST,
        "ref": types.reference,
        "name": types.nullable_string(max_name_length),
        "description": types.nullable_string(max_description_length),
        "volume_type": types.nullable_string(STRING_WIDTH, 1),
        "availability_zone": types.nullable_string(STRING_WIDTH, 1),
        "metadata": types.metadata,
        "bootable": types.nullable_boolean,
        # volmgr's extension (Cinder has none): adopt the object with its snapshots.
        "with_snapshots": {"type": "boolean"},
    }
    if with_cluster:
        properties["cluster"] = HOST
    return {
        "type": "object",
        "properties": {
            "volume": {
                "type": "object",
                "properties": properties,
                "required": ["ref"],
                "additionalProperties": False,
            }
        },
        "required": ["volume"],
        "additionalProperties": False,
    }


@functools.cache
def _compiled(with_cluster: bool, max_name_length: int, max_description_length: int) -> Validator:
    return compile_schema(create(with_cluster, max_name_length, max_description_length))


def validator(version: APIVersion, conf: cfg.ConfigOpts) -> Validator:
    """The compiled manage body schema at ``version`` under ``conf``'s limits."""
    return _compiled(
        version.matches(CLUSTER_VERSION),
        conf.api.max_name_length,
        conf.api.max_description_length,
    )
