"""Prometheus metrics of the daemons and the REST API (prometheus-client), opt-in.

The metrics are counted in every process, in memory; ``[metrics] enabled`` decides
whether a process serves them:

* ``volmgr_manages_total{stage, outcome}``: manage requests by where they were
  decided and how: ``stage="api"`` ``accepted`` (row written, sent on) or
  ``refused``; ``stage="volume"`` ``available``, ``error_managing`` or
  ``taken_over`` (another process owns the flow now);
* ``volmgr_manage_flow_seconds``: time of a volume service's manage flow, per
  request (the batch's time for each request of a batch);
* ``volmgr_manage_flows_in_flight``: manage flows a volume service runs now;
* ``volmgr_api_requests_total{method, status}``, ``volmgr_api_request_seconds{method}``
  and ``volmgr_api_requests_in_flight``: the REST API's requests;
* ``volmgr_rpc_queue_messages{queue}``: messages waiting in the process's RPC
  queues, read from RabbitMQ at each scrape (a passive queue declaration over a
  short-lived connection); absent on the in-process transports;
* ``volmgr_adoption_job_items{job, kind, backend, status}``: the items of each live
  adoption job (running, paused, cancelling) of a volume service's backend, by
  status (``pending``, ``managing``, ``available``, ``skipped``, ``stale``,
  ``failed``, ``undone``), counted from the database at each scrape. A job's
  progress is its items not ``pending`` or ``managing`` over all of them; a job that
  has ended has no samples. Every member of a cluster reports its cluster's jobs,
  so take ``max by (job, status)`` over the members.

A daemon serves them on ``[metrics] bind_host:port`` (:class:`MetricsServer`); a
WSGI server's workers under ``[metrics] path`` on the API's port (:func:`wsgi_app`).
"""

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import oslo_messaging as messaging
import prometheus_client
from oslo_config import cfg
from oslo_log import log as logging
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from volmgr_common import rpc

LOG = logging.getLogger(__name__)

MANAGES = prometheus_client.Counter(
    "volmgr_manages", "Manage requests by stage and outcome.", ["stage", "outcome"]
)
FLOW_SECONDS = prometheus_client.Histogram(
    "volmgr_manage_flow_seconds",
    "Time of a volume service's manage flow, per request.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FLOWS_IN_FLIGHT = prometheus_client.Gauge(
    "volmgr_manage_flows_in_flight",
    "Manage flows running in this volume service.",
    multiprocess_mode="livesum",
)
API_REQUESTS = prometheus_client.Counter(
    "volmgr_api_requests", "REST requests by method and status.", ["method", "status"]
)
API_SECONDS = prometheus_client.Histogram(
    "volmgr_api_request_seconds", "Time to answer a REST request.", ["method"]
)
API_IN_FLIGHT = prometheus_client.Gauge(
    "volmgr_api_requests_in_flight",
    "REST requests being answered.",
    multiprocess_mode="livesum",
)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def manage_flows(count: int) -> Iterator[None]:
    """Count ``count`` flows in flight and their time, each, while the block runs."""
    FLOWS_IN_FLIGHT.inc(count)
    started = time.monotonic()
    try:
        yield
    finally:
        FLOWS_IN_FLIGHT.dec(count)
        elapsed = time.monotonic() - started
        for _ in range(count):
            FLOW_SECONDS.observe(elapsed)


@contextmanager
def api_request(method: str) -> Iterator[dict[str, int]]:
    """Count a REST request in flight and its time; the caller sets ``status``."""
    answer = {"status": 0}
    API_IN_FLIGHT.inc()
    started = time.monotonic()
    try:
        yield answer
    finally:
        API_IN_FLIGHT.dec()
        API_SECONDS.labels(method).observe(time.monotonic() - started)
        API_REQUESTS.labels(method, str(answer["status"] or 500)).inc()


class QueueDepthCollector(Collector):
    """``volmgr_rpc_queue_messages``: messages waiting in RabbitMQ queues, read on scrape."""

    def __init__(self, conf: cfg.ConfigOpts, queues: Iterable[str]) -> None:
        self._conf = conf
        self._url = messaging.TransportURL.parse(conf, conf.transport_url)
        self._queues = sorted(set(queues))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "volmgr_rpc_queue_messages", "Messages waiting in an RPC queue.", labels=["queue"]
        )
        if self._url.transport == "rabbit" and self._url.hosts:
            for queue, count in self._depths():
                family.add_metric([queue], count)
        yield family

    def _depths(self) -> list[tuple[str, int]]:
        host = self._url.hosts[0]
        connection = rpc.broker_connection(self._conf, self._url, host, timeout=2)
        depths = []
        try:
            for queue in self._queues:
                channel = connection.channel()  # a missing queue closes its channel
                try:
                    declared = channel.queue_declare(queue=queue, passive=True)
                    depths.append((queue, int(declared.message_count)))
                except Exception as error:  # absent queue, broker away: no sample
                    LOG.debug("No depth for queue %s: %s", queue, error)
                finally:
                    _close_quietly(channel)
        except Exception as error:
            LOG.debug("Queue depths unavailable: %s", error)
        finally:
            connection.release()
        return depths


class AdoptionProgressCollector(Collector):
    """``volmgr_adoption_job_items``: the live adoption jobs' items by status, read on
    scrape from ``read`` (``volmgr_common.db.adoption_jobs.live_progress`` of the
    service's backends)."""

    def __init__(self, read: Callable[[], Iterable[dict[str, Any]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "volmgr_adoption_job_items",
            "Items of a live adoption job by status.",
            labels=["job", "kind", "backend", "status"],
        )
        try:
            jobs = list(self._read())
        except Exception as error:  # the database away: no samples this scrape
            LOG.warning("Adoption progress unavailable: %s", error)
            jobs = []
        for job in jobs:
            for status, count in job["counters"].items():
                family.add_metric([job["id"], job["kind"], job["backend"], status], count)
        yield family


def _close_quietly(channel: Any) -> None:
    try:
        channel.close()
    except Exception as error:  # a channel the broker closed already
        LOG.debug("Closing a metrics channel: %s", error)


def registry_for_workers() -> CollectorRegistry:
    """The registry a WSGI worker serves: all workers' counts with PROMETHEUS_MULTIPROC_DIR
    set (prometheus-client's multiprocess mode), else this process's."""
    if not os.environ.get(MULTIPROC_ENV):
        return prometheus_client.REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def wsgi_app() -> Any:
    """The metrics as a WSGI app (text exposition format)."""
    return prometheus_client.make_wsgi_app(registry_for_workers())


class MetricsServer:
    """A daemon's metrics on ``[metrics] bind_host:port`` in a thread, with its RPC
    queues' depths and the ``collectors`` of its services."""

    def __init__(
        self, conf: cfg.ConfigOpts, queues: Iterable[str], collectors: Iterable[Collector] = ()
    ) -> None:
        self._conf = conf.metrics
        self._collectors = [QueueDepthCollector(conf, queues), *collectors]
        self._server: Any = None

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> None:
        for collector in self._collectors:
            prometheus_client.REGISTRY.register(collector)
        self._server, _thread = prometheus_client.start_http_server(
            self._conf.port, addr=self._conf.bind_host
        )
        LOG.info("Metrics served on http://%s:%d/", self._conf.bind_host, self.port)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        for collector in self._collectors:
            prometheus_client.REGISTRY.unregister(collector)
