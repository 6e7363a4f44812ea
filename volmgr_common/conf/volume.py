"""Options of the [volume] group: which backend a volume service runs."""

from oslo_config import cfg

GROUP = cfg.OptGroup("volume", title="volmgr-volume options")

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "backend_name",
        default="files",
        help="Name of the backend this volume service runs. The service answers on "
        "'<host>@<backend_name>'.",
    ),
    cfg.StrOpt(
        "volume_driver",
        default="file",
        help="Driver of the backend: 'file' (raw files in a directory), 'image' (raw "
        "and qcow2 images in a directory, format read from the content), 'lvm' (logical "
        "volumes of a volume group) or 'fake' (an in-memory driver for tests; never for "
        "real data). A dotted path to a "
        "class that implements volmgr_volume.drivers.base.VolumeDriver is accepted too.",
    ),
    cfg.StrOpt(
        "volume_name_template",
        default="volume-%s",
        help="Template of the managed name an object gets on the backend; %s is the volume id.",
    ),
    cfg.StrOpt(
        "snapshot_name_template",
        default="snapshot-%s",
        help="Template of the managed name a snapshot object gets on the backend; %s is "
        "the snapshot id. LVM reserves names that start with 'snapshot': the LVM driver "
        "puts an underscore before such a name, as Cinder's does.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
