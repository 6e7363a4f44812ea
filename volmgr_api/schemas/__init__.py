"""JSON schemas of the REST API's request bodies (jsonschema, draft 2020-12).

Unlike Cinder, which lets unknown keys through, every object here refuses
properties it does not know (``additionalProperties: false``), so that a misspelt
field is a 400 rather than silently ignored.

Each schema is compiled once into a validator (:func:`compile_schema`) that every
request reuses: at import for fixed schemas, once per microversion range and
configuration for the manage body (its limits come from ``[api]`` options).
"""

from typing import Any

import jsonschema
from jsonschema.protocols import Validator


def compile_schema(schema: dict[str, Any]) -> Validator:
    """The validator of ``schema``, which is checked here against draft 2020-12."""
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)
