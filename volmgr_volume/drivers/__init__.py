"""Backend drivers and the loader that picks one from config."""

from oslo_config import cfg
from oslo_utils import importutils

from volmgr_volume.drivers.base import VolumeDriver

DRIVER_ALIASES = {
    "file": "volmgr_volume.drivers.file.FileDriver",
    "fake": "volmgr_volume.drivers.fake.FakeDriver",
    "lvm": "volmgr_volume.drivers.lvm.LvmDriver",
    "image": "volmgr_volume.drivers.image.ImageDriver",
}


def load_driver(conf: cfg.ConfigOpts) -> VolumeDriver:
    """Instantiate the driver that ``[volume] volume_driver`` names."""
    path = DRIVER_ALIASES.get(conf.volume.volume_driver, conf.volume.volume_driver)
    driver_cls = importutils.import_class(path)
    if not issubclass(driver_cls, VolumeDriver):
        raise TypeError(f"{path} is not a VolumeDriver")
    return driver_cls(conf)
