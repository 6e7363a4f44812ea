"""Flow helpers shared by the services: the task base and the linear flow runner.

The flows are taskflow linear flows of taskflow tasks: each task names what it
``requires`` and ``provides`` and has an ``execute`` and a ``revert``. They run
with :func:`run_flow`, which gives a linear flow of tasks the same contract as
taskflow's serial engine — tasks run in order in the calling thread, each
argument comes from the store or from what an earlier task provided; when a task
fails, it and every task before it are reverted in reverse order with
``result`` (a :class:`taskflow.types.failure.Failure` for the failed task) and
``flow_failures``, then the original error is raised — without an engine per
request. Profiles showed building, loading and running a taskflow engine to be
~45 % of the API's and the volume service's CPU per manage, while the task
bodies took 0.01 ms (docs/performance.rst, "Where the CPU goes").
"""

from typing import Any

from oslo_log import log as logging
from taskflow import exceptions as taskflow_exceptions
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


def _tasks_of(flow: linear_flow.Flow) -> list[task.Task]:
    tasks = list(flow)
    for atom in tasks:
        if not isinstance(atom, task.Task):
            raise TypeError(f"run_flow runs a linear flow of tasks; {atom!r} is not a task")
    return tasks


def _check_inputs(tasks: list[task.Task], store: dict[str, Any]) -> None:
    """Refuse a flow whose required values nobody gives, before any task runs."""
    known = set(store)
    for atom in tasks:
        missing = [
            name
            for arg, name in atom.rebind.items()
            if name not in known and arg not in atom.optional
        ]
        if missing:
            raise taskflow_exceptions.MissingDependencies(atom, sorted(missing))
        known.update(atom.provides)


def _arguments(mapping: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    return {arg: values[name] for arg, name in mapping.items() if name in values}


def _save(atom: task.Task, result: Any, values: dict[str, Any]) -> None:
    for name, index in atom.save_as.items():
        values[name] = result if index is None else result[index]


def _revert(
    done: list[tuple[task.Task, Any]], values: dict[str, Any], failures: dict[str, Any]
) -> None:
    """Revert ``done`` newest first; a revert that fails is logged and the others still run."""
    for atom, result in reversed(done):
        kwargs = _arguments(atom.revert_rebind, values)
        try:
            atom.revert(result=result, flow_failures=failures, **kwargs)
        except Exception:
            LOG.exception("Revert of %s failed; reverting the tasks before it", atom.name)


def run_flow(flow: linear_flow.Flow, store: dict[str, Any]) -> dict[str, Any]:
    """Run ``flow`` to the end in this thread; on failure revert it and re-raise.

    Returns the store together with everything the flow's tasks provided. The
    flow is not changed, so one flow object may serve any number of runs, also
    at the same time.
    """
    tasks = _tasks_of(flow)
    _check_inputs(tasks, store)
    values = dict(store)
    done: list[tuple[task.Task, Any]] = []
    for atom in tasks:
        try:
            result = atom.execute(**_arguments(atom.rebind, values))
        except Exception:
            failed = failure.Failure()
            done.append((atom, failed))
            _revert(done, values, {atom.name: failed})
            raise
        done.append((atom, result))
        _save(atom, result, values)
    return values
