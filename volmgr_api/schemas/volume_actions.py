"""Body of ``POST volumes/{id}/action``: exactly one action, ``os-unmanage``."""

from typing import Any

from volmgr_api.schemas import compile_schema

ACTIONS = ("os-unmanage",)

action: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
}

unmanage: dict[str, Any] = {
    "type": "object",
    "properties": {
        "os-unmanage": {"anyOf": [{"type": "null"}, {"type": "object", "maxProperties": 0}]}
    },
    "required": ["os-unmanage"],
    "additionalProperties": False,
}

ACTION = compile_schema(action)
UNMANAGE = compile_schema(unmanage)
