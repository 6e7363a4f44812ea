"""Bodies of ``PUT os-services/disable``, ``disable-log-reason`` and ``enable`` (Cinder's).

``{"host": "host@backend", "binary": "volmgr-volume"}``; ``service`` is Cinder's
older name for ``binary``. ``cluster`` may be sent as null (volmgr has no clusters
beyond the backend itself). ``disable-log-reason`` adds ``disabled_reason``: 1 to
255 characters, not only spaces.
"""

import copy
from typing import Any

from volmgr_api.schemas import compile_schema
from volmgr_common.limits import STRING_WIDTH

NAME = {"type": "string", "minLength": 1, "maxLength": STRING_WIDTH}

enable_and_disable: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": NAME,
        "binary": NAME,
        "service": NAME,
        "cluster": {"type": "null"},
    },
    "required": ["host"],
    "anyOf": [{"required": ["binary"]}, {"required": ["service"]}],
    "additionalProperties": False,
}

disable_log_reason: dict[str, Any] = copy.deepcopy(enable_and_disable)
disable_log_reason["properties"]["disabled_reason"] = {**NAME, "pattern": r"\S"}
disable_log_reason["required"] = ["host", "disabled_reason"]

ENABLE_AND_DISABLE = compile_schema(enable_and_disable)
DISABLE_LOG_REASON = compile_schema(disable_log_reason)
