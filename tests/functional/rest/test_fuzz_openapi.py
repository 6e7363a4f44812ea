"""No 5xx from any input: every operation of the OpenAPI document, fuzzed on PostgreSQL.

schemathesis reads the document the running API serves (``GET /openapi.yaml``), so
a route added to it is fuzzed too, and generates requests for every operation that
fit the document and requests that do not (positive and negative modes). Hypothesis
then may put a string edge case (NUL, lone surrogates, non-BMP characters, huge
text, …) into one path parameter, query parameter, body string or identity/version
header. Every answer must be below 500, and every error must have Cinder's fault
body.

The stack runs on a throwaway PostgreSQL database, the server strictest about text
(it refuses NUL); a PostgreSQL that is down fails the test with how to start it.
The run is deterministic (derandomized, no example database) and bounded:
:data:`MAX_EXAMPLES` per operation keep it near a minute on two busy cores.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core import NOT_SET
from schemathesis.generation import GenerationMode

from tests import databases
from tests.functional.rest import fuzzing
from tests.functional.rest.conftest import Rest, running_stack

MAX_EXAMPLES = 60
VERSIONS = (None, "volume 3.0", "volume 3.8", "volume 3.17", "volume latest")
SLOTS = ("none", "path", "query", "body", "header")


@pytest.fixture(scope="module")
def pg_rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rest]:
    """The services and the REST API on a throwaway PostgreSQL database."""
    with (
        databases.throwaway("postgresql") as url,
        running_stack(tmp_path_factory.mktemp("fuzz"), url) as stack,
    ):
        yield stack


def served_operations(rest: Rest) -> list[Any]:
    """Every operation of the OpenAPI document as the API serves it."""
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", rest.app)
    schema.config.generation.update(deterministic=True, allow_x00=True)
    return [result.ok() for result in schema.get_all_operations()]


def _poisoned(case: Any, data: st.DataObject) -> dict[str, Any]:
    """The generated request, with one edge-case string drawn into one of its inputs."""
    path_parameters = {k: str(v) for k, v in (case.path_parameters or {}).items()}
    query = dict(case.query or {})
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    version = data.draw(st.sampled_from(VERSIONS), label="version")
    if version:
        headers["OpenStack-API-Version"] = version
    body = None if case.body is NOT_SET else case.body
    slot = data.draw(st.sampled_from(SLOTS), label="slot")
    edge = data.draw(fuzzing.edge_strings, label="edge")
    if slot == "path" and path_parameters:
        path_parameters[data.draw(st.sampled_from(sorted(path_parameters)))] = edge
    elif slot == "query":
        query[data.draw(st.sampled_from(sorted(query) or ["name"]))] = edge
    elif slot == "body" and body is not None:
        places = list(fuzzing.string_slots(body))
        if places:
            body = fuzzing.put_string(body, data.draw(st.sampled_from(places)), edge)
    elif slot == "header":
        line = edge.replace("\r", " ").replace("\n", " ")
        headers[data.draw(st.sampled_from(fuzzing.HEADERS))] = fuzzing.wsgi_text(fuzzing.utf8(line))
    path = case.operation.path
    for name, value in path_parameters.items():
        path = path.replace(f"{{{name}}}", fuzzing.quote(value))
    return {
        "method": case.method.upper(),
        "path": path.encode(),
        "query": fuzzing.query_string(query),
        "headers": headers,
        "body": _encoded(body),
        "content_type": case.media_type or "application/json",
    }


def _encoded(body: Any) -> bytes | None:
    """The body as sent: bytes as generated (a negative case), anything else as JSON."""
    if body is None or isinstance(body, bytes):
        return body
    return json.dumps(body, default=str).encode()


def _fuzz(rest: Rest, operation: Any) -> int:
    """Fuzz one operation; returns how many requests were sent."""
    sent = 0
    cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in GenerationMode))

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        nonlocal sent
        sent += 1
        request = _poisoned(case, data)
        response = fuzzing.call(rest.app, **request)
        what = f"{request['method']} {request['path']!r}?{request['query']!r}"
        fuzzing.check_answer(response, what, request["method"])

    fuzz()
    return sent


def test_no_input_gives_5xx(pg_rest: Rest, request: pytest.FixtureRequest) -> None:
    """Every operation: MAX_EXAMPLES generated requests, none answered with a 5xx."""
    operations = served_operations(pg_rest)
    assert len(operations) >= 10, "the served document lists the API's operations"
    sent = {f"{op.method.upper()} {op.path}": _fuzz(pg_rest, op) for op in operations}
    request.node.user_properties.append(("requests_sent", sum(sent.values())))
    starved = [label for label, count in sent.items() if count < MAX_EXAMPLES // 2]
    assert not starved, f"too few requests generated for {starved}: {sent}"
