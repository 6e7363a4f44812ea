"""Query parameters as Cinder reads them: filters, pagination, sorting, booleans.

A handler names the parameters it understands; any other is refused with 400
(Cinder's "Invalid filters ... are found in query options"), and so is a parameter
given twice, so that a typo never silently widens a listing. A listing with
Cinder's generalized filters takes every name instead (``allowed=None``) and hands
the rest of its query (:meth:`Params.filters`) to :mod:`volmgr_api.rest.filters`.
"""

import uuid
from collections.abc import Iterable

import webob.multidict
from oslo_utils import strutils

from volmgr_api.rest import faults

DB_MAX_INT = 0x7FFFFFFF
MAX_PARAM_LENGTH = 255
PAGING = ("marker", "limit", "offset", "sort", "sort_key", "sort_dir")
"""The parameters of paging and sorting, which are never filters."""


class Params:
    """The query parameters of one request, checked against what the handler accepts."""

    def __init__(self, multidict: webob.multidict.MultiDict, allowed: Iterable[str] | None) -> None:
        known = None if allowed is None else set(allowed)
        unknown = sorted({key for key in multidict if known is not None and key not in known})
        if unknown:
            raise faults.bad_request(
                f"Invalid filters {', '.join(_clip(k) for k in unknown)} are found in "
                "query options."
            )
        self._values: dict[str, str] = {}
        for key in multidict:
            values = multidict.getall(key)
            if len(values) > 1:
                raise faults.bad_request(f"Parameter {key} is given more than once.")
            if len(values[0]) > MAX_PARAM_LENGTH:
                raise faults.bad_request(
                    f"Parameter {key} is longer than {MAX_PARAM_LENGTH} characters."
                )
            self._values[key] = values[0]

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._values.get(key, default)

    def filters(self, besides: Iterable[str] = ()) -> dict[str, str]:
        """Every parameter but those of paging and sorting and ``besides``."""
        taken = set(PAGING) | set(besides)
        return {key: value for key, value in self._values.items() if key not in taken}

    def boolean(self, key: str, default: bool = False) -> bool:
        if key not in self._values:
            return default
        try:
            return strutils.bool_from_string(self._values[key], strict=True)
        except ValueError as error:
            raise faults.bad_request(f"Parameter {key} must be a boolean: {error}") from error

    def limit(self, max_limit: int) -> int:
        """``limit`` (default and at most ``max_limit``); 400 if not a non-negative integer."""
        if "limit" not in self._values:
            return max_limit
        try:
            limit = int(self._values["limit"])
        except ValueError as error:
            raise faults.bad_request("limit param must be an integer") from error
        if limit < 0:
            raise faults.bad_request("limit param must be positive")
        return min(limit, max_limit)

    def offset(self) -> int:
        text = self._values.get("offset", "0")
        try:
            offset = int(text)
        except ValueError as error:
            raise faults.bad_request("offset must be an integer.") from error
        if not 0 <= offset <= DB_MAX_INT:
            raise faults.bad_request(f"offset must be between 0 and {DB_MAX_INT}.")
        return offset

    def sort(self, default_key: str, default_dir: str = "desc") -> list[tuple[str, str]]:
        """``sort=key[:dir],...`` or the older ``sort_key``/``sort_dir`` as (key, dir) pairs."""
        if "sort" in self._values and ("sort_key" in self._values or "sort_dir" in self._values):
            raise faults.bad_request(
                "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be "
                "used with the 'sort' parameter."
            )
        if "sort" in self._values:
            pairs = []
            for item in self._values["sort"].strip().split(","):
                key, _sep, direction = item.partition(":")
                pairs.append((key.strip(), direction.strip() or default_dir))
            return pairs
        key = self._values.get("sort_key", default_key).strip()
        return [(key, self._values.get("sort_dir", default_dir).strip())]


def check_sort(
    pairs: list[tuple[str, str]], keys: Iterable[str], max_keys: int = 1
) -> list[tuple[str, str]]:
    """400 unless every key is one of ``keys``, every dir asc/desc, and few enough keys."""
    keys = tuple(keys)
    bad_keys = [k for k, _d in pairs if k not in keys]
    if bad_keys:
        raise faults.bad_request(
            f"Invalid sort keys passed: {', '.join(_clip(k) for k in bad_keys)}; "
            f"valid keys are {', '.join(keys)}."
        )
    bad_dirs = [d for _k, d in pairs if d not in ("asc", "desc")]
    if bad_dirs:
        raise faults.bad_request(
            f"Invalid sort dirs passed: {', '.join(_clip(d) for d in bad_dirs)}"
        )
    if len(pairs) > max_keys:
        raise faults.bad_request(f"At most {max_keys} sort key(s) may be given.")
    return pairs


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError, TypeError):
        return False


def _clip(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:40]}..."
