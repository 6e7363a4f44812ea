"""The manage batcher gathers requests that arrive while a batch runs into the next one."""

import threading
from collections.abc import Sequence

import pytest

from volmgr_common import context
from volmgr_volume.batching import ManageBatcher

CTXT = context.RequestContext(user_id="user-a", project_id="project-a")


class Recorder:
    """A batch runner that records its batches and can hold the first one back."""

    def __init__(self, hold_first: bool = False, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail_on = fail_on

    def __call__(self, requests: Sequence[tuple[context.RequestContext, str]]) -> None:
        self.batches.append([volume_id for _, volume_id in requests])
        self.threads.add(threading.current_thread().name)
        self.started.set()
        self.release.wait(10)
        if self.fail_on in self.batches[-1]:
            raise RuntimeError("the database went away")


def submit_all(batcher: ManageBatcher, volume_ids: list[str]) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=batcher.manage, args=(CTXT, volume_id)) for volume_id in volume_ids
    ]
    for thread in threads:
        thread.start()
    return threads


def wait_queued(batcher: ManageBatcher, count: int) -> None:
    for _ in range(1000):
        if batcher._queue.qsize() >= count:
            return
        threading.Event().wait(0.005)
    raise AssertionError(f"{count} requests never queued")


def test_requests_that_arrive_during_a_batch_make_the_next_one() -> None:
    runner = Recorder(hold_first=True)
    batcher = ManageBatcher(runner, max_batch=3)
    batcher.start()
    first = submit_all(batcher, ["v0"])
    assert runner.started.wait(5)
    waiting = submit_all(batcher, ["v1", "v2", "v3", "v4"])
    wait_queued(batcher, 4)
    runner.release.set()
    for thread in first + waiting:
        thread.join(10)
    batcher.stop()
    assert runner.batches[0] == ["v0"]
    assert [len(batch) for batch in runner.batches[1:]] == [3, 1]  # at most max_batch
    assert sorted(v for batch in runner.batches[1:] for v in batch) == ["v1", "v2", "v3", "v4"]
    assert runner.threads == {"volmgr-volume-manage-batches"}


def test_a_batch_that_fails_fails_every_request_in_it() -> None:
    runner = Recorder(fail_on="v1")
    batcher = ManageBatcher(runner, max_batch=4)
    batcher.start()
    try:
        with pytest.raises(RuntimeError, match="database went away"):
            batcher.manage(CTXT, "v1")
        batcher.manage(CTXT, "v2")  # the batch thread lives on
    finally:
        batcher.stop()
    assert runner.batches == [["v1"], ["v2"]]


def test_without_a_batch_thread_a_request_runs_alone_in_the_caller() -> None:
    runner = Recorder()
    batcher = ManageBatcher(runner, max_batch=4)
    batcher.manage(CTXT, "v1")
    batcher.start()
    batcher.stop()
    batcher.manage(CTXT, "v2")
    assert runner.batches == [["v1"], ["v2"]]
    assert runner.threads == {threading.current_thread().name}


def test_stop_runs_what_was_handed_over_first() -> None:
    runner = Recorder(hold_first=True)
    batcher = ManageBatcher(runner, max_batch=8)
    batcher.start()
    threads = submit_all(batcher, ["v0"])
    assert runner.started.wait(5)
    threads += submit_all(batcher, ["v1", "v2"])
    wait_queued(batcher, 2)
    stopping = threading.Thread(target=batcher.stop)
    stopping.start()
    runner.release.set()
    stopping.join(10)
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    assert sorted(v for batch in runner.batches for v in batch) == ["v0", "v1", "v2"]
