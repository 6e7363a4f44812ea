"""Options of the [DEFAULT] group: identity of the host, timing of services."""

import socket

from oslo_config import cfg

OPTS: list[cfg.Opt] = [
    cfg.IntOpt(
        "manage_batch_size",
        default=16,
        min=1,
        help="The most manage requests a daemon handles together. Requests that "
        "arrive while a batch is handled wait for the next one, which takes all of them "
        "(up to this many): volmgr-api writes their rows in one transaction and casts "
        "them to the scheduler in one message; the scheduler places them in one "
        "transaction and casts them to each backend in one message; volmgr-volume "
        "claims their rows, reserves and commits their quota and makes them available "
        "in one transaction per step. Validation, driver steps, failures, reverts and "
        "compensations stay per request. 1 handles every request alone. The RPC "
        "servers of volmgr-api and volmgr-volume run enough threads for two full "
        "batches.",
    ),
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<hostname>",
        help="Name of this node. A volume service registers itself as "
        "'<host>@<backend_name>', and manage requests name that target.",
    ),
    cfg.StrOpt(
        "cluster",
        help="Name of the cluster this volume service is a member of (unset: none). "
        "Volume services of several nodes that run the same backend (the same "
        "backend_name, over storage they share: a directory on a shared file system, "
        "a volume group on shared storage) form one cluster when they set the same "
        "name: the backend is then '<cluster>@<backend_name>', manage requests and "
        "listings may name it, and any live member answers them; a member's own "
        "'<host>@<backend_name>' leads to the cluster too. The members resume each "
        "other's interrupted requests once a claim has not been renewed for "
        "[recovery] stale_after seconds.",
    ),
    cfg.StrOpt(
        "state_path",
        default="/var/lib/volmgr",
        help="Directory where volmgr keeps its state: the embedded SQLite database and, "
        "for volmgr-all, the directory that the file backend manages.",
    ),
    cfg.IntOpt(
        "report_interval",
        default=10,
        min=1,
        max=3600,
        help="Seconds between two heartbeats of a service into the services table.",
    ),
    cfg.IntOpt(
        "service_down_time",
        default=60,
        min=1,
        help="A service whose last heartbeat is older than this many seconds is "
        "considered down: no request is sent to it. Must be larger than report_interval.",
    ),
    cfg.IntOpt(
        "capability_report_interval",
        default=30,
        min=1,
        max=3600,
        help="Seconds between two capability reports that a volume service fans out "
        "to the schedulers (it also reports once at start).",
    ),
    cfg.IntOpt(
        "periodic_retry_max_interval",
        default=60,
        min=1,
        max=3600,
        help="Seconds: the most a failing periodic task (a capability report while the "
        "schedulers or the broker are away, a recovery scan while the database is "
        "unavailable) waits between two log lines about it. A failure is logged as one "
        "line saying what failed, why and when it runs again, when the failures in a row "
        "reach 1, 2, 4, 8, ... and at least this often; the capability report also waits "
        "twice as long after each failure, up to this many seconds, and goes back to "
        "capability_report_interval once it works again. Heartbeats and recovery scans "
        "keep their interval.",
    ),
    cfg.FloatOpt(
        "graceful_shutdown_timeout",
        default=10.0,
        min=1.0,
        max=3600.0,
        help="Seconds a daemon may take to stop after SIGTERM or SIGINT: the RPC servers "
        "stop taking messages and finish the ones in hand, recovery flows finish, the "
        "message transports and the database close. Past it the daemon exits anyway, "
        "with a warning; every flow is recorded step by step, so one cut short resumes "
        "or reverts at the next start, as after a crash.",
    ),
    cfg.StrOpt(
        "storage_availability_zone",
        default="nova",
        help="Availability zone of the volume services on this node, and the zone a "
        "manage request gets when it names none.",
    ),
    cfg.StrOpt(
        "default_volume_type",
        default="__DEFAULT__",
        help="Name of the volume type given to a managed volume when the request names "
        "none. It is created on first use if it does not exist.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, OPTS)]
