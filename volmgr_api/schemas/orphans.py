"""Body of ``POST os-orphans/action``: exactly one action, ``os-readopt``.

``{"os-readopt": {"host": "host@backend", "name": "volume-<uuid>", "project_id": ...,
"volume_type": ...}}``: ``project_id`` only when the backend records none (or to
confirm the one it records), ``volume_type`` by name or id (the default type when
absent).
"""

from typing import Any

from volmgr_api.schemas import compile_schema
from volmgr_common.limits import STRING_WIDTH

NAME = {"type": "string", "minLength": 1, "maxLength": STRING_WIDTH}

readopt: dict[str, Any] = {
    "type": "object",
    "properties": {
        "os-readopt": {
            "type": "object",
            "properties": {
                "host": NAME,
                "name": NAME,
                "project_id": NAME,
                "volume_type": NAME,
            },
            "required": ["host", "name"],
            "additionalProperties": False,
        }
    },
    "required": ["os-readopt"],
    "additionalProperties": False,
}

READOPT = compile_schema(readopt)
