"""Options of the [adoption] group: plans of adopting a whole backend, and the jobs
that apply them (pacing per backend)."""

from oslo_config import cfg

GROUP = cfg.OptGroup("adoption", title="Adoption of whole backends")

MAX_IN_FLIGHT_LIMIT = 10000
"""The largest ``max_in_flight`` an option or a job may ask for."""

OPTS: list[cfg.Opt] = [
    cfg.IntOpt(
        "plan_ttl",
        default=3600,
        min=60,
        max=30 * 86400,
        help="Seconds an adoption plan stays valid after it is made (database clock). "
        "An expired plan can still be shown but no longer applied: the backend may have "
        "changed since it was read, so make a new plan.",
    ),
    cfg.IntOpt(
        "plan_timeout",
        default=300,
        min=10,
        max=3600,
        help="Seconds volmgr-api waits for the volume service to answer a plan request. "
        "Planning reads the whole backend, checks every object against the database and "
        "writes every item; 100,000 objects take about ten seconds on a local file "
        "backend and PostgreSQL, far more on a slow backend or database.",
    ),
    cfg.IntOpt(
        "plan_insert_chunk",
        default=5000,
        min=100,
        max=100000,
        help="Plan items written per INSERT statement (several statements, one "
        "transaction: a plan is stored whole or not at all).",
    ),
    cfg.IntOpt(
        "max_plan_objects",
        default=1000000,
        min=1,
        help="Most objects one plan may hold after its filters; a larger selection is "
        "refused (narrow it with a name glob or a size range).",
    ),
    cfg.IntOpt(
        "max_in_flight",
        default=500,
        min=1,
        max=MAX_IN_FLIGHT_LIMIT,
        help="The most objects of one backend that adoption jobs manage at the same "
        "time, all jobs of the backend together. A job may ask for fewer with its own "
        "max_in_flight, never for more: its items are managed in batches of at most "
        "the smaller of the two, so that a backend is never flooded by an adoption.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
