"""Body of a manage request: ``{"volume": {"host" | "cluster", "ref", ...}}``.

``cluster`` is accepted from microversion 3.16 on. Optional fields may be null,
as python-cinderclient sends every field it knows.
"""

from typing import Any

from volmgr_api.rest.microversion import APIVersion
from volmgr_api.schemas import parameter_types as types

HOST = types.nullable_string(1024, 1)

_VOLUME_PROPERTIES: dict[str, Any] = {
    "host": HOST,
    "ref": types.reference,
    "name": types.nullable_string(255),
    "description": types.nullable_string(255),
    "volume_type": types.nullable_string(255, 1),
    "availability_zone": types.nullable_string(255, 1),
    "metadata": types.metadata,
    "bootable": types.boolean,
}


def create(version: APIVersion) -> dict[str, Any]:
    """The manage body schema at ``version``."""
    properties = dict(_VOLUME_PROPERTIES)
    if version.matches("3.16"):
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
