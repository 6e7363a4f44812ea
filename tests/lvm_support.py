"""Scratch LVM volume groups on loop devices, for the LVM driver's tests and bench.

:class:`ScratchVolumeGroup` wraps ``tools/lvm-testvg.sh`` (the single source of the
set-up, which CI can also call by hand): a sparse file on a loop device, a PV and a
uniquely named VG, driven through an lvm.conf with ``activation = 0`` so that it
works without device-mapper. Teardown removes VG, PV, loop device and files, and
runs even when tests fail. A machine where this cannot work makes the tests fail
with :data:`FIX_HINT`, never skip.
"""

import contextlib
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "lvm-testvg.sh"
EXTENT = 4 * 1024**2
FIX_HINT = (
    "The LVM tests need root, loop devices and lvm2. Fix: run as root and "
    "`apt-get update && apt-get install -y lvm2`; check with `bash tools/lvm-testvg.sh "
    "check`; remove leftovers of killed runs with `bash tools/lvm-testvg.sh cleanup-stale`."
)


class LvmSetupError(RuntimeError):
    """The scratch VG could not be made; the message says how to fix the machine."""


class ScratchVolumeGroup:
    """A throw-away VG; use :func:`scratch_volume_group` to get one that is cleaned up."""

    def __init__(self, values: dict[str, str]) -> None:
        self.workdir = values["VOLMGR_LVM_WORKDIR"]
        self.conf_dir = values["LVM_SYSTEM_DIR"]
        self.loop = values["VOLMGR_LVM_LOOP"]
        self.name = values["VOLMGR_LVM_VG"]

    @classmethod
    def create(cls, size: str = "16G") -> "ScratchVolumeGroup":
        result = _script("create", size)
        values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        return cls(values)

    def destroy(self) -> None:
        _script("destroy", self.workdir)

    def lvm(self, *args: str) -> str:
        """stdout of ``lvm <args>`` run against this VG's lvm.conf."""
        env = dict(os.environ, LVM_SYSTEM_DIR=self.conf_dir, LVM_SUPPRESS_FD_WARNINGS="1")
        env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
        result = subprocess.run(["lvm", *args], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise LvmSetupError(f"lvm {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def create_lv(self, name: str, size_bytes: int) -> str:
        """Create LV ``name`` of ``size_bytes`` rounded up to 4 MiB; returns its uuid."""
        extents = max(1, -(-size_bytes // EXTENT))
        self.lvm("lvcreate", "-q", "-l", str(extents), "-n", name, self.name)
        return self.lvs()[name]["lv_uuid"]

    def lvs(self) -> dict[str, dict[str, Any]]:
        """Every LV of the VG by name: uuid, size in bytes, attr and tags."""
        output = self.lvm(
            "lvs", "--reportformat", "json", "--units", "b", "--nosuffix",
            "-o", "lv_name,lv_uuid,lv_size,lv_attr,lv_tags", self.name,
        )  # fmt: skip
        rows = json.loads(output)["report"][0]["lv"]
        return {row["lv_name"]: dict(row, lv_size=int(row["lv_size"])) for row in rows}

    def create_snapshot(self, name: str, origin: str, size_bytes: int) -> str:
        """Make LV ``name`` a classic snapshot of ``origin`` in the VG's metadata; its uuid.

        ``lvcreate -s`` needs device-mapper, which these VGs run without: the LV is
        created plain, then the metadata gets a hidden snapshot segment whose
        ``cow_store`` is that LV and whose ``origin`` is ``origin`` (restored with
        ``vgcfgrestore``), as LVM writes it for ``lvcreate -s``. ``lvs`` then shows
        ``name`` as a snapshot (``s``) of ``origin`` (``o``), of the origin's size as
        LVM reports a snapshot's, and ``lvrename`` renames either without breaking the
        link. ``size_bytes`` is the copy-on-write store's size.
        """
        uuid = self.create_lv(name, size_bytes)
        origin_extents = -(-self.lvs()[origin]["lv_size"] // EXTENT)
        backup = Path(self.workdir) / f"snapshot-{name}.vg"
        self.lvm("vgcfgbackup", "-q", "-f", str(backup), self.name)
        text = backup.read_text()
        index = 0
        while f"snapshot{index} {{" in text:
            index += 1
        segment = (
            f'\n\t\tsnapshot{index} {{\n\t\t\tid = "{_metadata_uuid(name, index)}"\n'
            '\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]\n\t\t\tflags = []\n'
            "\t\t\tsegment_count = 1\n\t\t\tsegment1 {\n\t\t\t\tstart_extent = 0\n"
            f"\t\t\t\textent_count = {origin_extents}\n"
            '\t\t\t\ttype = "snapshot"\n\t\t\t\tchunk_size = 8\n'
            f'\t\t\t\torigin = "{origin}"\n\t\t\t\tcow_store = "{name}"\n'
            "\t\t\t}\n\t\t}\n"
        )
        marker = "\tlogical_volumes {\n"
        at = text.index(marker) + len(marker)
        backup.write_text(text[:at] + segment + text[at:])
        self.lvm("vgcfgrestore", "-q", "-f", str(backup), self.name)
        return uuid

    def remove_all_lvs(self) -> None:
        if self.lvs():
            self.lvm("lvremove", "-q", "-ff", "-y", self.name)

    def driver_overrides(self) -> dict[str, str]:
        """Config overrides (``group__name``) that point the LVM driver at this VG."""
        return {
            "volume__volume_driver": "lvm",
            "lvm_backend__volume_group": self.name,
            "lvm_backend__lvm_conf_dir": self.conf_dir,
        }


def _metadata_uuid(name: str, index: int) -> str:
    """An LVM-style uuid (32 characters in 7 groups) for a hidden snapshot segment LV."""
    digest = hashlib.sha256(f"{name}:{index}:{os.getpid()}".encode()).hexdigest()
    chars = "".join(c for c in digest if c.isalnum())[:32]
    return "-".join((chars[:6], *(chars[6 + 4 * i : 10 + 4 * i] for i in range(5)), chars[26:32]))


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        message = f"{SCRIPT.name} {args[0]} could not run: {error}. {FIX_HINT}"
        raise LvmSetupError(message) from error
    if result.returncode != 0:
        raise LvmSetupError(f"{SCRIPT.name} {args[0]} failed: {result.stderr.strip()}. {FIX_HINT}")
    return result


@contextlib.contextmanager
def scratch_volume_group(size: str = "16G") -> Iterator[ScratchVolumeGroup]:
    """A scratch VG, destroyed on exit whatever happened."""
    vg = ScratchVolumeGroup.create(size)
    try:
        yield vg
    finally:
        vg.destroy()
