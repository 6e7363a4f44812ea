"""Orphans and their re-adoption over REST, on the file, image and LVM backends.

A volume whose row is deleted from the database (as a restore of an older copy
forgets it) leaves its object under its managed name: an audit (``POST os-audit``)
finds it, ``GET os-orphans`` lists it, paged, with what the backend records, and
``os-readopt`` brings it back under the same volume id and project, without
renaming it, with quota charged — so that the invariants of docs/design.rst hold
again: quota equals the truth, one row per object, nothing renamed.
"""

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.rest.conftest import (
    GIB,
    Rest,
    forget,
    fresh_admin,
    fresh_member,
    running_stack,
)
from tests.image_support import qcow2_header, write_image
from tests.lvm_support import LvmSetupError, ScratchVolumeGroup
from volmgr_common import exception, hooks
from volmgr_common.context import get_admin_context
from volmgr_common.db import quota, quota_audit
from volmgr_volume.drivers import file_marks

BACKENDS = ("file", "image", "lvm")
SMALL = GIB // 16
"""A size that keeps the module's scratch VG from filling up (still one GiB of quota)."""


class OrphanStack:
    """A REST stack on one backend, and how to make and look at its objects."""

    def __init__(self, rest: Rest, kind: str, vg: ScratchVolumeGroup | None) -> None:
        self.rest = rest
        self.kind = kind
        self.vg = vg
        self.directory = Path(rest.conf[f"{kind}_backend"].directory) if vg is None else None

    def make(self, size: int = GIB) -> str:
        """A new object of ``size`` bytes; its name."""
        name = f"disk-{uuid.uuid4().hex[:12]}"
        if self.vg is not None:
            self.vg.create_lv(name, size)
        elif self.kind == "image":
            assert self.directory is not None
            write_image(self.directory / name, qcow2_header(size), 256 * 1024)
        else:
            assert self.directory is not None
            with open(self.directory / name, "wb") as handle:
                handle.truncate(size)
        return name

    def identity(self, name: str) -> str | None:
        """The object's identity as the backend shows it, None if no object has the name."""
        if self.vg is not None:
            found = self.vg.lvs().get(name)
            return None if found is None else found["lv_uuid"]
        assert self.directory is not None
        try:
            st = os.lstat(self.directory / name)
        except FileNotFoundError:
            return None
        return f"{st.st_dev}:{st.st_ino}"

    def rename(self, old: str, new: str) -> None:
        """Rename an object by hand, as an operator would."""
        if self.vg is not None:
            self.vg.lvm("lvrename", self.vg.name, old, new)
        else:
            assert self.directory is not None
            os.rename(self.directory / old, self.directory / new)

    def manage(self, headers: dict[str, str], name: str) -> dict[str, Any]:
        response = self.rest.call(
            "POST", "os-volume-manage", self.rest.manage_body(name), headers=headers
        )
        assert response.status_int == 202, response.text
        volume = self.rest.wait_status(response.json["volume"]["id"], headers=headers)
        assert volume["status"] == "available", volume
        return volume

    def audit(self) -> dict[str, Any]:
        response = self.rest.call("POST", "os-audit", {"audit": {"host": self.rest.backend}})
        assert response.status_int == 200, response.text
        return response.json["audit"]

    def listed(self, query: str = "") -> Any:
        return self.rest.call("GET", f"os-orphans?host={self.rest.backend}{query}")

    def orphans(self) -> dict[str, dict[str, Any]]:
        """What an audit run now finds, as ``GET os-orphans`` lists it."""
        self.audit()
        response = self.listed()
        assert response.status_int == 200, response.text
        return {orphan["name"]: orphan for orphan in response.json["orphans"]}

    def readopt(self, name: str, **fields: str) -> Any:
        body = {"os-readopt": {"host": self.rest.backend, "name": name, **fields}}
        return self.rest.call("POST", "os-orphans/action", body)


def lvm_settings(tmp_path: Path) -> Iterator[tuple[dict[str, Any], ScratchVolumeGroup]]:
    try:
        vg = ScratchVolumeGroup.create("64G")  # sparse; the module's LVs outgrew 16 GiB
    except LvmSetupError as error:
        pytest.fail(f"cannot set up the LVM test volume group: {error}", pytrace=False)
    try:
        yield dict(vg.driver_overrides()), vg
    finally:
        vg.destroy()


@pytest.fixture(scope="module", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OrphanStack]:
    tmp_path = tmp_path_factory.mktemp(f"orphans-{request.param}")
    if request.param != "lvm":
        settings = {
            "volume__volume_driver": request.param,
            "image_backend__directory": str(tmp_path / "images"),
        }
        with running_stack(tmp_path, **settings) as rest:
            yield OrphanStack(rest, request.param, None)
        return
    for settings, vg in lvm_settings(tmp_path):
        with running_stack(tmp_path, **settings) as rest:
            yield OrphanStack(rest, "lvm", vg)


def records_project(stack: OrphanStack) -> bool:
    """Whether the backend records the project a volume was managed for."""
    return stack.kind != "lvm"


def test_a_forgotten_volume_is_an_orphan_with_what_the_backend_records(
    stack: OrphanStack,
) -> None:
    admin = fresh_admin()
    name = stack.make(GIB + 1)
    volume = stack.manage(admin, name)
    managed = f"volume-{volume['id']}"
    assert managed not in stack.orphans(), "a volume with a row is no orphan"
    forget(stack.rest, volume["id"])
    orphan = stack.orphans()[managed]
    assert orphan["volume_id"] == volume["id"]
    assert orphan["identity"] == stack.identity(managed)
    assert orphan["size"] == 2
    if records_project(stack):
        assert orphan["project_id"] == admin["X-Project-Id"]
        assert orphan["original_name"] == name
    else:
        assert orphan["project_id"] is None  # LVM records no project


def test_readoption_keeps_id_project_and_name_and_charges_quota(stack: OrphanStack) -> None:
    admin = fresh_admin()
    project = admin["X-Project-Id"]
    volume = stack.manage(admin, stack.make(2 * GIB))
    managed = f"volume-{volume['id']}"
    identity = stack.identity(managed)
    forget(stack.rest, volume["id"])
    usage = stack.rest.api.quota_usage(get_admin_context(), project)
    assert usage["volumes"]["in_use"] == 0
    fields = {} if records_project(stack) else {"project_id": project}
    response = stack.readopt(managed, **fields)
    assert response.status_int == 202, response.text
    assert response.json["volume"]["id"] == volume["id"]
    back = stack.rest.wait_status(volume["id"])
    assert back["status"] == "available", back
    assert back["os-vol-tenant-attr:tenant_id"] == project
    assert back["size"] == 2
    assert stack.identity(managed) == identity, "re-adopted where it stands, not renamed"
    origin = back["os-vol-provenance-attr:provenance"]
    assert origin["readopted"] is True
    assert (origin["user_id"], origin["project_id"]) == ("admin", project)
    assert origin["backend_identity"] == identity
    assert managed not in stack.orphans()
    assert quota_audit.check(stack.rest.db) == []
    usage = stack.rest.api.quota_usage(get_admin_context(), project)
    assert (usage["volumes"]["in_use"], usage["gigabytes"]["in_use"]) == (1, 2)


def test_an_object_already_managed_is_refused(stack: OrphanStack) -> None:
    admin = fresh_admin()
    volume = stack.manage(admin, stack.make())
    managed = f"volume-{volume['id']}"
    response = stack.readopt(managed, project_id=admin["X-Project-Id"])
    assert response.status_int == 409, response.text
    assert volume["id"] in response.json["conflictingRequest"]["message"]
    forget(stack.rest, volume["id"])
    fields = {} if records_project(stack) else {"project_id": admin["X-Project-Id"]}
    assert stack.readopt(managed, **fields).status_int == 202
    again = stack.readopt(managed, **fields)
    assert again.status_int == 409, again.text  # one row per object
    assert stack.rest.wait_status(volume["id"])["status"] == "available"
    assert quota_audit.check(stack.rest.db) == []


def test_a_failed_readoption_renames_nothing_and_holds_no_quota(stack: OrphanStack) -> None:
    admin = fresh_admin()
    project = admin["X-Project-Id"]
    volume = stack.manage(admin, stack.make(3 * GIB))
    managed = f"volume-{volume['id']}"
    identity = stack.identity(managed)
    forget(stack.rest, volume["id"])
    quota.set_limit(stack.rest.db, project, "gigabytes", 2)  # the volume needs 3
    fields = {} if records_project(stack) else {"project_id": project}
    assert stack.readopt(managed, **fields).status_int == 202
    failed = stack.rest.wait_status(volume["id"])
    assert failed["status"] == "error", failed
    assert stack.identity(managed) == identity, "nothing renamed"
    usage = stack.rest.api.quota_usage(get_admin_context(), project)
    assert (usage["volumes"]["in_use"], usage["gigabytes"]["in_use"]) == (0, 0)
    assert quota_audit.check(stack.rest.db) == []
    # The record of the failure hides the orphan until it is deleted; then it is
    # re-adopted once the quota allows it.
    assert managed not in stack.orphans()
    assert stack.rest.call("DELETE", f"volumes/{volume['id']}").status_int == 202
    assert managed in stack.orphans()
    quota.set_limit(stack.rest.db, project, "gigabytes", 10)
    assert stack.readopt(managed, **fields).status_int == 202
    assert stack.rest.wait_status(volume["id"])["status"] == "available"
    assert quota_audit.check(stack.rest.db) == []


def test_an_unmanaged_volume_can_be_readopted(stack: OrphanStack) -> None:
    admin = fresh_admin()
    volume = stack.manage(admin, stack.make())
    managed = f"volume-{volume['id']}"
    response = stack.rest.call("POST", f"volumes/{volume['id']}/action", {"os-unmanage": None})
    assert response.status_int == 202, response.text
    assert stack.rest.wait_status(volume["id"], leave="unmanaging")["status"] == "gone"
    orphan = stack.orphans()[managed]  # unmanage leaves the object in managed form
    assert orphan["released_at"], "marked as let go by the unmanage"
    assert any(mark.endswith(f"={orphan['released_at']}") for mark in orphan["marks"])
    fields = {} if records_project(stack) else {"project_id": admin["X-Project-Id"]}
    assert stack.readopt(managed, **fields).status_int == 202, "by name, a released one too"
    back = stack.rest.wait_status(volume["id"])
    assert (back["status"], back["os-vol-tenant-attr:tenant_id"]) == (
        "available",
        admin["X-Project-Id"],
    )
    assert back["os-vol-provenance-attr:provenance"]["readopted"] is True
    forget(stack.rest, volume["id"])
    again = stack.orphans()[managed]
    assert again["released_at"] is None, "the re-adoption cleared the release mark"
    assert again["identity"] == orphan["identity"]


def unmanage(stack: OrphanStack, volume_id: str) -> None:
    response = stack.rest.call("POST", f"volumes/{volume_id}/action", {"os-unmanage": None})
    assert response.status_int == 202, response.text
    assert stack.rest.wait_status(volume_id, leave="unmanaging")["status"] == "gone"


def released_and_renamed(stack: OrphanStack, admin: dict[str, str]) -> tuple[str, str, str]:
    """A volume managed, unmanaged (released) and its object renamed by hand to a plain
    name: its id, the release time the audit saw, the plain name."""
    first = stack.manage(admin, stack.make(SMALL))
    unmanage(stack, first["id"])
    released_at = stack.orphans()[f"volume-{first['id']}"]["released_at"]
    assert released_at
    plain = f"disk-{uuid.uuid4().hex[:12]}"
    stack.rename(f"volume-{first['id']}", plain)
    return first["id"], released_at, plain


def test_a_released_object_renamed_and_managed_again_is_no_longer_released(
    stack: OrphanStack,
) -> None:
    admin = fresh_admin()
    _, _, plain = released_and_renamed(stack, admin)
    second = stack.manage(admin, plain)
    forget(stack.rest, second["id"])
    orphan = stack.orphans()[f"volume-{second['id']}"]
    assert orphan["released_at"] is None, "managed again: the old release mark is gone"


def test_an_ordinary_manage_of_a_released_object_fails_and_keeps_the_mark(
    stack: OrphanStack,
) -> None:
    admin = fresh_admin()
    volume = stack.manage(admin, stack.make(SMALL))
    unmanage(stack, volume["id"])
    managed = f"volume-{volume['id']}"
    identity = stack.identity(managed)
    body = stack.rest.manage_body(managed)
    response = stack.rest.call("POST", "os-volume-manage", body, headers=admin)
    assert response.status_int == 202, response.text
    failed = stack.rest.wait_status(response.json["volume"]["id"], headers=admin)
    assert failed["status"] == "error", "a name in managed form is refused; readopt it by name"
    assert stack.identity(managed) == identity, "nothing renamed"
    assert stack.orphans()[managed]["released_at"], "still let go"


def failing_commit_of(volume_id: str = "", name: str = "") -> Callable[[str, Any], None]:
    """A hook callback that fails the QuotaCommit step of the manage of ``volume_id`` (or
    of the object ``name``), after the driver took the object back: it is reverted."""

    def fail(point: str, record: Any) -> None:
        ours = record["id"] == volume_id or record["reference"].get("source-name") == name
        if point == "QuotaCommit" and ours:
            raise exception.VolumeDriverException(reason="injected after the take-back")

    return fail


def readopt_failing(stack: OrphanStack, volume_id: str, **fields: str) -> None:
    """Re-adopt ``volume-<volume_id>`` with its commit failing; delete the error row."""
    failing = failing_commit_of(volume_id=volume_id)
    hooks.register(failing)
    try:
        assert stack.readopt(f"volume-{volume_id}", **fields).status_int == 202
        assert stack.rest.wait_status(volume_id)["status"] == "error"
    finally:
        hooks.unregister(failing)
    assert stack.rest.call("DELETE", f"volumes/{volume_id}").status_int == 202


def test_a_reverted_readoption_leaves_a_released_object_released(stack: OrphanStack) -> None:
    admin = fresh_admin()
    volume = stack.manage(admin, stack.make(SMALL))
    unmanage(stack, volume["id"])
    managed = f"volume-{volume['id']}"
    identity = stack.identity(managed)
    released = stack.orphans()[managed]
    fields = {} if records_project(stack) else {"project_id": admin["X-Project-Id"]}
    readopt_failing(stack, volume["id"], **fields)
    again = stack.orphans()[managed]
    assert stack.identity(managed) == identity, "nothing renamed"
    assert again["released_at"] == released["released_at"], "released again, at its time"
    assert again["marks"] == released["marks"], "the object's marks are as before"
    # Taken back for good, then forgotten (a database restore): a failed re-adoption
    # now leaves it unreleased, as the successful one left it.
    assert stack.readopt(managed, **fields).status_int == 202
    assert stack.rest.wait_status(volume["id"])["status"] == "available"
    forget(stack.rest, volume["id"])
    readopt_failing(stack, volume["id"], **fields)
    assert stack.orphans()[managed]["released_at"] is None


def test_a_reverted_manage_of_a_released_object_renamed_by_hand_releases_it_again(
    stack: OrphanStack,
) -> None:
    admin = fresh_admin()
    first_id, released_at, plain = released_and_renamed(stack, admin)
    failing = failing_commit_of(name=plain)
    hooks.register(failing)
    try:
        body = stack.rest.manage_body(plain)
        response = stack.rest.call("POST", "os-volume-manage", body, headers=admin)
        assert response.status_int == 202, response.text
        second = stack.rest.wait_status(response.json["volume"]["id"], headers=admin)
        assert second["status"] == "error", second
    finally:
        hooks.unregister(failing)
    stack.rename(plain, f"volume-{first_id}")  # where an audit looks for it
    assert stack.orphans()[f"volume-{first_id}"]["released_at"] == released_at


def test_a_forgotten_volume_is_not_released(stack: OrphanStack) -> None:
    volume = stack.manage(fresh_admin(), stack.make(SMALL))
    forget(stack.rest, volume["id"])
    assert stack.orphans()[f"volume-{volume['id']}"]["released_at"] is None


def test_what_is_not_an_orphan_is_404(stack: OrphanStack) -> None:
    plain = stack.make()  # never managed: not in managed form
    for name in (plain, f"volume-{uuid.uuid4()}"):
        response = stack.readopt(name, project_id="p")
        assert response.status_int == 404, response.text
        assert "No orphan named" in response.json["itemNotFound"]["message"]


def test_the_project_must_be_known_and_agree(stack: OrphanStack) -> None:
    admin = fresh_admin()
    volume = stack.manage(admin, stack.make())
    managed = f"volume-{volume['id']}"
    if stack.directory is not None:
        os.removexattr(stack.directory / managed, file_marks.ATTRIBUTE)  # nothing recorded
    forget(stack.rest, volume["id"])
    refused = stack.readopt(managed)
    assert refused.status_int == 400, refused.text
    assert "records no project" in refused.json["badRequest"]["message"]
    assert stack.rest.call("GET", f"volumes/{volume['id']}").status_int == 404
    response = stack.readopt(managed, project_id=admin["X-Project-Id"])
    assert response.status_int == 202, response.text
    assert stack.rest.wait_status(volume["id"])["status"] == "available"


@pytest.mark.parametrize("stack", ["file", "image"], indirect=True)  # LVM records no project
def test_a_recorded_project_must_agree(stack: OrphanStack) -> None:
    admin = fresh_admin()
    volume = stack.manage(admin, stack.make())
    forget(stack.rest, volume["id"])
    refused = stack.readopt(f"volume-{volume['id']}", project_id="another-project")
    assert refused.status_int == 400, refused.text
    assert f"managed for project {admin['X-Project-Id']}" in refused.json["badRequest"]["message"]


def test_the_listing_is_paged_and_sorted(stack: OrphanStack) -> None:
    admin = fresh_admin()
    volumes = [stack.manage(admin, stack.make(size * GIB)) for size in (1, 3, 2)]
    forget(stack.rest, *(volume["id"] for volume in volumes))
    names = sorted(f"volume-{volume['id']}" for volume in volumes)
    assert set(names) <= set(stack.orphans())
    mine = [name for name in sorted(stack.orphans()) if name in names]

    walked: list[str] = []
    query = "&limit=1"
    while True:
        response = stack.listed(query)
        assert response.status_int == 200, response.text
        walked += [orphan["name"] for orphan in response.json["orphans"]]
        links = response.json.get("orphans_links")
        if not links:
            break
        assert links[0]["rel"] == "next"
        query = f"&limit=1&marker={walked[-1]}"
    assert [name for name in walked if name in names] == mine, "by name, each once"

    response = stack.listed("&sort=size_bytes:desc&limit=1000")
    sizes = [o["size_bytes"] for o in response.json["orphans"]]
    assert sizes == sorted(sizes, reverse=True)
    response = stack.listed(f"&sort_key=volume_id&sort_dir=desc&marker={mine[0]}")
    ids = [o["volume_id"] for o in response.json["orphans"]]
    assert ids == sorted(ids, reverse=True)
    assert all(volume_id < mine[0].removeprefix("volume-") for volume_id in ids)


def test_an_orphan_is_listed_until_re_adopted_and_seen_since_its_first_audit(
    stack: OrphanStack,
) -> None:
    admin = fresh_admin()
    volume = stack.manage(admin, stack.make())
    managed = f"volume-{volume['id']}"
    forget(stack.rest, volume["id"])
    assert managed not in {o["name"] for o in stack.listed().json["orphans"]}, "no audit yet"
    first = stack.orphans()[managed]
    later = stack.orphans()[managed]
    assert later["first_seen_at"] == first["first_seen_at"] < later["last_seen_at"]
    fields = {} if records_project(stack) else {"project_id": admin["X-Project-Id"]}
    assert stack.readopt(managed, **fields).status_int == 202
    names = {o["name"] for o in stack.listed().json["orphans"]}
    assert managed not in names, "a row has its volume id now: no longer listed"
    assert stack.rest.wait_status(volume["id"])["status"] == "available"
    assert stack.audit()["orphans_cleared"] >= 1


BAD: list[tuple[str, str, Callable[[Rest], Any], int]] = [
    ("GET", "os-orphans", lambda rest: None, 400),
    ("GET", "os-orphans?host=x@y&limit=-1", lambda rest: None, 400),
    ("GET", "os-orphans?host=x@y&limit=ten", lambda rest: None, 400),
    ("GET", "os-orphans?host=x@y&offset=-2", lambda rest: None, 400),
    ("GET", "os-orphans?host=x@y&sort=size:sideways", lambda rest: None, 400),
    ("GET", "os-orphans?host=x@y&sort=colour", lambda rest: None, 400),
    ("GET", "os-orphans?host=x@y&colour=red", lambda rest: None, 400),
    ("GET", "os-orphans?host=x@y&limit=1&limit=2", lambda rest: None, 400),
    ("GET", "os-orphans?host=nosuch@backend", lambda rest: None, 400),
    ("GET", "os-orphans?host=", lambda rest: None, 400),
    ("POST", "os-orphans/action", lambda rest: {}, 400),
    ("POST", "os-orphans/action", lambda rest: {"os-readopt": {"host": rest.backend}}, 400),
    ("POST", "os-orphans/action", lambda rest: {"os-readopt": {"name": "x"}}, 400),
    (
        "POST",
        "os-orphans/action",
        lambda rest: {"os-readopt": {"host": rest.backend, "name": "x", "size": 1}},
        400,
    ),
    ("POST", "os-orphans/action", lambda rest: {"os-readopt": {"host": 1, "name": "x"}}, 400),
    (
        "POST",
        "os-orphans/action",
        lambda rest: {"os-readopt": {"host": "nosuch@b", "name": "x"}},
        400,
    ),
    ("POST", "os-orphans/action", lambda rest: {"os-unmanage": None}, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD)
def test_bad_input_is_a_clear_4xx(
    rest: Rest, method: str, path: str, body: Callable[[Rest], Any], status: int
) -> None:
    path = path.replace("x@y", rest.backend)
    response = rest.call(method, path, body(rest))
    assert response.status_int == status, response.text
    [(_kind, fault)] = response.json.items()
    assert fault["code"] == status and fault["message"]


def test_a_marker_that_names_no_orphan_is_a_400(rest: Rest) -> None:
    response = rest.call("GET", f"os-orphans?host={rest.backend}&marker=volume-nosuch")
    assert response.status_int == 400, response.text
    assert "volume-nosuch" in response.json["badRequest"]["message"]


def test_members_may_neither_list_nor_readopt(rest: Rest) -> None:
    member = fresh_member()
    listed = rest.call("GET", f"os-orphans?host={rest.backend}", headers=member)
    assert listed.status_int == 403
    body = {"os-readopt": {"host": rest.backend, "name": "volume-x"}}
    assert rest.call("POST", "os-orphans/action", body, headers=member).status_int == 403
