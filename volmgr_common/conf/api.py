"""Options of the [api] group: limits on manage requests, the REST API's built-in server.

The built-in server (cheroot) serves the REST API inside volmgr-api and volmgr-all;
``bind_host``, ``bind_port``, ``threads`` and ``backlog`` are its options and mean
nothing to an API served by a WSGI server (gunicorn, uwsgi), which has its own.
The middleware's options are oslo.middleware's (``volmgr_common.conf.middleware``).
"""

from oslo_config import cfg

from volmgr_common.limits import STRING_WIDTH

GROUP = cfg.OptGroup("api", title="volmgr-api options")

OPTS: list[cfg.Opt] = [
    cfg.IntOpt(
        "max_name_length",
        default=STRING_WIDTH,
        min=1,
        max=STRING_WIDTH,
        mutable=True,
        help="Longest volume name, in characters, that a manage request may give, over "
        f"REST and RPC alike. At most {STRING_WIDTH}, the width of the name column.",
    ),
    cfg.IntOpt(
        "max_description_length",
        default=STRING_WIDTH,
        min=1,
        max=STRING_WIDTH,
        mutable=True,
        help="Longest volume description, in characters, that a manage request may give, "
        f"over REST and RPC alike. At most {STRING_WIDTH}, the width of the description "
        "column.",
    ),
    cfg.IntOpt(
        "max_metadata_items",
        default=128,
        min=0,
        mutable=True,
        help="Largest number of metadata items a manage request may carry.",
    ),
    cfg.IntOpt(
        "max_list_limit",
        default=1000,
        min=1,
        mutable=True,
        help="Largest number of items one listing returns: volumes (REST and the "
        "list_volumes RPC call), volume types, manageable objects and user messages "
        "(Cinder's osapi_max_limit). A request that asks for more, or names no limit, "
        "gets this many.",
    ),
    cfg.BoolOpt(
        "builtin_server",
        default=True,
        help="Whether volmgr-api serves the REST API itself, with its built-in server on "
        "bind_host:bind_port. Set it to false on a host where a WSGI server (gunicorn, "
        "uwsgi: volmgr_api.wsgi) serves the REST API: volmgr-api then runs only its RPC "
        "server, heartbeat and recovery scans, which the WSGI workers do not run. "
        "volmgr-all always serves REST.",
    ),
    cfg.HostAddressOpt(
        "bind_host",
        default="127.0.0.1",
        help="Address on which the built-in REST server of volmgr-api (and volmgr-all) "
        "listens; a WSGI server (gunicorn, uwsgi) binds where its own options say. "
        "The default serves this host only; use 0.0.0.0 (or ::) to serve every interface, behind a "
        "TLS-terminating proxy when the network is not trusted.",
    ),
    cfg.PortOpt(
        "bind_port",
        default=8776,
        help="TCP port of the built-in REST server (8776 is the port of the OpenStack Block "
        "Storage API, so that Cinder clients find it where they expect it). One "
        "volmgr-api process listens on a host and port: a second one that finds the "
        "port taken fails to start. 0 picks a free port at start, which tests use.",
    ),
    cfg.IntOpt(
        "threads",
        default=8,
        min=1,
        max=256,
        deprecated_name="workers",
        help="Number of threads of the built-in REST server that handle requests at "
        "once in each volmgr-api process (one process; the threads share its "
        "interpreter). A request waiting for the database or for an RPC answer holds "
        "its thread, so raise this when many clients list manageable volumes at "
        "once. Connections beyond this many wait, accepted, until a thread is free (see backlog).",
    ),
    cfg.IntOpt(
        "backlog",
        default=128,
        min=1,
        max=65535,
        help="Length of the built-in REST server's listen queue: how many connections the "
        "kernel completes and holds for volmgr-api before it accepts them. When more "
        "clients than this connect in the same instant, the kernel drops their "
        "handshakes and a client may see its connection reset or delayed by a "
        "second or more; the default serves a burst of 128 clients at once. The "
        "kernel caps it at net.core.somaxconn (4096 on current Linux).",
    ),
    cfg.IntOpt(
        "broker_retries",
        default=3,
        min=0,
        max=100,
        help="How many times volmgr-api tries again to reach the message bus for one "
        "message of a request (the cast of a manage to a scheduler, of an unmanage to a "
        "volume service, the call of a manageable listing) before it gives up and "
        "answers 503 MessagingUnavailable; a manage refused so leaves no volume row. "
        "Its notifications (unmanage, delete) give up after as many retries too, and "
        "are then dropped with a logged error rather than holding the request. "
        "oslo.messaging waits [oslo_messaging_rabbit] rabbit_retry_interval seconds "
        "before the first retry, rabbit_retry_backoff more before each next one: at "
        "the defaults (1 and 2) three retries take about 9 seconds. A broker refusing "
        "the connection outright (its virtual host gone) is answered at once. 0 gives "
        "up after the first attempt.",
    ),
    cfg.StrOpt(
        "auth_strategy",
        default="noauth",
        choices=[
            (
                "noauth",
                "Trust the identity the client names: X-User-Id and X-Project-Id "
                "(or an X-Auth-Token of the form 'user:project') and X-Roles. For a "
                "trusted network or tests only.",
            ),
            (
                "keystone",
                "Validate tokens with keystonemiddleware (an optional "
                "dependency: pip install keystonemiddleware) configured in "
                "[keystone_authtoken].",
            ),
        ],
        help="How the REST API learns who is calling. With noauth a caller is an admin "
        "when its user id is 'admin' or its roles include 'admin'.",
    ),
    cfg.FloatOpt(
        "healthcheck_timeout",
        default=2.0,
        min=0.1,
        max=60.0,
        help="Seconds that each probe of /healthcheck (the database, then each host "
        "of the message bus) may take before it counts as unreachable and the check "
        "answers 503. The largest request body the REST API reads is "
        "[oslo_middleware] max_request_body_size; which probes run is "
        "[healthcheck] backends.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
