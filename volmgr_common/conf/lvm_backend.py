"""Options of the [lvm_backend] group: the LVM driver's volume group and commands."""

from oslo_config import cfg

GROUP = cfg.OptGroup("lvm_backend", title="LVM driver options")

OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "volume_group",
        default="volmgr-volumes",
        regex=r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}$",
        help="Volume group whose logical volumes the LVM driver manages. A reference "
        "names a logical volume of this group; nothing outside it is ever touched.",
    ),
    cfg.StrOpt(
        "root_helper",
        default="",
        help="Command put in front of every LVM command to run it as root, for example "
        "'sudo' or 'sudo volmgr-rootwrap /etc/volmgr/rootwrap.conf'. Empty runs the "
        "commands directly, which needs a service running as root.",
    ),
    cfg.StrOpt(
        "lvm_conf_dir",
        default="",
        help="Directory holding the lvm.conf every LVM command uses (it is passed as "
        "LVM_SYSTEM_DIR). Empty keeps the system's configuration. Tests use it for an "
        "lvm.conf with 'activation = 0' on machines without device-mapper.",
    ),
    cfg.StrOpt(
        "pool_name",
        default="",
        help="Name of the single pool the LVM driver reports. Empty reports the volume "
        "group's name.",
    ),
    cfg.StrOpt(
        "shared_lock_path",
        default="",
        help="Directory, on a file system every member of the cluster mounts and that "
        "supports POSIX (fcntl) locks across hosts (NFSv4, CephFS, GFS2, ...), where "
        "the driver takes a file lock around the checks and the rename of each "
        "request, so that volume services of several hosts that manage one volume "
        "group on shared storage ([DEFAULT] cluster) never rename in it at the same "
        "time. Empty: the lock is held within this process only, enough for a "
        "volume group that one volume service manages. The volume group itself must "
        "still be a shared VG of lvmlockd (or be changed by one host at a time) for "
        "LVM's own metadata to stay consistent across hosts.",
    ),
    cfg.IntOpt(
        "command_timeout",
        default=120,
        min=1,
        max=3600,
        help="Seconds an LVM command may run before it is killed and the call fails.",
    ),
    cfg.FloatOpt(
        "report_max_age",
        default=5.0,
        min=0.0,
        max=60.0,
        help="Seconds the LVM driver may check a request (its size, its identity, and "
        "before the rename) against the volume group's latest report instead of reading "
        "it again, so that close requests share one read. A refusal is always checked on "
        "a fresh read, and every rename is checked on a read made after it (the LV's "
        "uuid, kind and state), whatever this is. 0 reads the volume group for every "
        "check.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cfg.OptGroup(GROUP.name, title=GROUP.title))
    conf.register_opts(OPTS, group=GROUP.name)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(GROUP.name, OPTS)]
