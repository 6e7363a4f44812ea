"""The batcher gathers the items that arrive while a batch is handled into the next one."""

import threading
from collections.abc import Sequence

import pytest
from oslo_context import context as oslo_context

from volmgr_common import context
from volmgr_common.batching import Batcher


class Recorder:
    """A batch handler that records its batches and can hold the first one back."""

    def __init__(self, hold_first: bool = False, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail_on = fail_on

    def __call__(self, items: Sequence[str]) -> list[str | BaseException]:
        self.batches.append(list(items))
        self.threads.add(threading.current_thread().name)
        self.started.set()
        self.release.wait(10)
        if self.fail_on in self.batches[-1]:
            raise RuntimeError("the database went away")
        return [ValueError(f"{item} is bad") if "bad" in item else f"{item}!" for item in items]


def submit_all(batcher: Batcher[str, str], items: list[str]) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=batcher.submit, args=(item,), name=f"handler-{item}")
        for item in items
    ]
    for thread in threads:
        thread.start()
    return threads


def wait_waiting(batcher: Batcher[str, str], count: int) -> None:
    for _ in range(1000):
        with batcher._changed:
            if len(batcher._waiting) >= count:
                return
        threading.Event().wait(0.005)
    raise AssertionError(f"{count} items never waited")


def test_items_that_arrive_during_a_batch_make_the_next_ones() -> None:
    runner = Recorder(hold_first=True)
    batcher = Batcher("test", runner, max_batch=3)
    threads = submit_all(batcher, ["v0"])
    assert runner.started.wait(5)
    threads += submit_all(batcher, ["v1", "v2", "v3", "v4"])
    wait_waiting(batcher, 4)
    runner.release.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    assert runner.batches[0] == ["v0"]
    assert runner.batches[1:] == [["v1", "v2", "v3"], ["v4"]]  # at most max_batch, in order
    # Batches are handled by the threads that gave items: the batcher has none of its own.
    assert runner.threads <= {thread.name for thread in threads}


def test_an_item_given_alone_is_handled_at_once_in_the_callers_thread() -> None:
    runner = Recorder()
    batcher = Batcher("test", runner, max_batch=4)
    assert batcher.submit("v1") == "v1!"
    assert runner.batches == [["v1"]]
    assert runner.threads == {threading.current_thread().name}


def test_a_batch_that_fails_fails_every_item_in_it() -> None:
    runner = Recorder(fail_on="v1")
    batcher = Batcher("test", runner, max_batch=4)
    outcomes = batcher.submit_all(["v1", "v2"])
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
    with pytest.raises(RuntimeError, match="database went away"):
        batcher.submit("v1")
    assert batcher.submit("v3") == "v3!"  # the batcher goes on


def test_each_item_gets_its_own_result_or_error() -> None:
    batcher = Batcher("test", Recorder(), max_batch=8)
    outcomes = batcher.submit_all(["a", "bad", "c"])
    assert outcomes[0] == "a!" and outcomes[2] == "c!"
    assert isinstance(outcomes[1], ValueError)
    with pytest.raises(ValueError, match="bad2 is bad"):
        batcher.submit("bad2")


def test_the_callers_context_is_current_again_after_handling_others() -> None:
    mine = context.RequestContext(user_id="me", project_id="p", overwrite=True)
    other = context.RequestContext(user_id="other", project_id="p", overwrite=False)

    def handle(items: Sequence[str]) -> list[str]:
        other.update_store()  # as a manage flow does for each of its requests
        return list(items)

    assert Batcher("test", handle, max_batch=2).submit("x") == "x"
    assert oslo_context.get_current() is mine
