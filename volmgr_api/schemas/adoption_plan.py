"""Body of ``POST os-adoption-plans``: ``{"plan": {"host", "filters", ...}}``.

Every field but ``host`` may be omitted or null. The size filters are whole GiB;
the limits of names, descriptions and metadata are those of a manage request
(``[api]`` options), so one compiled validator serves each configuration.
"""

import functools
from typing import Any

from jsonschema.protocols import Validator
from oslo_config import cfg

from volmgr_api.adoption import MAX_GLOB, MAX_SIZE_GB
from volmgr_api.schemas import compile_schema
from volmgr_api.schemas import parameter_types as types
from volmgr_common.limits import STRING_WIDTH

SIZE_GB = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_SIZE_GB}, {"type": "null"}]}

FILTERS: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "name": types.nullable_string(MAX_GLOB, 1),
                "min_size": SIZE_GB,
                "max_size": SIZE_GB,
                "safe_only": types.nullable_boolean,
            },
            "additionalProperties": False,
        },
        {"type": "null"},
    ]
}


def create(max_name_length: int, max_description_length: int) -> dict[str, Any]:
    """The plan body schema at these limits."""
    properties: dict[str, Any] = {
        "host": {"type": "string", "minLength": 1, "maxLength": 1024},
        "filters": FILTERS,
        "volume_type": types.nullable_string(STRING_WIDTH, 1),
        "name_template": types.nullable_string(max_name_length, 1),
        "description": types.nullable_string(max_description_length),
        "metadata": types.metadata,
        "bootable": types.nullable_boolean,
        "project_id": types.nullable_string(255, 1),
    }
    return {
        "type": "object",
        "properties": {
            "plan": {
                "type": "object",
                "properties": properties,
                "required": ["host"],
                "additionalProperties": False,
            }
        },
        "required": ["plan"],
        "additionalProperties": False,
    }


@functools.cache
def _compiled(max_name_length: int, max_description_length: int) -> Validator:
    return compile_schema(create(max_name_length, max_description_length))


def validator(conf: cfg.ConfigOpts) -> Validator:
    """The compiled plan body schema under ``conf``'s limits."""
    return _compiled(conf.api.max_name_length, conf.api.max_description_length)
