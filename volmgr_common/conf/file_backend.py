"""Options of the [file_backend] and [fake_backend] groups: the drivers' settings."""

from oslo_config import cfg

FILE_GROUP = cfg.OptGroup("file_backend", title="File driver options")
FAKE_GROUP = cfg.OptGroup("fake_backend", title="Fake driver options (tests only)")

FILE_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "directory",
        default="$state_path/files",
        help="Directory whose regular files the file driver manages. A reference "
        "names a file directly in it; nothing outside it is ever touched.",
    ),
    cfg.StrOpt(
        "pool_name",
        default="default",
        help="Name of the single pool the file driver reports.",
    ),
]

FAKE_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "pool_name",
        default="pool0",
        help="Name of the single pool the fake driver reports.",
    ),
    cfg.IntOpt(
        "total_capacity_gb",
        default=1000,
        min=0,
        help="Total capacity in GiB the fake driver reports.",
    ),
    cfg.IntOpt(
        "object_size_gb",
        default=1,
        min=0,
        help="Size in GiB of every object the fake driver pretends to hold, unless the "
        "reference carries 'size_gb'.",
    ),
    cfg.StrOpt(
        "fail_at",
        choices=["", "get_size", "manage", "undo_manage", "unmanage", "list"],
        default="",
        help="Step at which every call of the fake driver fails (empty: none).",
    ),
    cfg.FloatOpt(
        "delay",
        default=0.0,
        min=0.0,
        help="Seconds the fake driver sleeps in every step.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(FILE_GROUP.name, title=FILE_GROUP.title))
    conf.register_opts(FILE_OPTS, group=FILE_GROUP)
    conf.register_group(cfg.OptGroup(FAKE_GROUP.name, title=FAKE_GROUP.title))
    conf.register_opts(FAKE_OPTS, group=FAKE_GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(FILE_GROUP.name, FILE_OPTS), (FAKE_GROUP.name, FAKE_OPTS)]
