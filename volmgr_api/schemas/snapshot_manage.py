"""Bodies of the snapshot requests: ``POST os-snapshot-manage`` and
``POST snapshots/{id}/action``.

A manage body is ``{"snapshot": {"volume_id", "ref", "name", "description",
"metadata"}}``, as Cinder's; optional fields may be null (python-cinderclient sends
every field it knows). The longest name and description are the ``[api]`` options
that the RPC API applies too. The one action is ``os-unmanage``, as for volumes.
"""

import functools
from typing import Any

from jsonschema.protocols import Validator
from oslo_config import cfg

from volmgr_api.schemas import compile_schema
from volmgr_api.schemas import parameter_types as types


def create(max_name_length: int, max_description_length: int) -> dict[str, Any]:
    """The snapshot manage body schema at these limits."""
    return {
        "type": "object",
        "properties": {
            "snapshot": {
                "type": "object",
                "properties": {
                    "volume_id": {"type": "string", "minLength": 1, "maxLength": 36},
                    "ref": types.reference,
                    "name": types.nullable_string(max_name_length),
                    "description": types.nullable_string(max_description_length),
                    "metadata": types.metadata,
                },
                "required": ["volume_id", "ref"],
                "additionalProperties": False,
            }
        },
        "required": ["snapshot"],
        "additionalProperties": False,
    }


@functools.cache
def _compiled(max_name_length: int, max_description_length: int) -> Validator:
    return compile_schema(create(max_name_length, max_description_length))


def validator(conf: cfg.ConfigOpts) -> Validator:
    """The compiled snapshot manage body schema under ``conf``'s limits."""
    return _compiled(conf.api.max_name_length, conf.api.max_description_length)
