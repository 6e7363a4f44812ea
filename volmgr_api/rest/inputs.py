"""Every text input of a REST request, decoded once and checked before any handler runs.

A request's path, query string, the headers the API reads and its JSON body reach
handlers only as text that every supported database can store: valid UTF-8, with
no NUL character (PostgreSQL refuses it in text) and no lone surrogate (a JSON
``"\\ud800"`` escape, which no UTF-8 encoder accepts). Anything else is a 400 that
says which part of the request is wrong, never a database error.

A JSON body is parsed with bounded nesting (:data:`MAX_JSON_DEPTH`), integers within
64 bits and finite floats only (``1e400`` would be infinity, which JSON cannot
write back). Its size is bounded before parsing (``[api] max_request_body_size``,
413).
"""

import json
import math
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from volmgr_api.rest import faults
from volmgr_common import storable

MAX_JSON_DEPTH = 32
"""Deepest nesting of lists and objects a body may have (Cinder's bodies have 4)."""
INTEGER_BOUND = 2**63
"""A JSON integer must lie in [-2**63, 2**63): what a database's BIGINT holds."""


def check_text(text: str, where: str) -> str:
    """``text`` unchanged if a database can store it; a 400 naming ``where`` otherwise."""
    found = storable.problem(text)
    if found is None:
        return text
    raise faults.bad_request(f"{where} contains {found}.")


def _utf8(wsgi_text: str, where: str) -> str:
    """The text of a WSGI string (each character one byte, as PEP 3333 passes them)."""
    try:
        return wsgi_text.encode("latin-1").decode("utf-8")
    except UnicodeError as error:
        raise faults.bad_request(f"{where} is not valid UTF-8.") from error


def check_url(environ: Mapping[str, Any]) -> None:
    """400 unless the path and every query parameter's name and value are storable text.

    webob decodes them the same way later (``request.path_info``, ``request.GET``),
    so after this check handlers read them as they always have.
    """
    check_text(_utf8(environ.get("PATH_INFO", ""), "The URL path"), "The URL path")
    query = environ.get("QUERY_STRING", "")
    if not query:
        return
    for field in query.encode("latin-1", "replace").split(b"&"):
        name, _sep, value = field.partition(b"=")
        key = _query_text(name, "A query parameter name")
        _query_text(value, f"Query parameter {key[:40]}")


def _query_text(raw: bytes, where: str) -> str:
    try:
        text = urllib.parse.unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as error:
        raise faults.bad_request(f"{where} is not valid UTF-8.") from error
    return check_text(text, where)


def loggable_target(environ: Mapping[str, Any]) -> str:
    """Path and query for the access log, percent-escaped: whatever bytes the client sent."""
    path = urllib.parse.quote(environ.get("PATH_INFO", "").encode("latin-1", "replace"))
    query = environ.get("QUERY_STRING", "")
    if not query:
        return path
    return f"{path}?{urllib.parse.quote(query.encode('latin-1', 'replace'), safe='=&%+;')}"


class TextHeaders(Mapping[str, str]):
    """Request headers read as UTF-8 text: a header that is not storable text is a 400.

    Header values travel as bytes (WSGI passes them one character per byte); the
    identity and version headers become user ids, project ids and versions, so they
    are decoded and checked here, when read.
    """

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = headers

    def __getitem__(self, name: str) -> str:
        where = f"Header {name}"
        return check_text(_utf8(self._headers[name], where), where)

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:40]} is out of range")
    return number


def _bounded_int(text: str) -> int:
    if len(text) > 20:  # 2**63 has 19 digits; avoids converting a huge string at all
        raise ValueError(f"integer {text[:40]}... is out of range")
    number = int(text)
    if not -INTEGER_BOUND <= number < INTEGER_BOUND:
        raise ValueError(f"integer {text} is out of range")
    return number


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """The JSON document of a request body; a 400 saying what is wrong otherwise."""
    if not raw:
        raise faults.bad_request("The request has no body; a JSON object is expected.")
    try:
        document = json.loads(
            raw.decode("utf-8"),
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        message = str(error) if not isinstance(error, RecursionError) else "nested too deeply"
        raise faults.bad_request(f"Malformed request body: {message[:200]}") from error
    _check_document(document)
    return document


def _check_document(document: Any) -> None:
    """Bounded nesting and storable strings (object keys too), without recursion."""
    pending: list[tuple[Any, int, str]] = [(document, 0, "body")]
    while pending:
        value, depth, path = pending.pop()
        if isinstance(value, str):
            check_text(value, f"The value of {path}")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise faults.bad_request(
                f"Malformed request body: nested more than {MAX_JSON_DEPTH} levels deep."
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                check_text(key, f"A key of {path}")
            pending.append((item, depth + 1, f"{path}/{str(key)[:40]}"))
