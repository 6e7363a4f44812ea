"""Options of the [metrics] group: Prometheus metrics, off unless asked for."""

from oslo_config import cfg

GROUP = cfg.OptGroup("metrics", title="Prometheus metrics")

OPTS: list[cfg.Opt] = [
    cfg.BoolOpt(
        "enabled",
        default=False,
        help="Serve Prometheus metrics: manages by outcome, manage flow latency, "
        "REST requests by method and status with their latency, requests and flows "
        "in flight, and (on RabbitMQ) the number of messages waiting in the "
        "daemon's RPC queues. Each daemon serves them on bind_host:port; a WSGI "
        "server's workers serve them on the API's own port under path.",
    ),
    cfg.HostAddressOpt(
        "bind_host",
        default="127.0.0.1",
        help="Address on which a daemon serves its metrics.",
    ),
    cfg.PortOpt(
        "port",
        default=9776,
        help="TCP port on which a daemon serves its metrics (at any path). Daemons on "
        "one host need a port each: give each its own in its config file. 0 picks a "
        "free port, which the daemon logs.",
    ),
    cfg.StrOpt(
        "path",
        default="/metrics",
        regex=r"^/[A-Za-z0-9_/.-]*$",
        help="Path of the metrics on the REST API's port when a WSGI server "
        "(volmgr_api.wsgi) serves the API, answered without identity. With several "
        "worker processes, set the environment variable PROMETHEUS_MULTIPROC_DIR to "
        "an empty directory so that every worker's counts are added up.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
