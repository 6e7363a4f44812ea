"""What the REST fuzz tests share: string edge cases, raw requests, the "no 5xx" check.

Requests are built here byte by byte and sent to the WSGI application in-process,
so that inputs no HTTP client library would send (lone surrogates, invalid UTF-8,
NUL in a header) reach the API exactly as a hostile client could send them.
"""

import io
import json
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

import webob
from hypothesis import strategies as st

from volmgr_api.rest import faults

ADMIN = {"X-User-Id": "admin", "X-Project-Id": "admin-project"}
EDGE_STRINGS = {
    "nul": "a\x00b",
    "lone-surrogate": "\ud800",
    "surrogate-pair-halves": "\udfff\ud800",
    "non-bmp": "\U0001f600\U0010ffff",
    "bom": "\ufeff",
    "noncharacter": "\uffff",
    "right-to-left": "\u202e",
    "controls": "\x01\x1f\x7f",
    "latin-1": "\xe9\xff",
    "huge": "x" * 70_000,
    "huge-integer": str(10**400),
    "overflowing-float": "1e400",
    "empty": "",
}
"""Strings every input must survive: each is valid JSON text, not all are storable."""
RAW_TEXT = {
    "invalid-utf8": b"\xff",
    "overlong-nul": b"\xc0\x80",
    "encoded-surrogate": b"\xed\xa0\x80",
}
"""Bytes that are not UTF-8, for paths, query strings, headers and bodies."""
RAW_BODIES = {
    "huge-integer": b'{"volume": {"host": "h@b", "ref": {"source-id": ' + b"9" * 5000 + b"}}}",
    "infinite-float": b'{"volume": {"host": "h@b", "ref": {"size": 1e400}}}',
    "nan": b'{"volume": {"host": "h@b", "ref": {"size": NaN}}}',
    "deep-10000": b"[" * 10_000 + b"]" * 10_000,
    "deep-900": b'{"os-unmanage": ' + b"[" * 900 + b"]" * 900 + b"}",
    "escaped-surrogate": b'{"volume": {"host": "h@b", "ref": {"source-name": "\\ud800"}}}',
    "escaped-nul": b'{"volume": {"host": "h@b", "ref": {"source-name": "a\\u0000"}}}',
    "bom": b'\xef\xbb\xbf{"volume": {}}',
    "over-size": b'{"volume": {"name": "' + b"x" * 200_000 + b'"}}',
    "empty": b"",
    "not-json": b"{'volume': }",
}
HEADERS = (
    "X-User-Id",
    "X-Project-Id",
    "X-Auth-Token",
    "X-Roles",
    "OpenStack-API-Version",
    "X-OpenStack-Request-Id",
    "Content-Type",
)
"""The headers the API reads as values."""

edge_strings = st.one_of(
    st.sampled_from(sorted(EDGE_STRINGS.values())),
    st.text(st.characters(codec=None, categories=["Cs", "Cc", "Co", "So", "Lo"]), max_size=8),
)


def wsgi_text(raw: bytes) -> str:
    """Bytes as WSGI passes them in the environ: one character per byte."""
    return raw.decode("latin-1")


def utf8(text: str) -> bytes:
    """``text`` encoded as a hostile client would: lone surrogates included."""
    return text.encode("utf-8", "surrogatepass")


def quote(text: str) -> str:
    return urllib.parse.quote(utf8(text), safe="")


def query_string(query: Mapping[str, Any]) -> bytes:
    """``query`` percent-encoded; a list value repeats its parameter."""
    pairs = []
    for name, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append(f"{quote(str(name))}={quote(_scalar(item))}")
    return "&".join(pairs).encode()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


def call(
    app: Any,
    method: str,
    path: bytes,
    query: bytes = b"",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    content_type: str | None = "application/json",
) -> webob.Response:
    """One request, its path and query given as raw bytes, headers as WSGI strings."""
    request = webob.Request.blank("/")
    environ = request.environ
    environ["REQUEST_METHOD"] = method
    environ["PATH_INFO"] = wsgi_text(path)
    environ["QUERY_STRING"] = wsgi_text(query)
    for name, value in {**ADMIN, **(headers or {})}.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    if body is not None:
        environ["wsgi.input"] = io.BytesIO(body)
        environ.setdefault("CONTENT_LENGTH", str(len(body)))
        if content_type is not None:
            environ.setdefault("CONTENT_TYPE", content_type)
    return request.get_response(app)


def check_answer(response: webob.Response, what: str, method: str = "GET") -> None:
    """No 5xx; an error answer has Cinder's fault body, named and coded as its status
    (an answer to HEAD has no body)."""
    code = response.status_int
    assert code < 500, f"{what}: {response.status} {response.text[:500]}"
    if code < 400 or method == "HEAD":
        return
    [(kind, fault)] = json.loads(response.body).items()
    [expected_kind] = faults.fault_body(code, "")
    assert (kind, fault["code"]) == (expected_kind, code), f"{what}: {response.text[:500]}"
    assert isinstance(fault["message"], str) and fault["message"], f"{what}: {response.text}"


def string_slots(document: Any, trail: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where a string can go in a JSON document: every string leaf and every object."""
    if isinstance(document, str):
        yield trail
    elif isinstance(document, dict):
        yield (*trail, None)
        for key, value in document.items():
            yield from string_slots(value, (*trail, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from string_slots(value, (*trail, index))


def put_string(document: Any, slot: tuple[Any, ...], text: str) -> Any:
    """``document`` with ``text`` at ``slot`` (a new key ``text`` when the slot ends in
    None, else replacing the string there)."""
    if not slot:
        return text
    head, rest = slot[0], slot[1:]
    if head is None:
        return {**document, text[:40] or "key": text}
    if isinstance(document, dict):
        return {**document, head: put_string(document[head], rest, text)}
    copy = list(document)
    copy[head] = put_string(copy[head], rest, text)
    return copy


def _parameters(document: Mapping[str, Any], path: str, operation: Mapping[str, Any]) -> list:
    shared = document["paths"][path].get("parameters", [])
    found = []
    for parameter in [*shared, *operation.get("parameters", [])]:
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].split("/")[-1]]
        found.append(parameter)
    return found


def operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, list[str], list[str]]]:
    """(method, path template, path parameter names, query parameter names) of each
    operation of an OpenAPI document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = _parameters(document, path, operation)
            names = {
                where: [p["name"] for p in parameters if p["in"] == where]
                for where in ("path", "query")
            }
            yield method.upper(), path, names["path"], names["query"]


def _fill(template: str, names: list[str]) -> str:
    """The template with each parameter of ``names`` set to a plausible value."""
    plausible = {"project_id": "admin-project"}
    for name in names:
        text = plausible.get(name, "00000000-0000-0000-0000-000000000000")
        template = template.replace(f"{{{name}}}", text)
    return template


def edge_requests(document: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """A fixed list of hostile requests for every operation of ``document``:
    (label, keyword arguments of :func:`call`)."""
    texts = {**{k: utf8(v) for k, v in EDGE_STRINGS.items()}, **RAW_TEXT}
    for method, template, path_names, query_names in operations(document):
        where = f"{method} {template}"
        base = _fill(template, path_names).encode()
        for label, raw in texts.items():
            encoded = urllib.parse.quote(raw, safe="")
            for name in path_names:
                path = template
                for other in path_names:
                    path = path.replace(
                        f"{{{other}}}", encoded if other == name else f"{{{other}}}"
                    )
                path = _fill(path, [n for n in path_names if n != name])
                yield f"{where} path {name}={label}", {"method": method, "path": path.encode()}
            for name in [*query_names, "unknown"]:
                yield (
                    f"{where} query {name}={label}",
                    {
                        "method": method,
                        "path": base,
                        "query": f"{name}={encoded}".encode(),
                    },
                )
            yield (
                f"{where} query name {label}",
                {
                    "method": method,
                    "path": base,
                    "query": f"{encoded}=1".encode(),
                },
            )
            if method in ("POST", "PUT"):
                yield from _edge_bodies(where, method, base, label, raw)
        for label, body in RAW_BODIES.items():
            if method in ("POST", "PUT"):
                yield f"{where} body {label}", {"method": method, "path": base, "body": body}


def _edge_bodies(
    where: str, method: str, path: bytes, label: str, raw: bytes
) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        as_json = json.dumps(raw.decode("utf-8", "surrogatepass")).encode()
    except UnicodeDecodeError:  # not text: only the raw bytes inside a JSON string
        as_json = None
    documents = {
        "string": b'{"volume": {"host": "h@b", "ref": {"source-name": %s}}}',
        "key": b'{"volume": {"host": "h@b", "ref": {%s: 1}}}',
        "action": b"{%s: null}",
    }
    for kind, shape in documents.items() if as_json is not None else ():
        body = shape % as_json
        yield f"{where} body {kind} {label}", {"method": method, "path": path, "body": body}
    raw_body = b'{"volume": {"host": "h@b", "ref": {"source-name": "%s"}}}' % raw
    yield f"{where} body raw {label}", {"method": method, "path": path, "body": raw_body}


def edge_header_requests(path: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every header the API reads, set to every edge string and every invalid byte."""
    texts = {**{k: utf8(v) for k, v in EDGE_STRINGS.items()}, **RAW_TEXT}
    for name in HEADERS:
        for label, raw in texts.items():
            headers = {name: wsgi_text(raw)}
            if name == "X-Auth-Token":
                headers.update({"X-User-Id": "", "X-Project-Id": ""})
            yield (
                f"GET {path!r} header {name}={label}",
                {
                    "method": "GET",
                    "path": path,
                    "headers": headers,
                },
            )


ODD_METHODS = ("PATCH", "PUT", "HEAD", "OPTIONS", "TRACE", "CONNECT", "FOO", "GET\x00")
ODD_BODY_HEADERS = [
    {"Content-Length": length}
    for length in ("abc", "-1", "", "1e3", " 5", "99999999999999999999999", "0")
] + [
    {"Content-Type": kind}
    for kind in ("text/plain", "application/json; charset=\x00", "\xff", "a/b/c", ";;", "")
]
"""Lying or odd Content-Length and Content-Type headers of a JSON body."""
ODD_PATHS = {
    "invalid-utf8": b"/v3/\xff/volumes",
    "nul": b"/v3/\x00/volumes",
    "dot-segments": b"/v3/../v3/admin-project/volumes",
    "long": b"/v3/" + b"a" * 100_000 + b"/volumes",
    "empty-segments": b"//v3//admin-project//volumes",
}
