"""Gathers the requests that reach a daemon at the same time into batches (group commit).

Each RPC handler thread hands its item to a :class:`Batcher` and waits for its own
result. While one batch is being handled, the items given meanwhile wait; when it
is done, one of the waiting threads takes every waiting item (up to a limit) and
handles them together — one database transaction, or one message, for all — and
each item gets its own result or error. There is no thread of the batcher's own:
an item given while nothing else is happening is handled at once, in the thread
that gave it. A handler returns when its own item is done, as if it had done it
alone: a graceful stop still lets every request in hand finish, and no message is
acknowledged differently.

volmgr-api and volmgr-volume run their manage flows for batches of requests this
way (``volmgr_common.flows.run_flow_batch``).
"""

import collections
import concurrent.futures
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


def handler_threads(conf: cfg.ConfigOpts) -> int:
    """Threads an RPC server whose handlers wait in batches needs.

    A handler waits while its request is in a batch: enough threads for one batch
    being handled and the next one gathering.
    """
    return max(conf.executor_thread_pool_size, 2 * conf.manage_batch_size)


class _Pending(Generic[Item, Result]):
    __slots__ = ("done", "item")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done: concurrent.futures.Future[Result] = concurrent.futures.Future()


class Batcher(Generic[Item, Result]):
    """Handles the items given to it in batches of at most ``max_batch``, one at a time.

    ``handle(items)`` gives each item, in order, its result or the error it met;
    should it raise, every item of the batch gets that error.
    """

    def __init__(
        self,
        name: str,
        handle: Callable[[Sequence[Item]], Sequence[Result | BaseException]],
        max_batch: int,
    ) -> None:
        self.name = name
        self._handle = handle
        self._max_batch = max_batch
        self._waiting: collections.deque[_Pending[Item, Result]] = collections.deque()
        self._changed = threading.Condition()
        self._busy = False  # a batch is being handled

    def submit(self, item: Item) -> Result:
        """Handle ``item`` in a batch and wait; raises the error it met."""
        (result,) = self.submit_all([item])
        if isinstance(result, BaseException):
            raise result
        return result

    def submit_all(self, items: Sequence[Item]) -> list[Result | BaseException]:
        """Handle ``items`` (in one or more batches) and wait for all; each result or error."""
        pending = [_Pending[Item, Result](item) for item in items]
        with self._changed:
            self._waiting.extend(pending)
            while not all(one.done.done() for one in pending):
                if self._busy or not self._waiting:
                    self._changed.wait()
                    continue
                self._busy = True
                batch = [
                    self._waiting.popleft() for _ in range(min(self._max_batch, len(self._waiting)))
                ]
                self._changed.release()
                try:
                    self._run(batch)
                finally:
                    self._changed.acquire()
                    self._busy = False
                    self._changed.notify_all()
        outcomes = []
        for one in pending:
            outcome = _outcome(one.done)
            outcomes.append(outcome)
        return outcomes

    def _run(self, batch: list[_Pending[Item, Result]]) -> None:
        current = oslo_context.get_current()
        try:
            results = list(self._handle([one.item for one in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(batch)} items")
        except BaseException as error:  # every waiting handler gets it
            LOG.warning("%s: a batch of %d failed: %s", self.name, len(batch), error)
            results = [error] * len(batch)
        finally:
            if current is not None:
                current.update_store()  # the handling may have made others' contexts current
        for one, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                one.done.set_exception(result)
            else:
                one.done.set_result(result)


def _outcome(done: "concurrent.futures.Future[Result]") -> "Result | BaseException":
    error = done.exception()
    return error if error is not None else done.result()
