"""The chain flow of the volume manager, not run: its tasks, what each needs and gives.

The flow runs on real chains in tests/functional/test_chain_manage.py (a failure at
each step), tests/contract/test_chain_requests.py (LVM and qcow2) and
tests/faults/test_chain_kills.py (kill -9 of each daemon).
"""

from pathlib import Path

from oslo_config import cfg

from tests.driver_support import make_conf
from volmgr_common.db import api as db_api
from volmgr_volume.drivers.fake import FakeDriver
from volmgr_volume.flows import manage_chain
from volmgr_volume.flows import manage_existing as single

TASKS = ["NotifyStart", "RecordChain", "QuotaReserve", "ManageChain", "QuotaCommit", "FinishChain"]


def _flow(tmp_path: Path) -> list:
    conf: cfg.ConfigOpts = make_conf(tmp_path)
    driver = FakeDriver(conf)
    return list(manage_chain.get_flow(conf, db_api.Database(conf), driver, notifier=None))


def test_the_chain_flow_records_before_it_renames_and_finishes_last(tmp_path: Path) -> None:
    assert [task.name for task in _flow(tmp_path)] == TASKS


def test_each_task_needs_only_what_the_store_or_an_earlier_task_gives(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    provided_by = {task.name: set(task.provides) for task in flow}
    assert provided_by["RecordChain"] == {single.SIZE, single.IDENTITY, manage_chain.LINKS}
    assert provided_by["QuotaReserve"] == {single.RESERVATION}
    assert provided_by["ManageChain"] == {manage_chain.CHAIN_LOCATIONS}
    available = {manage_chain.CONTEXT, manage_chain.VOLUME}
    for task in flow:
        assert set(task.requires) <= available, task.name
        available |= set(task.provides)


def test_the_volume_flow_tasks_it_shares_are_the_volume_flows(tmp_path: Path) -> None:
    shared = {"NotifyStart": single.NotifyStart, "QuotaReserve": single.QuotaReserve,
              "QuotaCommit": single.QuotaCommit}  # fmt: skip
    for task in _flow(tmp_path):
        if task.name in shared:
            assert type(task) is shared[task.name]
