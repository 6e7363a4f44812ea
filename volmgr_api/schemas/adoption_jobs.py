"""Bodies of ``POST os-adoption-jobs`` (apply a plan) and ``POST os-adoption-jobs/{id}/action``."""

from typing import Any

from volmgr_api.schemas import compile_schema
from volmgr_common.conf.adoption import MAX_IN_FLIGHT_LIMIT

ACTIONS = ("pause", "resume", "cancel", "undo")

create: dict[str, Any] = {
    "type": "object",
    "properties": {
        "job": {
            "type": "object",
            "properties": {
                "plan_id": {"type": "string", "minLength": 1, "maxLength": 36},
                "strict": {"type": "boolean"},
                "max_in_flight": {"type": "integer", "minimum": 1, "maximum": MAX_IN_FLIGHT_LIMIT},
            },
            "required": ["plan_id"],
            "additionalProperties": False,
        }
    },
    "required": ["job"],
    "additionalProperties": False,
}

_NO_ARGUMENT = {"anyOf": [{"type": "null"}, {"type": "object", "maxProperties": 0}]}

action: dict[str, Any] = {
    "type": "object",
    "properties": {name: _NO_ARGUMENT for name in ACTIONS},
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
}

CREATE = compile_schema(create)
ACTION = compile_schema(action)
