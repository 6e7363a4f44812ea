"""The taskflow atom attributes that ``volmgr_common.flows`` reads, pinned.

``run_flow`` and ``run_flow_batch`` run a linear flow without a taskflow engine,
reading each atom's ``rebind``, ``optional``, ``provides``, ``save_as`` and
``revert_rebind`` the way taskflow's engine does. They are documented attributes
of ``taskflow.atom.Atom``, but not an interface taskflow promises to keep, so
setup.cfg bounds taskflow below its next major version and these tests fail,
naming the attribute, when one of them changes shape.
"""

from typing import Any

import pytest
from taskflow import task
from taskflow.patterns import linear_flow
from taskflow.types import failure

from volmgr_common import flows


class Pair(task.Task):
    """execute(a, b, c=None) -> (x, y); revert takes what execute took."""

    def execute(self, a: int, b: int, c: int | None = None) -> tuple[int, int]:
        return a + b, c or 0

    def revert(self, result: Any, flow_failures: Any, a: int, **kwargs: Any) -> None:
        pass


def _pair() -> Pair:
    return Pair(name="pair", rebind={"b": "bee"}, provides=("x", "y"))


def test_rebind_maps_each_argument_to_its_store_name() -> None:
    rebind = _pair().rebind
    assert dict(rebind) == {"a": "a", "b": "bee", "c": "c"}, (
        f"taskflow Atom.rebind changed shape: {rebind!r} (flows._arguments reads it)"
    )


def test_optional_names_the_arguments_with_defaults() -> None:
    optional = _pair().optional
    assert set(optional) == {"c"}, (
        f"taskflow Atom.optional changed shape: {optional!r} (flows._check_inputs reads it)"
    )


def test_provides_names_what_the_task_gives() -> None:
    provides = _pair().provides
    assert set(provides) == {"x", "y"}, (
        f"taskflow Atom.provides changed shape: {provides!r} (flows._check_inputs reads it)"
    )


def test_save_as_maps_each_provided_name_to_its_index() -> None:
    save_as = _pair().save_as
    assert dict(save_as) == {"x": 0, "y": 1}, (
        f"taskflow Atom.save_as changed shape: {save_as!r} (flows._save reads it)"
    )
    single = Pair(name="one", rebind={"b": "bee"}, provides="x").save_as
    assert dict(single) == {"x": None}, (
        f"taskflow Atom.save_as of a single value changed shape: {single!r} (flows._save)"
    )


def test_revert_rebind_maps_the_revert_arguments() -> None:
    revert_rebind = _pair().revert_rebind  # revert takes **kwargs: the rebind names too
    assert dict(revert_rebind) == {"a": "a", "b": "bee"}, (
        f"taskflow Atom.revert_rebind changed shape: {revert_rebind!r} (flows._revert reads it)"
    )


def test_the_runner_runs_a_flow_through_these_attributes() -> None:
    class Fail(task.Task):
        def execute(self, x: int) -> None:
            raise RuntimeError(f"x={x}")

    reverted: list[Any] = []

    class Recording(Pair):
        def revert(self, result: Any, flow_failures: Any, a: int, **kwargs: Any) -> None:
            reverted.append((result, a))

    flow = linear_flow.Flow("f").add(
        Recording(name="pair", rebind={"b": "bee"}, provides=("x", "y")), Fail(name="fail")
    )
    values = flows.run_flow(linear_flow.Flow("ok").add(_pair()), {"a": 1, "bee": 2})
    assert (values["x"], values["y"]) == (3, 0)
    with pytest.raises(RuntimeError, match="x=3"):
        flows.run_flow(flow, {"a": 1, "bee": 2})
    assert reverted == [((3, 0), 1)]
    assert not isinstance(reverted[0][0], failure.Failure)
