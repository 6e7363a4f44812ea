"""The OpenAPI document served at ``/openapi.yaml``: openapi.yaml, completed.

openapi.yaml describes each project route once, under ``/v3/{project_id}``; the
document adds the same path without the project id (announced by microversion 3.67,
served at every version, see ``routes.py``), so that it describes exactly the route
table.
"""

import copy
import functools
import importlib.resources
from typing import Any

import yaml

from volmgr_api.rest import routes

SOURCE = "openapi.yaml"
PROJECT_PARAMETER = {"$ref": "#/components/parameters/ProjectId"}
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@functools.cache
def document() -> dict[str, Any]:
    """The complete document (read once; do not change what it returns)."""
    text = importlib.resources.files("volmgr_api.rest").joinpath(SOURCE).read_text()
    source = yaml.safe_load(text)
    paths: dict[str, Any] = {}
    for path, item in source["paths"].items():
        paths[path] = item
        if path.startswith(routes.PROJECT + "/"):
            paths[routes.PROJECTLESS + path[len(routes.PROJECT) :]] = _without_project(item)
    return {**source, "paths": paths}


@functools.cache
def as_yaml() -> bytes:
    return yaml.safe_dump(document(), sort_keys=False, allow_unicode=True).encode()


def _without_project(item: dict[str, Any]) -> dict[str, Any]:
    """A project path item for the URL without the project id: the caller's project."""
    item = copy.deepcopy(item)
    parameters = [p for p in item.get("parameters", []) if p != PROJECT_PARAMETER]
    if parameters:
        item["parameters"] = parameters
    else:
        item.pop("parameters", None)
    note = "(In the caller's project) "
    for method in HTTP_METHODS:
        if method in item:
            item[method]["summary"] = note + item[method].get("summary", "")
    return item
