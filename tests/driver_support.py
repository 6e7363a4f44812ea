"""Config and volume helpers shared by the driver tests and the bench."""

from pathlib import Path
from typing import Any

from oslo_config import cfg

from volmgr_common import conf as volmgr_conf


def make_conf(state_path: Path, **overrides: Any) -> cfg.ConfigOpts:
    """A fresh config; ``group__name=value`` overrides an option of a group."""
    conf = cfg.ConfigOpts()
    volmgr_conf.register_opts(conf)
    conf([], project="volmgr", default_config_files=[])
    conf.set_override("state_path", str(state_path))
    conf.set_override("directory", str(state_path / "files"), group="file_backend")
    conf.set_override("directory", str(state_path / "images"), group="image_backend")
    for key, value in overrides.items():
        group, separator, name = key.partition("__")
        conf.set_override(name, value, group=group if separator else None)
    return conf


def vol(volume_id: str, identity: str | None = None) -> dict[str, Any]:
    """The part of a volume row the drivers read; ``identity`` is the one RecordIdentity
    recorded (a resumed flow's volume holds it)."""
    return (
        {"id": volume_id} if identity is None else {"id": volume_id, "backend_identity": identity}
    )
