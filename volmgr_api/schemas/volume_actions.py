"""Body of ``POST volumes/{id}/action``: exactly one action, ``os-unmanage``."""

from typing import Any

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
