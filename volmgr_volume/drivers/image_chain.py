"""qcow2 chains of the image driver: a base image with the overlays built on it.

The chain is read from the images' headers: every regular file of the directory is
looked at once, and an overlay belongs to the chain when its backing reference
resolves, inside the directory, to the image below it. A backing reference is
resolved without opening anything, as for a single snapshot: a plain name, or an
absolute path whose directory is the backend directory; anything else (a relative
path, a path elsewhere, a protocol reference such as ``nbd:`` or ``json:``) names
something outside and is never followed. The base has no backing
file; its members form one line (two overlays on one image is a branch, refused).

Refused, with the reason, before anything is renamed: a base that has a backing
file itself (the reason names the bottom of its chain, a backing loop, or a backing
file outside the directory), a member in use (qemu's image lock is held), with
hard links, in managed form, with a content the driver refuses (encryption,
dirty...), or that does not record its backing file's format.

Adopting renames the base to its volume's managed name and each member to its
snapshot's, then rewrites each member's backing reference to the managed name
below it (``qemu-img rebase -u``), all under the directory's rename lock. An undo,
or a failure anywhere, renames every object back and writes back every original
backing reference exactly as it was written. Each object is found by identity
(device and inode) under its original or its managed name, so both are idempotent.
"""

import dataclasses
import os
import stat
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from oslo_log import log as logging

from volmgr_common import exception
from volmgr_common.db.volume_record import VolumeRecord
from volmgr_volume.drivers.base import (
    BackendObject,
    Chain,
    ChainLink,
    ChainLocations,
    ChainMember,
    check_chain_links,
)
from volmgr_volume.drivers.file import file_identity, hard_link_problem, plain_name_problem
from volmgr_volume.drivers.qcow2_backing import BackingUnreadable, QemuImg, read_backing

if TYPE_CHECKING:
    from volmgr_volume.drivers.image import ImageDriver, ImageInfo

LOG = logging.getLogger(__name__)
_MANAGED_FORM = "its name is in managed form"


@dataclasses.dataclass(frozen=True)
class Node:
    """One regular file of the directory, as its header describes it."""

    name: str
    st: os.stat_result
    info: "ImageInfo"
    backing: str | None = None
    backing_format: str | None = None


@dataclasses.dataclass(frozen=True)
class Placed:
    """One object of a chain to adopt: its names before and after, its identity."""

    original: str
    managed: str
    identity: str


class ImageChains:
    """Reads, adopts and puts back the qcow2 chains of an image driver's directory."""

    def __init__(self, driver: "ImageDriver", qemu: QemuImg | None = None) -> None:
        self.driver = driver
        self.qemu = qemu or QemuImg()

    # -- reading ---------------------------------------------------------------------

    def scan(self, fd: int, cached: bool = False) -> dict[str, Node]:
        """Every regular file of the directory with its header (and backing reference)."""
        with os.scandir(fd) as entries:
            names = [entry.name for entry in entries]
        nodes: dict[str, Node] = {}
        for name in names:
            node = self._node(fd, name, cached)
            if node is not None:
                nodes[name] = node
        return nodes

    def _node(self, fd: int, name: str, cached: bool) -> Node | None:
        try:
            st = os.lstat(name, dir_fd=fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            if cached:
                info = self.driver._inspect_cached(fd, name, st)
            else:
                info = self.driver._inspect(fd, name, expected=st)
            if not info.has_backing:
                return Node(name, st, info)
            file_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            try:
                if file_identity(os.fstat(file_fd)) != file_identity(st):
                    return None  # renamed meanwhile: not part of what was scanned
                backing, backing_format = read_backing(file_fd)
            finally:
                os.close(file_fd)
        except (OSError, BackingUnreadable):
            return None
        return Node(name, st, info, backing, backing_format)

    def resolve(self, backing: str) -> tuple[str | None, str | None]:
        """``(name, None)``: the directory entry a backing reference names (as the
        snapshot path resolves it: a plain name, or a path in the directory); or
        ``(None, why)`` when it names anything else (never followed)."""
        if ":" in backing.split("/", 1)[0]:
            return None, f"its backing reference {backing!r} uses a protocol; not followed"
        below = self.driver._inside(backing)
        if below is None:
            return None, (
                f"its backing file {backing!r} is outside the directory "
                f"{self.driver._real_dir()}; it is never followed"
            )
        return below, None

    def overlays(self, nodes: dict[str, Node]) -> dict[str, list[str]]:
        """For each name, the overlays whose backing reference resolves to it (sorted)."""
        built_on: dict[str, list[str]] = {}
        for node in nodes.values():
            if node.backing is not None:
                below, _ = self.resolve(node.backing)
                if below is not None:
                    built_on.setdefault(below, []).append(node.name)
        return {name: sorted(above) for name, above in built_on.items()}

    def line_above(self, base: str, built_on: dict[str, list[str]]) -> Iterator[str | list[str]]:
        """The names built on ``base``, in order; a list where the chain branches."""
        seen = {base}
        current = base
        while built_on.get(current):
            above = built_on[current]
            if len(above) > 1 or above[0] in seen:
                yield above
                return
            current = above[0]
            seen.add(current)
            yield current

    def backing_problem(self, nodes: dict[str, Node], node: Node) -> str:
        """Why the image ``node``, which has a backing file, cannot be a chain's base."""
        path = [node.name]
        current = node
        while current.backing is not None:
            below, problem = self.resolve(current.backing)
            if below is None:
                return f"{current.name}: {problem}"
            if below in path:
                return "backing loop: " + " -> ".join([*path, below])
            found = nodes.get(below)
            if found is None:
                return f"the backing file {current.backing!r} of {current.name} is missing"
            path.append(below)
            current = found
        if self.driver.is_managed_form(current.name):
            return (
                f"the image is built on {node.backing!r}: a snapshot of the managed volume "
                f"{current.name}; manage it as a snapshot of that volume"
            )
        return (
            f"the image is built on {node.backing!r}: it is a member of the chain of "
            f"{current.name}, adopted with it (with_snapshots)"
        )

    def describe(self, volume: VolumeRecord, reference: dict[str, Any]) -> Chain:
        name = self.driver._source_name(reference)
        with self.driver._opened_dir() as fd:
            return self._describe(fd, name, reference)

    def _describe(self, fd: int, name: str, reference: Any) -> Chain:
        st = self.driver._source_stat(fd, name, reference)
        if st is None:
            self.driver._invalid(reference, f"no file {name!r} exists in {self.driver.directory}")
        nodes = self.scan(fd)
        base = nodes.get(name)
        if base is None or file_identity(base.st) != file_identity(st):
            self.driver._invalid(reference, f"{name} changed while its chain was being read")
        if base.info.has_backing:
            self.driver._invalid(reference, self.backing_problem(nodes, base))
        problem = self.driver._member_problem(base.info) or self._in_use(fd, base)
        if problem:
            self.driver._invalid(reference, problem)
        members = []
        for above in self.line_above(name, self.overlays(nodes)):
            if isinstance(above, list):
                self.driver._invalid(
                    reference,
                    f"the chain branches: {', '.join(above)} are all built on one image; "
                    "only a chain in one line can be adopted",
                )
            members.append(self._member(fd, nodes[above], reference))
        base_object = BackendObject(file_identity(st), name, base.info.virtual_size)
        return Chain(base_object, tuple(members))

    def _member(self, fd: int, node: Node, reference: Any) -> ChainMember:
        problem = (
            plain_name_problem(node.name)
            or (_MANAGED_FORM if self.driver.is_managed_form(node.name) else None)
            or (_MANAGED_FORM if self.driver.is_managed_snapshot_form(node.name) else None)
            or hard_link_problem(node.st)
            or self.driver._member_problem(node.info)
            or self._in_use(fd, node)
        )
        if problem is None and node.backing_format is None:
            problem = (
                "its header does not record its backing file's format; record it first "
                f"(qemu-img rebase -u -b {node.backing} -F <format> {node.name})"
            )
        if problem:
            self.driver._invalid(reference, f"member {node.name} of the chain: {problem}")
        return ChainMember(
            {"source-name": node.name},
            file_identity(node.st),
            node.name,
            node.info.virtual_size,
            node.backing,
            node.backing_format,
        )

    def _in_use(self, fd: int, node: Node) -> str | None:
        file_fd = os.open(node.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        try:
            if file_identity(os.fstat(file_fd)) != file_identity(node.st):
                return f"{node.name} changed while it was being read"
            return self.qemu.in_use(file_fd, node.info.format)
        finally:
            os.close(file_fd)

    # -- adopting and putting back ---------------------------------------------------

    def _placed(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        identity: str | None,
    ) -> tuple[Placed | None, list[Placed]]:
        """The base (None when its identity is unknown) and each member to move."""
        name = self.driver._source_name(reference)
        base_identity = identity or volume.get("backend_identity")
        base = None
        if base_identity is not None:
            base = Placed(name, self.driver._target_name(volume), base_identity)
        members = []
        for link in links:
            managed = self.driver._snapshot_target({"id": link.snapshot_id})
            members.append(Placed(link.member.name, managed, link.member.identity))
        return base, members

    def _where(self, fd: int, placed: Placed) -> str | None:
        """The name ``placed`` is under now (its managed or original one), or None."""
        for name in (placed.managed, placed.original):
            st = self.driver._lstat(fd, name)
            if st is not None and stat.S_ISREG(st.st_mode) and file_identity(st) == placed.identity:
                return name
        return None

    def manage(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        identity: str | None,
    ) -> ChainLocations:
        with self.driver._locked_dir() as fd:
            base, members = self._placed(volume, reference, links, identity)
            if base is None or all(self._where(fd, p) == p.original for p in [base, *members]):
                name = self.driver._source_name(reference)
                chain = self._describe(fd, name, reference)
                if base is not None and chain.base.identity != base.identity:
                    self.driver._invalid(
                        reference, f"the base is now {chain.base.identity}, not {base.identity}"
                    )
                check_chain_links(chain, links, reference)
                base, members = self._placed(volume, reference, links, chain.base.identity)
            assert base is not None
            try:
                self._adopt(fd, base, members, links, reference)
            except Exception as error:
                LOG.warning(
                    "Volume %s: adopting its chain failed (%s); putting it back",
                    volume["id"],
                    error,
                )
                self._put_back(fd, base, members, links)
                raise
        LOG.info("Volume %s: adopted %s with %d snapshots", volume["id"], base.original, len(links))
        return ChainLocations(base.managed, tuple(m.managed for m in members))

    def _adopt(
        self,
        fd: int,
        base: Placed,
        members: list[Placed],
        links: Sequence[ChainLink],
        reference: Any,
    ) -> None:
        for placed in [base, *members]:
            where = self._where(fd, placed)
            if where is None:
                self.driver._invalid(
                    reference,
                    f"{placed.original} ({placed.identity}) is under neither its name nor "
                    f"{placed.managed}",
                )
            if where == placed.original:
                st = self.driver._lstat(fd, placed.original)
                assert st is not None
                self.driver._rename(fd, placed.original, placed.managed)
                self.driver._check_renamed(fd, placed.original, placed.managed, st, reference)
        below = [base, *members]
        for position, (placed, link) in enumerate(zip(members, links, strict=True)):
            fmt = link.member.backing_format
            assert fmt is not None
            self._set_backing(fd, placed.managed, placed.identity, below[position].managed, fmt)

    def _set_backing(self, fd: int, name: str, identity: str, backing: str, fmt: str) -> None:
        """Write ``backing`` into the header of ``name`` (the file ``identity``) unless
        it is there already."""
        file_fd = os.open(name, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        try:
            found = file_identity(os.fstat(file_fd))
            if found != identity:
                raise exception.VolumeDriverException(
                    reason=f"{name} is the file {found}, not {identity}; its header is left alone"
                )
            try:
                current = read_backing(file_fd)
            except BackingUnreadable:
                current = None, None
            if current != (backing, fmt):
                self.qemu.rebase(file_fd, backing, fmt)
        finally:
            os.close(file_fd)

    def undo(
        self,
        volume: VolumeRecord,
        reference: dict[str, Any],
        links: Sequence[ChainLink],
        identity: str | None,
    ) -> None:
        with self.driver._locked_dir() as fd:
            base, members = self._placed(volume, reference, links, identity)
            self._put_back(fd, base, members, links)
        LOG.info("Volume %s: its chain is back under its original names", volume["id"])

    def _put_back(
        self, fd: int, base: Placed | None, members: list[Placed], links: Sequence[ChainLink]
    ) -> None:
        """Every member's original backing reference and name, then the base's name;
        what cannot be put back is reported after everything else was."""
        errors: list[str] = []
        for placed, link in reversed(list(zip(members, links, strict=True))):
            errors += self._put_back_one(fd, placed, link.member)
        if base is None:
            errors.append("the base's identity is unknown; it is left where it is")
        else:
            errors += self._put_back_one(fd, base, None)
        if errors:
            raise exception.VolumeDriverException(reason="; ".join(errors))

    def _put_back_one(self, fd: int, placed: Placed, member: ChainMember | None) -> list[str]:
        where = self._where(fd, placed)
        if where is None:
            if self.driver._lstat(fd, placed.managed) is None:
                LOG.warning("%s is under neither its name nor %s", placed.original, placed.managed)
                return []
            return [f"{placed.managed} is not the file {placed.identity}; left where it is"]
        try:
            if member is not None and member.backing and member.backing_format:
                self._set_backing(fd, where, placed.identity, member.backing, member.backing_format)
            if where == placed.managed:
                st = self.driver._lstat(fd, placed.managed)
                assert st is not None
                self.driver._rename(fd, placed.managed, placed.original)
                self.driver._check_renamed(fd, placed.managed, placed.original, st)
        except (OSError, exception.VolmgrException) as error:
            return [f"{placed.original}: {error}"]
        return []
