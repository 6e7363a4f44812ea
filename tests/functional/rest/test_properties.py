"""Property-based: whatever the body or query, the manage and listing endpoints never 5xx."""

import json
import urllib.parse
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functional.rest.conftest import Rest, fresh_admin

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = [
    "host", "cluster", "ref", "name", "description", "volume_type",
    "availability_zone", "metadata", "bootable", "size",
]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
volumes = st.fixed_dictionaries(
    {}, optional={field: json_values for field in FIELDS}
) | st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=1000), max_size=5)
bodies = st.one_of(
    json_values,
    st.builds(lambda v: {"volume": v}, volumes),
    st.builds(lambda v, r: {"volume": {**v, "ref": r}}, volumes, json_values),
)
PARAMS = ["host", "cluster", "marker", "limit", "offset", "sort", "sort_key", "sort_dir", "x"]
param_values = st.one_of(
    st.text(max_size=300),
    st.integers().map(str),
    st.sampled_from(["reference", "size", "asc", "desc", "size:asc", "reference:desc", ""]),
)
queries = st.dictionaries(st.sampled_from(PARAMS), param_values, max_size=5)
versions = st.sampled_from([None, "3.0", "3.8", "3.16", "3.17", "3.48", "3.67", "3.71", "latest"])


def check(response: Any) -> None:
    assert response.status_int < 500, response.text
    if response.status_int >= 400:
        [(_kind, fault)] = response.json.items()
        assert fault["code"] == response.status_int
        assert fault["message"]


@SETTINGS
@given(body=bodies, version=versions)
def test_manage_bodies_never_5xx(rest: Rest, body: Any, version: str | None) -> None:
    response = rest.call("POST", "os-volume-manage", body, headers=fresh_admin(), version=version)
    check(response)


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_manage_raw_bytes_never_5xx(rest: Rest, raw: bytes) -> None:
    check(rest.call("POST", "os-volume-manage", raw=raw, headers=fresh_admin()))


@SETTINGS
@given(query=queries, version=versions, detailed=st.booleans(), real_host=st.booleans())
def test_manageable_listing_never_5xx(
    rest: Rest, query: dict[str, str], version: str | None, detailed: bool, real_host: bool
) -> None:
    if real_host:
        query["host"] = rest.backend
    path = "manageable_volumes" if version not in (None, "3.0") else "os-volume-manage"
    path = f"{path}/detail" if detailed else path
    response = rest.call(
        "GET", f"{path}?{urllib.parse.urlencode(query)}", headers=fresh_admin(), version=version
    )
    check(response)


@SETTINGS
@given(
    query=st.dictionaries(
        st.sampled_from(["limit", "marker", "name", "status", "bootable", "sort", "all_tenants",
                         "metadata", "offset", "project_id"]),
        param_values,
        max_size=4,
    ),
    detailed=st.booleans(),
)  # fmt: skip
def test_volume_listing_never_5xx(rest: Rest, query: dict[str, str], detailed: bool) -> None:
    path = "volumes/detail" if detailed else "volumes"
    check(rest.call("GET", f"{path}?{urllib.parse.urlencode(query)}", headers=fresh_admin()))


@SETTINGS
@given(body=json_values, volume_id=st.text(min_size=1, max_size=60))
def test_actions_never_5xx(rest: Rest, body: Any, volume_id: str) -> None:
    path = f"volumes/{urllib.parse.quote(volume_id, safe='')}/action"
    check(rest.call("POST", path, raw=json.dumps(body).encode(), headers=fresh_admin()))
