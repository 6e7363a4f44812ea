"""A chain adopted in one REST request, on real backends: an LV with two snapshot LVs
(real snapshot metadata on the scratch VG) and a qcow2 image with two overlays.

The three services run in-process on the backend's driver. ``POST os-volume-manage``
with ``with_snapshots`` makes the base a volume and each member a snapshot of it, in
order, each under its managed name, the relations between them intact (the snapshot
LVs' origin, the overlays' backing references). A failure injected after the driver
renamed the whole chain puts every object back under its original name, exactly as
it was (same uuid or inode, same origin or backing reference), and leaves the
volume and its two snapshots in error with no quota held.
"""

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fault_plugin import FaultPlugin
from tests.functional.rest.conftest import Rest, fresh_admin, running_stack, unique
from tests.image_support import qemu_img
from tests.lvm_support import ScratchVolumeGroup
from volmgr_common import hooks
from volmgr_common.db import chain_snapshots, quota_audit

MIB = 1024**2
BACKENDS = ("image", "lvm")


class Chains:
    """A stack on one backend, and how to make and read its chains."""

    def __init__(self, rest: Rest, vg: ScratchVolumeGroup | None) -> None:
        self.rest = rest
        self.vg = vg

    def make(self) -> str:
        """A base with two members in a line; the base's name."""
        tag = unique("c")
        if self.vg is not None:
            self.vg.create_lv(tag, 64 * MIB)
            for n in (1, 2):
                self.vg.create_snapshot(f"{tag}-snap{n}", tag, 8 * MIB)
            return tag
        directory = Path(self.rest.conf.image_backend.directory)
        names = [f"{tag}.qcow2", f"{tag}-o1.qcow2", f"{tag}-o2.qcow2"]
        qemu_img("create", "-q", "-f", "qcow2", str(directory / names[0]), "1G")
        for below, above in itertools.pairwise(names):
            qemu_img("create", "-q", "-f", "qcow2", "-b", below, "-F", "qcow2",
                     str(directory / above))  # fmt: skip
        return names[0]

    def state(self) -> dict[str, Any]:
        """Every object: its identity and what links it to the object below it."""
        if self.vg is not None:
            output = self.vg.lvm("lvs", "--noheadings", "--separator", "|", "-o",
                                 "lv_name,lv_uuid,origin", self.vg.name)  # fmt: skip
            rows = [line.strip().split("|") for line in output.splitlines() if line.strip()]
            return {name: (uuid, origin) for name, uuid, origin in rows}
        directory = Path(self.rest.conf.image_backend.directory)
        found = {}
        for path in sorted(directory.iterdir()):
            info = json.loads(qemu_img("info", "--output=json", "-U", str(path)))
            found[path.name] = (path.stat().st_ino, info.get("backing-filename"))
        return found


@pytest.fixture(scope="module", params=BACKENDS)
def chains(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Chains]:
    vg: ScratchVolumeGroup | None = None
    settings: dict[str, Any] = {"volume__volume_driver": "image"}
    if request.param == "lvm":
        vg = request.getfixturevalue("scratch_vg")
        vg.remove_all_lvs()
        settings = vg.driver_overrides()
    with running_stack(tmp_path_factory.mktemp(f"chains-{request.param}"), **settings) as rest:
        if vg is None:
            Path(rest.conf.image_backend.directory).mkdir(parents=True, exist_ok=True)
        yield Chains(rest, vg)
    if vg is not None:
        vg.remove_all_lvs()


def adopt(chains: Chains, base: str, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = chains.rest.manage_body(base, with_snapshots=True, **fields)
    response = chains.rest.call("POST", "os-volume-manage", body, headers=headers)
    assert response.status_int == 202, response.text
    return chains.rest.wait_status(response.json["volume"]["id"], headers=headers)


def test_a_chain_is_adopted_in_one_request(chains: Chains) -> None:
    headers = fresh_admin()
    base = chains.make()
    before = chains.state()
    volume = adopt(chains, base, headers)
    assert volume["status"] == "available", volume
    members = chain_snapshots.rows_of(chains.rest.db, volume["id"])
    assert len(members) == 2 and {m.snapshot["status"] for m in members} == {"available"}
    after = chains.state()
    located = [m.snapshot["provider_location"] for m in members]
    base_location = next(name for name in after if volume["id"] in name)
    for member, location in zip(members, located, strict=True):
        assert location in after
        assert after[location][0] == before[member.name][0]  # the same object
    below = [base_location, *located]
    if chains.vg is not None:  # every snapshot LV's origin is the renamed base
        assert {after[location][1] for location in located} == {base_location}
    else:  # each overlay's backing reference names the managed image below it
        assert [after[location][1] for location in located] == below[:2]
    assert base not in after and not set(before) & set(after)
    listed = chains.rest.call("GET", f"snapshots?volume_id={volume['id']}", headers=headers)
    assert len(listed.json["snapshots"]) == 2
    assert quota_audit.check(chains.rest.db) == []


def test_a_failure_after_the_renames_puts_the_chain_back(
    chains: Chains, fault_plugin: FaultPlugin
) -> None:
    headers = fresh_admin()
    base = chains.make()
    before = chains.state()
    fault = {"_fault": f"fail:{hooks.MANAGE_CHAIN_AFTER}"}
    volume = adopt(chains, base, headers, metadata=fault)
    assert volume["status"] == "error", volume
    assert chains.state() == before  # every name, identity and relation
    members = chain_snapshots.rows_of(chains.rest.db, volume["id"])
    assert [m.snapshot["status"] for m in members] == ["error_managing"] * 2
    assert quota_audit.check(chains.rest.db) == []
    usage = chains.rest.call("GET", f"os-quota-sets/{headers['X-Project-Id']}?usage=True",
                             headers=headers)  # fmt: skip
    in_use = {k: v["in_use"] for k, v in usage.json["quota_set"].items() if isinstance(v, dict)}
    assert {k: v for k, v in in_use.items() if v} == {}
