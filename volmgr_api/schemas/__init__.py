"""JSON schemas of the REST API's request bodies (jsonschema, draft 2020-12).

Unlike Cinder, which lets unknown keys through, every object here refuses
properties it does not know (``additionalProperties: false``), so that a misspelt
field is a 400 rather than silently ignored.
"""
