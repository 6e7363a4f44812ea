"""Taskflow helpers shared by the services' flows: the task base and the runner."""

from typing import Any

import taskflow.engines
from oslo_log import log as logging
from taskflow import task
from taskflow.patterns import linear_flow
from taskflow.types import failure

LOG = logging.getLogger(__name__)


class VolmgrTask(task.Task):
    """A taskflow task named after its class, with helpers for reverts."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("name", type(self).__name__)
        super().__init__(**kwargs)

    @staticmethod
    def nothing_to_undo(result: Any) -> bool:
        """True when the task's own execute failed: it left nothing behind."""
        return isinstance(result, failure.Failure)


def run_flow(flow: linear_flow.Flow, store: dict[str, Any]) -> dict[str, Any]:
    """Run ``flow`` to the end in this thread; on failure revert it and re-raise.

    Returns everything the flow's tasks provided.
    """
    engine = taskflow.engines.load(flow, store=store, engine="serial")
    engine.run()
    return dict(engine.storage.fetch_all())
