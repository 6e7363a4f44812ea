"""An undo and a user's unmanage (or manage) of the same object at the same time.

The undo's put-back is fenced like a manage's rename: one transaction locks the
volume's row, checks it is still ``available`` as the job left it, has the driver
put the object back and removes the row. The races are made deterministic with
hooks on the volume service's driver (as ``tests/rename_race.py`` swaps names at a
chosen moment): the user's unmanage is sent while the undo's put-back runs, or
after the undo read the backend and before its fenced step. Either way exactly one
of them acts on the object, and the loser says why (the unmanage: no such volume;
the undo item: ``skipped`` with the reason). A manage of the original name sent
during the put-back waits for the undo's commit and then takes the object, instead
of being refused as "already managed" by the volume the undo is removing.
"""

import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.adoption_support import items_by_name, wait_job, write_plan
from tests.functional.stack import PROJECT, Stack, make_file
from volmgr_common import exception
from volmgr_common.context import RequestContext
from volmgr_common.db import volumes as volumes_db

ADMIN = RequestContext(user_id="admin", project_id="admin", roles=["admin"])
USER = RequestContext(user_id="user-a", project_id=PROJECT, roles=["member"])
UNFENCED_WINDOW = 1.0
"""Seconds the hook lets the user's unmanage run inside the put-back: an unfenced
undo would let it finish there; a fenced one makes it wait for the commit."""


def _adopted(stack: Stack, count: int) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    names = [f"race-{n}.img" for n in range(count)]
    for name in names:
        make_file(stack.files / name, 1024 * 1024)
    driver = stack.volume_manager()._worker.driver
    plan_id = write_plan(stack.db, driver, stack.backend, names, PROJECT)
    jobs = stack.api_manager()._api.adoption_jobs
    job = wait_job(stack.db, jobs.apply(ADMIN, plan_id)["id"])
    assert job["counters"]["available"] == count, job
    return job, items_by_name(stack.db, job["id"])


def _hook(
    monkeypatch: pytest.MonkeyPatch, stack: Stack, method: str, before: Callable[..., None]
) -> None:
    """Run ``before(*args)`` ahead of the volume service driver's ``method``."""
    driver = stack.volume_manager()._worker.driver
    real = getattr(driver, method)

    def hooked(*args: Any, **kwargs: Any) -> Any:
        before(*args)
        return real(*args, **kwargs)

    monkeypatch.setattr(driver, method, hooked)


def _undo(stack: Stack, job_id: str) -> dict[str, dict[str, Any]]:
    jobs = stack.api_manager()._api.adoption_jobs
    undo = wait_job(stack.db, jobs.undo(ADMIN, job_id)["id"])
    return items_by_name(stack.db, undo["id"])


def test_an_unmanage_during_the_put_back_waits_and_finds_no_volume(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, items = _adopted(stack, 2)
    raced = items["race-0.img"]["volume_id"]
    outcome: list[BaseException | None] = []

    def unmanage() -> None:
        try:
            stack.api_manager()._api.unmanage(USER, raced)
            outcome.append(None)
        except exception.VolmgrException as error:
            outcome.append(error)

    user = threading.Thread(target=unmanage, name="user-unmanage")

    def during_put_back(volume: dict[str, Any], *_: Any) -> None:
        if volume["id"] == raced and not user.is_alive() and not outcome:
            user.start()
            user.join(UNFENCED_WINDOW)

    _hook(monkeypatch, stack, "undo_manage", during_put_back)
    undo_items = _undo(stack, job["id"])
    user.join(30)
    assert not user.is_alive(), "the user's unmanage never ended"
    assert undo_items["race-0.img"]["status"] == "undone", undo_items["race-0.img"]
    assert undo_items["race-1.img"]["status"] == "undone"
    assert len(outcome) == 1 and isinstance(outcome[0], exception.VolumeNotFound), outcome
    assert outcome[0].code == 404
    # The undo alone acted: both objects back under their original names, no volume.
    assert stack.listing() == ["race-0.img", "race-1.img"]
    assert volumes_db.list_volumes(stack.db) == []
    assert stack.in_use() == {}
    events = stack.notifications.event_types(raced)
    assert "volume.unmanage.start" not in events, events


def test_an_unmanage_before_the_put_back_wins_and_the_undo_item_is_skipped(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, items = _adopted(stack, 2)
    raced = volumes_db.get(stack.db, items["race-0.img"]["volume_id"])
    managed_name = raced["provider_location"]

    def after_the_undo_read_the_backend(names: Any, *_: Any) -> None:
        if names and managed_name in names and raced["status"] == "available":
            raced["status"] = "sent"
            stack.api_manager()._api.unmanage(USER, raced["id"])  # available → unmanaging

    _hook(monkeypatch, stack, "fingerprints", after_the_undo_read_the_backend)
    undo_items = _undo(stack, job["id"])
    assert raced["status"] == "sent", "the hook never ran"
    skipped = undo_items["race-0.img"]
    assert skipped["status"] == "skipped", skipped
    assert "unmanaging" in skipped["reason"] or "no longer exists" in skipped["reason"]
    assert undo_items["race-1.img"]["status"] == "undone"
    # The unmanage alone acted on race-0: its object stays under the managed name.
    stack.notifications.wait_for(raced["id"], "volume.unmanage.end")
    assert stack.listing() == sorted([managed_name, "race-1.img"])
    assert volumes_db.list_volumes(stack.db) == []
    assert stack.in_use() == {}


def test_a_manage_of_the_original_name_during_the_put_back_takes_the_object_after_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, items = _adopted(stack, 2)
    raced = items["race-0.img"]["volume_id"]
    manages: list[dict[str, Any] | BaseException] = []

    def manage() -> None:
        try:
            manages.append(stack.manage("race-0.img", name="again"))
        except Exception as error:
            manages.append(error)

    user = threading.Thread(target=manage, name="user-manage")

    def during_put_back(volume: dict[str, Any], *_: Any) -> None:
        if volume["id"] == raced and not user.is_alive() and not manages:
            user.start()
            user.join(UNFENCED_WINDOW)

    _hook(monkeypatch, stack, "undo_manage", during_put_back)
    undo_items = _undo(stack, job["id"])
    user.join(30)
    assert not user.is_alive(), "the user's manage never ended"
    assert undo_items["race-0.img"]["status"] == "undone", undo_items["race-0.img"]
    [again] = manages
    assert isinstance(again, dict), again
    volume = stack.wait_terminal(again["id"])
    assert volume["status"] == "available", volume
    # One owner: the object is managed once, by the new volume, under its managed name.
    assert [v["id"] for v in volumes_db.list_volumes(stack.db)] == [again["id"]]
    assert stack.listing() == sorted([volume["provider_location"], "race-1.img"])
