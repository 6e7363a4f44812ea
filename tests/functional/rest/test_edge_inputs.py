"""No 5xx from any input: a fixed list of hostile inputs for every operation, on every database.

The list (:mod:`tests.functional.rest.fuzzing`) puts each string edge case and each
invalid UTF-8 sequence into every path parameter, every query parameter, a query
parameter's name, body strings and keys, and every header the API reads; adds
hostile bodies (huge integers, 1e400, NaN, 10,000 nested lists, a lone-surrogate
escape, a body over the size limit) and odd methods and paths. The operations come
from the OpenAPI document the API serves, so new routes are covered. It runs on
SQLite, PostgreSQL (NUL refused in text) and MariaDB (utf8mb4, collations).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import databases
from tests.functional.rest import fuzzing
from tests.functional.rest.conftest import Rest, running_stack


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def any_rest(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rest]:
    """The services and the REST API on each supported database in turn."""
    tmp_path: Path = tmp_path_factory.mktemp(f"edge-{request.param}")
    if request.param == "sqlite":
        with running_stack(tmp_path) as stack:
            yield stack
        return
    with databases.throwaway(request.param) as url, running_stack(tmp_path, url) as stack:
        yield stack


def _served_document(rest: Rest) -> dict:
    response = fuzzing.call(rest.app, "GET", b"/openapi.yaml")
    assert response.status_int == 200, response.text
    return yaml.safe_load(response.body)


def test_hostile_inputs_get_no_5xx(any_rest: Rest) -> None:
    document = _served_document(any_rest)
    requests = [
        *fuzzing.edge_requests(document),
        *fuzzing.edge_header_requests(b"/v3/admin-project/volumes"),
        *fuzzing.edge_header_requests(b"/"),
    ]
    for method in fuzzing.ODD_METHODS:
        requests.append(
            (f"method {method!r}", {"method": method, "path": b"/v3/admin-project/volumes"})
        )
    for headers in fuzzing.ODD_BODY_HEADERS:
        manage = {"method": "POST", "path": b"/v3/admin-project/os-volume-manage"}
        body = b'{"volume": {"host": "h@b", "ref": {"source-name": "x"}}}'
        requests.append((f"body headers {headers!r}", {**manage, "headers": headers, "body": body}))
    for label, path in fuzzing.ODD_PATHS.items():
        requests.append((f"path {label}", {"method": "GET", "path": path}))
    failures = []
    for label, request in requests:
        try:
            fuzzing.check_answer(fuzzing.call(any_rest.app, **request), label, request["method"])
        except AssertionError as error:
            failures.append(str(error)[:300])
    assert len(requests) > 1000, "the list covers every operation"
    assert not failures, f"{len(failures)} of {len(requests)} requests failed:\n" + "\n".join(
        failures[:20]
    )


def test_text_that_no_database_stores_is_named_in_a_400(any_rest: Rest) -> None:
    """The answer says which input is wrong, on every database alike."""
    cases = {
        b"name=a%00b": "Query parameter name contains a NUL character",
        b"name=%ff": "Query parameter name is not valid UTF-8",
        b"name=%ed%a0%80": "Query parameter name is not valid UTF-8",
    }
    for query, message in cases.items():
        response = fuzzing.call(any_rest.app, "GET", b"/v3/admin-project/volumes", query=query)
        assert response.status_int == 400
        assert response.json["badRequest"]["message"].startswith(message), response.text
    response = fuzzing.call(
        any_rest.app, "GET", b"/v3/admin-project/volumes", headers={"X-Project-Id": "p\x00"}
    )
    assert response.json["badRequest"]["message"].startswith("Header X-Project-Id contains a NUL")
    body = b'{"volume": {"host": "h@b", "ref": {"source-name": "\\ud800"}}}'
    response = fuzzing.call(any_rest.app, "POST", b"/v3/admin-project/os-volume-manage", body=body)
    assert response.status_int == 400
    assert "lone surrogate" in response.json["badRequest"]["message"], response.text
