"""The OpenAPI document describes exactly the routes the router serves."""

import re
from typing import Any

from openapi_spec_validator import validate

from volmgr_api.rest import openapi
from volmgr_api.rest.routes import ROUTES
from volmgr_api.validation import MAX_METADATA_VALUE
from volmgr_common.conf import api as api_opts

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def document() -> dict[str, Any]:
    return openapi.document()


def test_document_is_valid_openapi() -> None:
    validate(document())


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    served = {(route.template, m.lower()) for route in ROUTES for m in route.methods}
    documented = {
        (path, method)
        for path, item in document()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert served - documented == set(), "routes missing from openapi.yaml"
    assert documented - served == set(), "openapi.yaml documents routes that do not exist"


def test_path_parameters_are_declared() -> None:
    for path, item in document()["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        declared = set()
        for parameter in item.get("parameters", []):
            if "$ref" in parameter:
                ref = parameter["$ref"].rsplit("/", 1)[-1]
                parameter = document()["components"]["parameters"][ref]
            if parameter["in"] == "path":
                declared.add(parameter["name"])
        assert declared == names, path


def test_the_documented_manage_limits_are_the_ones_applied() -> None:
    """The document states the defaults of the limits the API takes from one place."""
    volume = document()["components"]["schemas"]["ManageRequest"]["properties"]["volume"]
    fields = volume["properties"]
    defaults = {opt.name: opt.default for opt in api_opts.OPTS}
    assert fields["name"]["maxLength"] == defaults["max_name_length"]
    assert fields["description"]["maxLength"] == defaults["max_description_length"]
    assert fields["metadata"]["additionalProperties"]["maxLength"] == MAX_METADATA_VALUE
