"""Building blocks of the body schemas, after Cinder's ``parameter_types``."""

from typing import Any

from volmgr_api.validation import (
    MAX_METADATA_KEY,
    MAX_METADATA_VALUE,
    MAX_REFERENCE_NAME,
    NAMING_KEYS,
)

# Cinder accepts these spellings of a boolean in request bodies.
BOOLEAN_VALUES = [
    True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", "y", "t",
    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no", "n", "f",
]  # fmt: skip
TRUE_VALUES = frozenset(v for v in BOOLEAN_VALUES[: BOOLEAN_VALUES.index(False)])

boolean: dict[str, Any] = {"type": ["boolean", "string"], "enum": BOOLEAN_VALUES}
nullable_boolean: dict[str, Any] = {"anyOf": [boolean, {"type": "null"}]}
"""A boolean that a client may send as null for "not given" (false)."""


def nullable_string(max_length: int, min_length: int = 0) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "minLength": min_length, "maxLength": max_length},
            {"type": "null"},
        ]
    }


metadata: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "propertyNames": {"minLength": 1, "maxLength": MAX_METADATA_KEY},
            "additionalProperties": {"type": "string", "maxLength": MAX_METADATA_VALUE},
        },
        {"type": "null"},
    ]
}

reference: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 32,
    "propertyNames": {"minLength": 1, "maxLength": MAX_METADATA_KEY},
    "properties": {
        key: {"type": "string", "minLength": 1, "maxLength": MAX_REFERENCE_NAME}
        for key in NAMING_KEYS
    },
}
"""A backend reference; its naming keys (``source-name``, ``source-id``) are
non-empty strings, as ``validation.check_reference`` requires of an RPC caller."""


def to_bool(value: Any) -> bool:
    """A value that passed ``boolean`` as a Python bool."""
    return value is True or (value is not False and value in TRUE_VALUES)
