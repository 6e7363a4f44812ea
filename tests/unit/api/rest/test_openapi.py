"""The OpenAPI document describes exactly the routes the router serves."""

import functools
import importlib.resources
import re
from typing import Any

import yaml
from openapi_spec_validator import validate

from volmgr_api.rest.routes import ROUTES

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@functools.cache
def document() -> dict[str, Any]:
    text = importlib.resources.files("volmgr_api.rest").joinpath("openapi.yaml").read_text()
    return yaml.safe_load(text)


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
