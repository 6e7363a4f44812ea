"""Functional tests: a claim is renewed only while its flow runs.

A flow that ends without finishing its row (its failure could not be recorded, the
database being away for a moment) leaves the row ``managing`` under its claim. The
same process no longer renews that claim, so its own recovery scan resumes the row
once it has been still for ``[recovery] stale_after`` seconds: no restart needed.
"""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from oslo_config import cfg

from tests.functional.stack import GIB, Stack, make_file
from volmgr_common import exception
from volmgr_common.db import volume_record, volume_recovery

STALE_AFTER = 1


@pytest.fixture
def stack_conf(conf_factory: Callable[..., cfg.ConfigOpts]) -> cfg.ConfigOpts:
    """Quick recovery: a scan every second, a claim stale after one."""
    return conf_factory(
        transport_url=f"kombu+memory:////{uuid.uuid4().hex}",
        api__bind_port=0,
        recovery__interval=1,
        recovery__stale_after=STALE_AFTER,
    )


def test_an_abandoned_claim_is_resumed_by_the_same_process(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_failure = volume_recovery.record_failure
    calls: list[str] = []

    def away_once(*args: Any, **kwargs: Any) -> bool:
        calls.append(args[1])
        if len(calls) == 1:
            raise exception.DatabaseUnavailable(attempts=1)
        return record_failure(*args, **kwargs)

    monkeypatch.setattr(volume_recovery, "record_failure", away_once)
    make_file(stack.files / "disk.img", GIB)
    accepted = stack.manage("disk.img", metadata={"_fault": "fail:QuotaCommit"})
    volume = stack.wait_terminal(accepted["id"], timeout=10 + 3 * STALE_AFTER)
    assert volume["status"] == volume_record.ERROR_MANAGING, volume
    assert calls == [accepted["id"], accepted["id"]], "resumed once, its failure then recorded"
    assert stack.listing() == ["disk.img"]
