"""Options of the [image_backend] group: the image-file driver's directory and formats."""

from oslo_config import cfg, types

GROUP = cfg.OptGroup("image_backend", title="Image-file driver options")

FORMATS = ("raw", "qcow2")

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "directory",
        default="$state_path/images",
        help="Directory whose disk image files the image driver manages. A reference "
        "names a file directly in it; nothing outside it is ever touched.",
    ),
    cfg.StrOpt(
        "pool_name",
        default="default",
        help="Name of the single pool the image driver reports.",
    ),
    cfg.ListOpt(
        "allowed_formats",
        item_type=types.String(choices=FORMATS),
        default=list(FORMATS),
        help="Image formats the driver accepts, detected from each file's content and "
        "never from its name. Images of any other format are refused.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP.name)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
