"""Gathers the manage requests that reach volmgr-volume at the same time into batches.

Each RPC handler thread hands its request to the :class:`ManageBatcher` and waits
for it. One batch thread takes every waiting request (up to a limit) and runs them
through the manage flow together, so that the database work of a step is one
transaction for the whole batch (see ``volmgr_volume.worker``). A handler returns
when its own request is done, as if it had run it: a graceful stop still lets
every request in hand finish, and nothing is acknowledged differently.
"""

import concurrent.futures
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from oslo_log import log as logging

from volmgr_common.context import RequestContext

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManageRequest:
    """One manage request as an RPC handler hands it over."""

    context: RequestContext
    volume_id: str
    done: concurrent.futures.Future[None] = field(default_factory=concurrent.futures.Future)


_STOP = object()


class ManageBatcher:
    """Runs the manage requests handed to it in batches of at most ``max_batch``."""

    def __init__(
        self, run_batch: Callable[[Sequence[tuple[RequestContext, str]]], None], max_batch: int
    ) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="volmgr-volume-manage-batches", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Run what was handed over, then stop the batch thread."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()
        while True:  # a request handed over while stopping runs alone
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, ManageRequest):
                self._run([item])

    def manage(self, context: RequestContext, volume_id: str) -> None:
        """Run the request in the next batch and wait for it; raises what the batch raised.

        Without a running batch thread (not started, or stopped) the request runs
        alone, in the caller's thread.
        """
        request = ManageRequest(context, volume_id)
        if self._thread is None:
            self._run_batch([(context, volume_id)])
            return
        self._queue.put(request)
        request.done.result()

    def _take_batch(self) -> tuple[list[ManageRequest], bool]:
        """The next batch (waits for its first request); True when asked to stop."""
        batch: list[ManageRequest] = []
        item = self._queue.get()
        while isinstance(item, ManageRequest):
            batch.append(item)
            if len(batch) == self._max_batch:
                return batch, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True  # the stop mark

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._take_batch()
            if batch:
                self._run(batch)

    def _run(self, batch: list[ManageRequest]) -> None:
        try:
            self._run_batch([(request.context, request.volume_id) for request in batch])
        except BaseException as error:  # every waiting handler raises it
            LOG.warning("A batch of %d manage requests failed: %s", len(batch), error)
            for request in batch:
                request.done.set_exception(error)
        else:
            for request in batch:
                request.done.set_result(None)
