"""The bulk CLI's listing of safe objects survives a marker that vanished meanwhile."""

from typing import Any

import pytest

from volmgr_api.cli import bulk
from volmgr_api.cli.client import ApiError


class Backend:
    """Answers manageable listings like the API; ``rename`` happens after ``after`` calls."""

    def __init__(self, names: list[str], rename: tuple[str, str], after: int) -> None:
        self.names = names
        self.rename = rename
        self.after = after
        self.calls = 0

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls == self.after + 1:
            old, new = self.rename
            self.names = [new if n == old else n for n in self.names]
        ordered = sorted(self.names)
        marker = params["marker"]
        if marker is not None:
            if marker not in ordered:
                raise ApiError(400, f"Invalid input: marker '{marker}' not found")
            ordered = ordered[ordered.index(marker) + 1 :]
        page = ordered[: params["limit"]]
        entries = [
            {"reference": {"source-name": n}, "safe_to_manage": not n.startswith("volume-")}
            for n in page
        ]
        return {"manageable-volumes": entries}


def names(references: list[dict[str, Any]]) -> list[str]:
    return [r["source-name"] for r in references]


def test_a_vanished_marker_restarts_the_listing_without_repeats() -> None:
    backend = Backend(["a", "b", "c", "d", "e"], rename=("b", "volume-1"), after=1)
    found = names(list(bulk.safe_references(backend, "h@b", page_size=2)))  # type: ignore[arg-type]
    assert found == ["a", "b", "c", "d", "e"]


def test_other_errors_are_not_retried() -> None:
    class Broken(Backend):
        def get(self, path: str, **params: Any) -> dict[str, Any]:
            raise ApiError(404, "Host h@b not found")

    with pytest.raises(ApiError, match="not found"):
        list(bulk.safe_references(Broken([], ("x", "y"), 0), "h@b", 2))  # type: ignore[arg-type]


def test_a_marker_that_keeps_vanishing_is_reported() -> None:
    class Churning(Backend):
        def get(self, path: str, **params: Any) -> dict[str, Any]:
            if params["marker"] is not None:
                raise ApiError(400, f"Invalid input: marker '{params['marker']}' not found")
            return super().get(path, **params)

    backend = Churning(["a", "b", "c"], ("x", "y"), 0)
    with pytest.raises(ApiError, match="marker"):
        list(bulk.safe_references(backend, "h@b", 2))  # type: ignore[arg-type]
    assert backend.calls == bulk.MAX_LISTING_RESTARTS + 1  # one start per attempt
