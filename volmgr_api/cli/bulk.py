"""``volmgr manage --all-safe HOST``: manage every object a backend lists as safe to manage.

First the backend's manageable listing is read page by page (nothing changes while
it is read); then the safe objects are managed a page at a time, with a progress
bar, waiting for each page to finish before the next one.

Resume: re-listing, no state file. An object that was managed is no longer listed
as safe to manage, and one whose manage is still in progress is refused by the API
(409, already being managed) and counted as skipped, so after an interruption
(Ctrl-C, a lost connection) running the same command again continues where it
stopped and never manages an object twice.
"""

import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

from volmgr_api.cli.client import ApiError, Client
from volmgr_api.cli.output import Progress

SOURCE_NAME = "source-name"
POLL_SECONDS = 0.2


@dataclasses.dataclass
class Summary:
    """What a bulk run did, reference by reference."""

    found: int = 0
    available: list[str] = dataclasses.field(default_factory=list)
    pending: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    interrupted: bool = False

    def lines(self) -> list[str]:
        lines = [
            f"safe to manage: {self.found}, now available: {len(self.available)}, "
            f"still in progress: {len(self.pending)}, failed: {len(self.failed)}, "
            f"skipped: {len(self.skipped)}"
        ]
        lines += [f"  failed  {ref}: {reason}" for ref, reason in self.failed]
        lines += [f"  skipped {ref}: {reason}" for ref, reason in self.skipped]
        if self.interrupted:
            lines.append(
                "interrupted: run the same command again to continue (objects already "
                "managed are no longer listed as safe to manage)"
            )
        return lines


MAX_LISTING_RESTARTS = 3
"""How often a listing whose marker vanished starts again before giving up."""


def _pages(client: Client, host: str, page_size: int) -> Iterator[dict[str, Any]]:
    marker = None
    while True:
        page = client.get(
            "manageable_volumes/detail",
            host=host,
            limit=page_size,
            marker=marker,
            sort="reference:asc",
        )["manageable-volumes"]
        yield from (entry["reference"] for entry in page if entry["safe_to_manage"])
        if len(page) < page_size:
            return
        marker = page[-1]["reference"].get(SOURCE_NAME)
        if marker is None:
            return


def _marker_vanished(error: ApiError) -> bool:
    return error.status == 400 and "marker" in error.message and "not found" in error.message


def safe_references(client: Client, host: str, page_size: int) -> Iterator[dict[str, Any]]:
    """Every reference the backend lists as safe to manage, read page by page.

    The marker of a page is the last object of the page before. When that object is
    renamed or removed meanwhile (a manage still running, an operator), the backend
    no longer finds it; the listing then starts again from the first page and gives
    only the references it has not given yet.
    """
    given: set[str] = set()
    for restart in range(MAX_LISTING_RESTARTS + 1):
        try:
            for reference in _pages(client, host, page_size):
                key = json.dumps(reference, sort_keys=True)
                if key not in given:
                    given.add(key)
                    yield reference
            return
        except ApiError as error:
            if not _marker_vanished(error) or restart == MAX_LISTING_RESTARTS:
                raise


def _label(reference: dict[str, Any]) -> str:
    return str(reference.get(SOURCE_NAME, reference))


def _submit(
    client: Client, host: str, reference: dict[str, Any], fields: dict[str, Any], summary: Summary
) -> str | None:
    body = {"volume": {"host": host, "ref": reference, **fields}}
    try:
        return client.post("manageable_volumes", body)["volume"]["id"]
    except ApiError as error:
        if error.status == 409:
            summary.skipped.append((_label(reference), error.message))
        else:
            summary.failed.append((_label(reference), error.message))
        return None


def failure_reason(client: Client, volume_id: str) -> str:
    """Why the manage of a volume failed: the user message recorded about it."""
    messages = client.get("messages", resource_uuid=volume_id)["messages"]
    return messages[0]["user_message"] if messages else "the manage failed"


def _wait(client: Client, started: dict[str, str], summary: Summary, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = dict(started)
    while waiting:
        for volume_id, label in list(waiting.items()):
            status = client.get(f"volumes/{volume_id}")["volume"]["status"]
            if status == "available":
                summary.available.append(label)
            elif status == "error":
                summary.failed.append((label, failure_reason(client, volume_id)))
            else:
                continue
            del waiting[volume_id]
        if waiting and time.monotonic() > deadline:
            summary.pending.extend(waiting.values())
            return
        if waiting:
            time.sleep(POLL_SECONDS)


def manage_all_safe(
    client: Client,
    host: str,
    fields: dict[str, Any],
    page_size: int = 50,
    timeout: float = 600.0,
    progress: Progress | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Manage every safe object of ``host``; ``summary`` fills in as it goes."""
    summary = summary or Summary()
    references = list(safe_references(client, host, page_size))
    summary.found = len(references)
    progress = progress or Progress(len(references))
    progress.total = len(references)
    for start in range(0, len(references), page_size):
        started: dict[str, str] = {}
        for reference in references[start : start + page_size]:
            volume_id = _submit(client, host, reference, fields, summary)
            if volume_id:
                started[volume_id] = _label(reference)
            progress.advance(_label(reference))
        _wait(client, started, summary, timeout)
    progress.close()
    return summary
