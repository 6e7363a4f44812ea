"""``volmgr_adoption_job_items``: a volume service reports its live adoption jobs'
progress, counted from the rows at each scrape, the way the Prometheus server reads it."""

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from tests.adoption_support import wait_job
from tests.functional.stack import Stack, make_file
from tests.functional.test_adoption_jobs import ADMIN, _adoption, _plan
from volmgr_common.db import adoption_jobs as jobs_db
from volmgr_volume import service as volume_service


def _scrape(stack: Stack) -> dict[tuple[str, str], float]:
    """``{(job, status): items}`` as the volume service's metrics show them."""
    [svc] = [s for s in stack.services if s.binary == volume_service.BINARY]
    registry = CollectorRegistry()
    for collector in svc.metrics_collectors:
        registry.register(collector)
    text = prometheus_client.generate_latest(registry).decode()
    samples: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "volmgr_adoption_job_items":
            for sample in family.samples:
                assert sample.labels["backend"] == stack.backend
                assert sample.labels["kind"] == jobs_db.ADOPT
                samples[(sample.labels["job"], sample.labels["status"])] = sample.value
    return samples


def test_a_live_job_shows_its_items_by_status_and_an_ended_one_none(stack: Stack) -> None:
    names = [f"metric-{n}.img" for n in range(4)]
    for name in names:
        make_file(stack.files / name, 1024 * 1024)
    assert _scrape(stack) == {}  # no job yet: no samples

    job = jobs_db.create_adopt_job(stack.db, _plan(stack, names), None, {"max_in_flight": 1})
    _adoption(stack).pause(ADMIN, job["id"])
    shown = _scrape(stack)
    assert shown == {(job["id"], status): 0.0 for status in jobs_db.ITEM_STATUSES} | {
        (job["id"], jobs_db.PENDING): 4.0
    }

    _adoption(stack).resume(ADMIN, job["id"])
    assert wait_job(stack.db, job["id"])["counters"]["available"] == 4
    assert _scrape(stack) == {}  # ended: its progress is in the job, not the metrics
