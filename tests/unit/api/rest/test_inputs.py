"""The request layer's text checks: what a database cannot store is a 400 naming the input."""

import pytest
import webob

from volmgr_api.rest import faults, inputs


def _message(error: pytest.ExceptionInfo[faults.HTTPError]) -> str:
    assert error.value.code == 400
    return error.value.message


@pytest.mark.parametrize("text", ["plain", "\U0001f600 non-BMP", "\ufeff\uffff\u202e", "\xe9", ""])
def test_storable_text_passes_unchanged(text: str) -> None:
    assert inputs.check_text(text, "x") == text


@pytest.mark.parametrize(
    ("text", "what"),
    [("a\x00b", "a NUL character at position 1"), ("\ud800", "a lone surrogate code point")],
)
def test_unstorable_text_is_a_400(text: str, what: str) -> None:
    with pytest.raises(faults.HTTPError) as error:
        inputs.check_text(text, "Query parameter name")
    assert _message(error).startswith(f"Query parameter name contains {what}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/v3/p/volumes?name=%ff", "Query parameter name is not valid UTF-8."),
        ("/v3/p/volumes?name=%ed%a0%80", "Query parameter name is not valid UTF-8."),
        ("/v3/p/volumes?name=a%00", "Query parameter name contains a NUL character"),
        ("/v3/p/volumes?%ff=1", "A query parameter name is not valid UTF-8."),
        ("/v3/p/volumes/%ff", "The URL path is not valid UTF-8."),
        ("/v3/p/volumes/%00", "The URL path contains a NUL character"),
    ],
)
def test_url_that_is_not_text_is_a_400(url: str, message: str) -> None:
    with pytest.raises(faults.HTTPError) as error:
        inputs.check_url(webob.Request.blank(url).environ)
    assert _message(error).startswith(message)


def test_url_of_utf8_text_passes_and_reads_the_same_through_webob() -> None:
    request = webob.Request.blank("/v3/p/volumes?name=%C3%A9+%F0%9F%98%80&limit=1")
    inputs.check_url(request.environ)
    assert request.GET["name"] == "\xe9 \U0001f600"


def test_headers_are_read_as_utf8_text() -> None:
    request = webob.Request.blank("/")
    request.environ["HTTP_X_USER_ID"] = "\xe9".encode().decode("latin-1")  # as WSGI passes it
    request.environ["HTTP_X_PROJECT_ID"] = "p\x00"
    request.environ["HTTP_X_ROLES"] = "\xff"
    headers = inputs.TextHeaders(request.headers)
    assert headers["X-User-Id"] == "\xe9"
    assert headers.get("X-Auth-Token") is None
    with pytest.raises(faults.HTTPError) as error:
        headers.get("X-Project-Id")
    assert _message(error).startswith("Header X-Project-Id contains a NUL character")
    with pytest.raises(faults.HTTPError) as error:
        headers.get("X-Roles")
    assert _message(error) == "Header X-Roles is not valid UTF-8."


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The request has no body"),
        (b'{"a": 1e400}', "Malformed request body: number 1e400 is out of range"),
        (b'{"a": NaN}', "Malformed request body: NaN is not JSON"),
        (b'{"a": ' + b"9" * 30 + b"}", "Malformed request body: integer 99999"),
        (b'{"a": 9223372036854775808}', "Malformed request body: integer 9223372036854775808"),
        (b"[" * 10_000 + b"]" * 10_000, "Malformed request body: nested too deeply"),
        (b"[" * 33 + b"]" * 33, "Malformed request body: nested more than 32 levels deep."),
        (b'{"a": "\\ud800"}', "The value of body/a contains a lone surrogate"),
        (b'{"a": ["x", "\\u0000"]}', "The value of body/a/1 contains a NUL character"),
        (b'{"\\u0000": 1}', "A key of body contains a NUL character"),
        (b'{"a": "\xff"}', "Malformed request body: 'utf-8' codec can't decode byte 0xff"),
    ],
)
def test_json_body_limits(raw: bytes, message: str) -> None:
    with pytest.raises(faults.HTTPError) as error:
        inputs.parse_json(raw)
    assert _message(error).startswith(message)


def test_json_body_within_limits() -> None:
    nested: list = []
    for _ in range(30):  # with the outer object and the list: 32 levels
        nested = [nested]
    raw = b'{"a": [-9223372036854775808, 9223372036854775807, 1.5e300, "\\ud83d\\ude00"], "b": '
    document = inputs.parse_json(raw + repr(nested).encode() + b"}")
    assert document["a"] == [-(2**63), 2**63 - 1, 1.5e300, "\U0001f600"]
