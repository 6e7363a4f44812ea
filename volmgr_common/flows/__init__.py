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

:func:`run_flow_batch` runs one flow for many requests at once, task by task: a
task with an ``execute_batch`` takes every request still running in one call (one
database transaction for all of them, say), any other task runs for each in turn.
Each request keeps the contract of :func:`run_flow` for itself: when its step
fails, its own tasks are reverted, and the others go on. When a batch step raises
as a whole, its transaction was rolled back: unless the error is one that any
request would meet (the database or the broker unavailable), the step runs again
for each request alone, so that the request whose value broke it fails and its
neighbours go on.

Both read what taskflow's engine reads of each atom: ``rebind``, ``optional``,
``provides``, ``save_as`` and ``revert_rebind``, documented attributes of
``taskflow.atom.Atom`` but no promised interface. setup.cfg keeps taskflow below
its next major version, and ``tests/unit/common/test_taskflow_internals.py``
fails, naming the attribute, when one of them changes shape.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import oslo_messaging
from oslo_log import log as logging
from taskflow import exceptions as taskflow_exceptions
from taskflow import task
from taskflow.patterns import linear_flow
from taskflow.types import failure

from volmgr_common import exception

LOG = logging.getLogger(__name__)

WHOLE_STEP_ERRORS: tuple[type[BaseException], ...] = (
    exception.DatabaseUnavailable,
    oslo_messaging.MessagingException,
)
"""Errors of a batch step that every request of it would meet: running the step
again for each request alone would only repeat them (and their retries)."""


class VolmgrTask(task.Task):
    """A taskflow task named after its class, with helpers for reverts.

    A task may also define ``execute_batch(calls)``: given the keyword arguments
    of ``execute`` for several requests, it returns for each, in order, what
    ``execute`` would have returned, or a :class:`~taskflow.types.failure.Failure`
    for a request whose step failed. :func:`run_flow_batch` uses it. When it
    raises, it must have changed nothing (its one transaction rolled back), so that
    the runner may call it again for each request alone.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("name", type(self).__name__)
        super().__init__(**kwargs)

    @staticmethod
    def nothing_to_undo(result: Any) -> bool:
        """True when the task's own execute failed: it left nothing behind."""
        return isinstance(result, failure.Failure)

    @staticmethod
    def alone(results: list[Any]) -> Any:
        """The one result of ``execute_batch`` for a batch of one, raising what it failed with.

        A task with an ``execute_batch`` defines ``execute`` as the batch of one, so
        that both ways of running it are one piece of code.
        """
        (result,) = results
        if isinstance(result, failure.Failure):
            result.reraise()
        return result


CONTEXT = "context"
"""The store key of the request context in every volmgr flow."""


def make_context_current(values: dict[str, Any]) -> None:
    """Make a request's context the thread's, so that log lines carry its request id."""
    values[CONTEXT].update_store()


def _tasks_of(flow: linear_flow.Flow) -> list[task.Task]:
    tasks = list(flow)
    for atom in tasks:
        if not isinstance(atom, task.Task):
            raise TypeError(f"run_flow runs a linear flow of tasks; {atom!r} is not a task")
    return tasks


def _check_inputs(tasks: list[task.Task], store: Iterable[str]) -> None:
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


Outcome: TypeAlias = dict[str, Any] | failure.Failure
"""What :func:`run_flow_batch` gives for one request: its values, or why it failed."""


def _execute_each(
    atom: task.Task, calls: list[dict[str, Any]], enter: Callable[[int], None], alive: list[int]
) -> list[Any]:
    results: list[Any] = []
    for index, kwargs in zip(alive, calls, strict=True):
        enter(index)
        try:
            results.append(atom.execute(**kwargs))
        except Exception:
            results.append(failure.Failure())
    return results


def _execute_batch(atom: task.Task, calls: list[dict[str, Any]]) -> list[Any]:
    results = list(atom.execute_batch(calls))
    if len(results) != len(calls):
        given = len(results)
        raise RuntimeError(f"{atom.name}.execute_batch gave {given} results for {len(calls)}")
    return results


def _execute_together(
    atom: task.Task, calls: list[dict[str, Any]], enter: Callable[[int], None], alive: list[int]
) -> list[Any]:
    """The batch step for every request; when it raises, the step for each alone.

    The batch step is one transaction, which its error rolled back; so the step may
    run again for each request, and each gets its own outcome: an error that came
    from one request's value fails that request only.
    """
    try:
        return _execute_batch(atom, calls)
    except WHOLE_STEP_ERRORS:
        return [failure.Failure()] * len(calls)  # the step failed for every request
    except Exception as error:
        if len(calls) == 1:
            return [failure.Failure()]
        LOG.warning(
            "%s failed for a batch of %d requests (%s: %s); running it for each alone",
            atom.name,
            len(calls),
            type(error).__name__,
            str(error).splitlines()[0] if str(error) else "",
        )
    results: list[Any] = []
    for index, kwargs in zip(alive, calls, strict=True):
        enter(index)
        try:
            (result,) = _execute_batch(atom, [kwargs])
        except Exception:
            result = failure.Failure()
        results.append(result)
    return results


def run_flow_batch(
    flow: linear_flow.Flow,
    stores: Sequence[dict[str, Any]],
    enter: Callable[[dict[str, Any]], None] | None = None,
) -> list[Outcome]:
    """Run ``flow`` for each store, task by task, all requests together.

    Returns, for each store in order, the values the flow provided (as
    :func:`run_flow` returns them) or the :class:`Failure` that ended it, after
    that request's tasks were reverted. ``enter(values)`` is called before a task
    runs or reverts for one request alone (to make its context the thread's).
    """
    tasks = _tasks_of(flow)
    for names in {frozenset(store) for store in stores}:  # stores of a batch share their keys
        _check_inputs(tasks, names)
    values = [dict(store) for store in stores]
    done: list[list[tuple[task.Task, Any]]] = [[] for _ in stores]
    failed: dict[int, failure.Failure] = {}

    def enter_request(index: int) -> None:
        if enter is not None:
            enter(values[index])

    for atom in tasks:
        alive = [index for index in range(len(stores)) if index not in failed]
        if not alive:
            break
        calls = [_arguments(atom.rebind, values[index]) for index in alive]
        if hasattr(atom, "execute_batch"):
            results = _execute_together(atom, calls, enter_request, alive)
        else:
            results = _execute_each(atom, calls, enter_request, alive)
        for index, result in zip(alive, results, strict=True):
            done[index].append((atom, result))
            if isinstance(result, failure.Failure):
                failed[index] = result
                enter_request(index)
                _revert(done[index], values[index], {atom.name: result})
            else:
                _save(atom, result, values[index])
    return [failed.get(index, values[index]) for index in range(len(stores))]
