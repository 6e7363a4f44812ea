"""The linear flow runner keeps taskflow's serial-engine contract for a linear flow."""

import threading
from typing import Any

import pytest
import taskflow.engines
from taskflow import exceptions as taskflow_exceptions
from taskflow.patterns import linear_flow
from taskflow.types import failure

from volmgr_common import exception
from volmgr_common.flows import VolmgrTask, run_flow, run_flow_batch


class Journal:
    """What the tasks did, in order, shared by every task of one flow."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()

    def add(self, *event: Any) -> None:
        with self.lock:
            self.events.append(event)


class Double(VolmgrTask):
    def __init__(self, journal: Journal) -> None:
        super().__init__(provides="doubled")
        self.journal = journal

    def execute(self, number: int) -> int:
        self.journal.add("execute", self.name, number)
        return number * 2

    def revert(self, result: Any, number: int, **kwargs: Any) -> None:
        self.journal.add("revert", self.name, result, number, sorted(kwargs["flow_failures"]))


class SplitPair(VolmgrTask):
    def __init__(self, journal: Journal) -> None:
        super().__init__(provides=("low", "high"))
        self.journal = journal

    def execute(self, doubled: int) -> tuple[int, int]:
        self.journal.add("execute", self.name, doubled)
        return doubled - 1, doubled + 1

    def revert(self, result: Any, **kwargs: Any) -> None:
        self.journal.add("revert", self.name, result)


class Check(VolmgrTask):
    def __init__(self, journal: Journal, fail_above: int) -> None:
        super().__init__(provides="checked")
        self.journal = journal
        self.fail_above = fail_above

    def execute(self, low: int, high: int, label: str = "none") -> str:
        self.journal.add("execute", self.name, low, high, label)
        if high > self.fail_above:
            raise ValueError(f"{high} is above {self.fail_above}")
        return f"{label}:{low}-{high}"

    def revert(self, result: Any, **kwargs: Any) -> None:
        self.journal.add("revert", self.name, self.nothing_to_undo(result))


def build(journal: Journal, fail_above: int = 100) -> linear_flow.Flow:
    return linear_flow.Flow("sample").add(
        Double(journal), SplitPair(journal), Check(journal, fail_above)
    )


def test_tasks_run_in_order_and_pass_what_they_provide() -> None:
    journal = Journal()
    values = run_flow(build(journal), {"number": 5, "label": "x"})
    assert journal.events == [
        ("execute", "Double", 5),
        ("execute", "SplitPair", 10),
        ("execute", "Check", 9, 11, "x"),
    ]
    assert values == {
        "number": 5,
        "label": "x",
        "doubled": 10,
        "low": 9,
        "high": 11,
        "checked": "x:9-11",
    }


def test_optional_arguments_keep_their_default() -> None:
    values = run_flow(build(Journal()), {"number": 1})
    assert values["checked"] == "none:1-3"


def test_failure_reverts_the_failed_task_and_those_before_in_reverse_order() -> None:
    journal = Journal()
    with pytest.raises(ValueError, match="21 is above 20"):
        run_flow(build(journal, fail_above=20), {"number": 10})
    reverts = [e for e in journal.events if e[0] == "revert"]
    assert reverts == [
        ("revert", "Check", True),
        ("revert", "SplitPair", (19, 21)),
        ("revert", "Double", 20, 10, ["Check"]),
    ]


def test_the_failed_task_gets_a_taskflow_failure_as_result() -> None:
    seen: list[Any] = []

    class Record(Check):
        def revert(self, result: Any, **kwargs: Any) -> None:
            seen.append((result, kwargs["flow_failures"]))

    flow = linear_flow.Flow("f").add(SplitPair(Journal()), Record(Journal(), fail_above=0))
    with pytest.raises(ValueError):
        run_flow(flow, {"doubled": 4})
    result, failures = seen[0]
    assert isinstance(result, failure.Failure)
    assert result.check(ValueError) is ValueError
    assert failures == {"Record": result}


def test_a_failing_revert_does_not_stop_the_others() -> None:
    journal = Journal()

    class BrokenRevert(SplitPair):
        def revert(self, result: Any, **kwargs: Any) -> None:
            raise RuntimeError("revert broke")

    flow = linear_flow.Flow("f").add(
        Double(journal), BrokenRevert(journal), Check(journal, fail_above=0)
    )
    with pytest.raises(ValueError):
        run_flow(flow, {"number": 1})
    assert ("revert", "Double", 2, 1, ["Check"]) in journal.events


def test_a_missing_input_is_refused_before_any_task_runs() -> None:
    journal = Journal()
    with pytest.raises(taskflow_exceptions.MissingDependencies):
        run_flow(build(journal), {"label": "no number"})
    assert journal.events == []


def test_one_flow_serves_concurrent_runs() -> None:
    journal = Journal()
    flow = build(journal, fail_above=10**9)
    results: dict[int, str] = {}

    def one(number: int) -> None:
        results[number] = run_flow(flow, {"number": number})["checked"]

    threads = [threading.Thread(target=one, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: f"none:{2 * n - 1}-{2 * n + 1}" for n in range(40)}


@pytest.mark.parametrize("fail_above", [100, 20])
def test_same_outcome_as_taskflows_serial_engine(fail_above: int) -> None:
    ours, theirs = Journal(), Journal()
    store = {"number": 10, "label": "y"}
    outcome: list[Any] = []
    for journal, runner in (
        (ours, lambda f: run_flow(f, store)),
        (theirs, lambda f: taskflow.engines.run(f, store=store, engine="serial")),
    ):
        try:
            outcome.append(runner(build(journal, fail_above))["checked"])
        except ValueError as error:
            outcome.append(str(error))
    assert outcome[0] == outcome[1]
    normalise = [
        [tuple("failure" if isinstance(x, failure.Failure) else x for x in e) for e in j.events]
        for j in (ours, theirs)
    ]
    assert normalise[0] == normalise[1]


# -- run_flow_batch ------------------------------------------------------------------


class BatchDouble(Double):
    """Double with an ``execute_batch`` that records each batch it is given."""

    def execute_batch(self, calls: list[dict[str, Any]]) -> list[Any]:
        self.journal.add("batch", self.name, [call["number"] for call in calls])
        results: list[Any] = []
        for call in calls:
            if call["number"] < 0:
                try:
                    raise ValueError(f"{call['number']} is negative")
                except ValueError:
                    results.append(failure.Failure())
            else:
                results.append(call["number"] * 2)
        return results


def test_a_batch_gives_each_request_what_run_flow_gives_it() -> None:
    stores = [{"number": n, "label": "x"} for n in (1, 5, 7)]
    outcomes = run_flow_batch(build(Journal()), stores)
    assert outcomes == [run_flow(build(Journal()), store) for store in stores]


def test_a_batch_task_takes_every_running_request_at_once() -> None:
    journal = Journal()
    flow = linear_flow.Flow("f").add(BatchDouble(journal), SplitPair(journal))
    outcomes = run_flow_batch(flow, [{"number": 1}, {"number": 2}, {"number": 3}])
    assert [outcome["high"] for outcome in outcomes] == [3, 5, 7]
    assert journal.events[0] == ("batch", "BatchDouble", [1, 2, 3])
    assert [e[2] for e in journal.events[1:]] == [2, 4, 6]  # SplitPair, one by one


def test_a_request_that_fails_is_reverted_alone_and_the_others_go_on() -> None:
    journal = Journal()
    flow = linear_flow.Flow("f").add(
        BatchDouble(journal), SplitPair(journal), Check(journal, fail_above=10)
    )
    outcomes = run_flow_batch(flow, [{"number": 2}, {"number": -1}, {"number": 6}, {"number": 3}])
    assert outcomes[0]["checked"] == "none:3-5"
    assert outcomes[3]["checked"] == "none:5-7"
    assert isinstance(outcomes[1], failure.Failure)
    assert outcomes[1].check(ValueError) is ValueError  # failed in BatchDouble
    assert isinstance(outcomes[2], failure.Failure)  # 13 is above 10: failed in Check
    reverts = [e for e in journal.events if e[0] == "revert"]
    assert reverts == [
        ("revert", "BatchDouble", outcomes[1], -1, ["BatchDouble"]),
        ("revert", "Check", True),
        ("revert", "SplitPair", (11, 13)),
        ("revert", "BatchDouble", 12, 6, ["Check"]),
    ]
    # The failed request took no further step.
    assert ("execute", "SplitPair", -2) not in journal.events


def test_a_batch_step_that_raises_fails_every_request_in_it() -> None:
    journal = Journal()

    class Broken(BatchDouble):
        def execute_batch(self, calls: list[dict[str, Any]]) -> list[Any]:
            self.journal.add("batch", self.name, len(calls))
            raise exception.DatabaseUnavailable(attempts=11)

    flow = linear_flow.Flow("f").add(Double(journal), Broken(journal))
    outcomes = run_flow_batch(flow, [{"number": 1}, {"number": 2}])
    assert all(isinstance(o, failure.Failure) for o in outcomes)
    assert all(o.check(exception.DatabaseUnavailable) for o in outcomes)
    # The database is gone for every request: the step is not tried again for each.
    assert [e for e in journal.events if e[0] == "batch"] == [("batch", "Broken", 2)]
    # Each request's earlier task was reverted with its own arguments.
    assert [e[2:4] for e in journal.events if e[0] == "revert" and e[1] == "Double"] == [
        (2, 1),
        (4, 2),
    ]


class OverflowingDouble(BatchDouble):
    """A batch step whose one statement breaks on a value too big for its column."""

    def execute_batch(self, calls: list[dict[str, Any]]) -> list[Any]:
        self.journal.add("batch", self.name, [call["number"] for call in calls])
        if any(call["number"] > 2**31 for call in calls):
            raise OverflowError("integer out of range")  # the whole transaction rolled back
        return [call["number"] * 2 for call in calls]


def test_one_request_that_breaks_a_batch_step_fails_alone() -> None:
    journal = Journal()
    entered: list[int] = []
    flow = linear_flow.Flow("f").add(OverflowingDouble(journal), SplitPair(journal))
    stores = [{"number": 1}, {"number": 2**62}, {"number": 3}]
    outcomes = run_flow_batch(flow, stores, enter=lambda v: entered.append(v["number"]))
    assert outcomes[0]["high"] == 3 and outcomes[2]["high"] == 7
    assert isinstance(outcomes[1], failure.Failure)
    assert outcomes[1].check(OverflowError) is OverflowError
    batches = [e[2] for e in journal.events if e[0] == "batch"]
    assert batches == [[1, 2**62, 3], [1], [2**62], [3]]  # the batch, then each alone
    assert entered[:3] == [1, 2**62, 3]  # each ran alone as its own request
    assert ("revert", "OverflowingDouble", outcomes[1], 2**62, ["OverflowingDouble"]) in (
        journal.events
    )


def test_an_unexpected_error_of_a_batch_of_one_is_its_own() -> None:
    journal = Journal()
    flow = linear_flow.Flow("f").add(OverflowingDouble(journal))
    (outcome,) = run_flow_batch(flow, [{"number": 2**40}])
    assert isinstance(outcome, failure.Failure) and outcome.check(OverflowError)
    assert [e[2] for e in journal.events if e[0] == "batch"] == [[2**40]]


def test_enter_is_called_before_each_request_runs_alone() -> None:
    entered: list[int] = []
    flow = linear_flow.Flow("f").add(BatchDouble(Journal()), SplitPair(Journal()))
    run_flow_batch(
        flow, [{"number": 1}, {"number": 2}], enter=lambda v: entered.append(v["number"])
    )
    assert entered == [1, 2]  # SplitPair ran for each; BatchDouble once for both


def test_a_batch_checks_every_store_before_any_task_runs() -> None:
    journal = Journal()
    with pytest.raises(taskflow_exceptions.MissingDependencies):
        run_flow_batch(build(journal), [{"number": 1}, {"label": "no number"}])
    assert journal.events == []
