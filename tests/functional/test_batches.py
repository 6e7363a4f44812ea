"""Functional tests: requests that arrive together are handled in batches, each its own way.

A burst of concurrent manages goes through the API, the scheduler and the volume
service in batches (one transaction per step, one message per hop for many
requests); each request must still get exactly its own outcome: available, or
refused, or failed and reverted, with quota equal to what the rows hold.
"""

import concurrent.futures
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.stack import CONTENT, GIB, PROJECT, Stack, head, make_file
from volmgr_common import exception
from volmgr_common.db import quota, volume_record

CALLERS = 16


def burst(stack: Stack, sources: list[str]) -> list[dict[str, Any] | Exception]:
    """Ask for every source at once from CALLERS threads; each answer or error."""

    def one(source: str) -> dict[str, Any] | Exception:
        try:
            return stack.manage(source)
        except Exception as error:  # a refusal is an answer too
            return error

    with concurrent.futures.ThreadPoolExecutor(CALLERS) as pool:
        return list(pool.map(one, sources))


def burst_of_new_files(stack: Stack, count: int, size: int) -> list[dict[str, Any] | Exception]:
    """Make ``count`` files of ``size`` bytes and ask for all of them at once."""
    names = [f"lun-{n:02}.img" for n in range(count)]
    for name in names:
        make_file(stack.files / name, size)
    return burst(stack, names)


def batch_sizes(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many requests each batch message to the scheduler carried."""
    sizes: list[int] = []
    scheduler = stack.scheduler_manager()
    original: Callable[..., None] = scheduler.manage_existing_batch

    def recording(ctxt: Any, requests: list[dict[str, Any]]) -> None:
        sizes.append(len(requests))
        original(ctxt, requests)

    monkeypatch.setattr(scheduler, "manage_existing_batch", recording)
    return sizes


def test_a_burst_is_batched_and_every_request_ends_its_own_way(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = batch_sizes(stack, monkeypatch)
    good = [f"disk-{n:02}.img" for n in range(40)]
    for name in good:
        make_file(stack.files / name, GIB)
    missing = ["gone-1.img", "gone-2.img"]
    answers = burst(stack, [*good, *missing, good[0], good[1]])

    accepted = [a for a in answers if isinstance(a, dict)]
    refused = [a for a in answers if isinstance(a, Exception)]
    # The same file asked for twice in one burst: exactly one request holds it.
    assert len(accepted) == 42
    assert len(refused) == 2
    assert all(isinstance(e, exception.ManageExistingAlreadyManaged) for e in refused)
    outcomes = {a["reference"]["source-name"]: stack.wait_terminal(a["id"]) for a in accepted}
    for name in good:
        assert outcomes[name]["status"] == volume_record.AVAILABLE
        assert outcomes[name]["size"] == 1
        assert head(stack.files / f"volume-{outcomes[name]['id']}") == CONTENT
    for name in missing:
        assert outcomes[name]["status"] == volume_record.ERROR_MANAGING
        assert name in outcomes[name]["failure_reason"]
    assert stack.in_use() == {
        "volumes": 40,
        "volumes___DEFAULT__": 40,
        "gigabytes": 40,
        "gigabytes___DEFAULT__": 40,
    }
    for volume in outcomes.values():
        if volume["status"] == volume_record.AVAILABLE:
            stack.notifications.wait_for(volume["id"], "volume.manage_existing.end")
            assert stack.notifications.counts(volume["id"])["volume.manage_existing.end"] == 1
    # The burst did travel in batches: some message carried several requests.
    assert max(sizes, default=1) > 1


def test_the_volume_limit_holds_for_every_row_of_a_batch(stack: Stack) -> None:
    quota.set_limit(stack.db, PROJECT, "volumes", 30)
    answers = burst_of_new_files(stack, 36, 2 * GIB)

    accepted = [a for a in answers if isinstance(a, dict)]
    refused = [a for a in answers if isinstance(a, Exception)]
    # The API charges one volume with each row: 30 fit, 6 are refused and write nothing.
    assert (len(accepted), len(refused)) == (30, 6)
    assert all(isinstance(e, exception.OverQuota) for e in refused)
    assert all(stack.wait_terminal(a["id"])["status"] == volume_record.AVAILABLE for a in accepted)
    assert len(stack.volumes()) == 30
    assert stack.in_use() == {
        "volumes": 30,
        "volumes___DEFAULT__": 30,
        "gigabytes": 60,
        "gigabytes___DEFAULT__": 60,
    }


def test_the_gigabytes_limit_holds_for_every_request_of_a_batch(stack: Stack) -> None:
    quota.set_limit(stack.db, PROJECT, "gigabytes", 40)
    answers = burst_of_new_files(stack, 36, 2 * GIB)

    assert all(isinstance(a, dict) for a in answers)
    # The volume service reserves 2 GiB each: 20 fit in 40 GiB, 16 fail and are reverted.
    done = [stack.wait_terminal(a["id"]) for a in answers if isinstance(a, dict)]
    available = [v for v in done if v["status"] == volume_record.AVAILABLE]
    failed = [v for v in done if v["status"] == volume_record.ERROR_MANAGING]
    assert (len(available), len(failed)) == (20, 16)
    assert all("exceeds the quota" in v["failure_reason"] for v in failed)
    assert stack.in_use() == {
        "volumes": 20,
        "volumes___DEFAULT__": 20,
        "gigabytes": 40,
        "gigabytes___DEFAULT__": 40,
    }
    renamed = {f"volume-{v['id']}" for v in available}
    kept = {v["reference"]["source-name"] for v in failed}
    assert set(stack.listing()) == renamed | kept
    assert all(head(stack.files / name) == CONTENT for name in kept)
