"""Body of ``POST os-audit``: ``{"audit": {"host": "host@backend"}}``."""

from typing import Any

from volmgr_api.schemas import compile_schema
from volmgr_common.limits import STRING_WIDTH

audit: dict[str, Any] = {
    "type": "object",
    "properties": {
        "audit": {
            "type": "object",
            "properties": {"host": {"type": "string", "minLength": 1, "maxLength": STRING_WIDTH}},
            "required": ["host"],
            "additionalProperties": False,
        }
    },
    "required": ["audit"],
    "additionalProperties": False,
}

AUDIT = compile_schema(audit)
