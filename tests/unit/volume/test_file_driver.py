"""Unit tests of the file driver, on real files in a temporary directory."""

import os
import random
import stat
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from volmgr_common import conf as volmgr_conf
from volmgr_common import exception
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import load_driver
from volmgr_volume.drivers.base import GIB
from volmgr_volume.drivers.file import FileDriver

VOLUME_ID = "11111111-2222-3333-4444-555555555555"
OTHER_ID = "66666666-7777-8888-9999-aaaaaaaaaaaa"
MANAGED = f"volume-{VOLUME_ID}"
ENTRY_KEYS = {"reference", "size", "safe_to_manage", "reason_not_safe", "cinder_id", "extra_info"}


def make_conf(tmp_path: Path, **overrides: Any) -> cfg.ConfigOpts:
    """A fresh config; ``group__name=value`` overrides an option of a group."""
    conf = cfg.ConfigOpts()
    volmgr_conf.register_opts(conf)
    conf([], project="volmgr", default_config_files=[])
    clear_overrides(conf)
    conf.set_override("state_path", str(tmp_path))
    conf.set_override("directory", str(tmp_path / "files"), group="file_backend")
    for key, value in overrides.items():
        group, separator, name = key.partition("__")
        conf.set_override(name, value, group=group if separator else None)
    return conf


def clear_overrides(conf: cfg.ConfigOpts) -> None:
    """Undo overrides left by earlier tests.

    oslo.config only shallow-copies a registered OptGroup, so every ConfigOpts that
    registers the module-level groups of volmgr_common.conf shares their overrides.
    """
    for group, opts in volmgr_conf.list_opts():
        for opt in opts:
            conf.clear_override(opt.dest, group=group)
            conf.clear_default(opt.dest, group=group)


def make_driver(tmp_path: Path, **overrides: Any) -> FileDriver:
    driver = FileDriver(make_conf(tmp_path, **overrides))
    driver.do_setup()
    return driver


@pytest.fixture
def driver(tmp_path: Path) -> FileDriver:
    return make_driver(tmp_path)


@pytest.fixture
def files(driver: FileDriver, tmp_path: Path) -> Path:
    return tmp_path / "files"


def vol(volume_id: str = VOLUME_ID) -> dict[str, Any]:
    return {"id": volume_id}


def ref(name: Any) -> dict[str, Any]:
    return {"source-name": name}


def manage_recorded(driver: FileDriver, volume: dict[str, Any], name: str) -> str:
    """Manage as the flow does: the identity recorded first, then the rename; the
    identity is returned (the put-back moves only that file)."""
    identity = driver.get_identity(volume, ref(name))
    driver.manage(volume, ref(name), identity=identity)
    return identity


def make_file(path: Path, size: int = 0, content: bytes = b"") -> Path:
    """A (sparse) file of ``size`` bytes starting with ``content``."""
    with open(path, "wb") as f:
        f.write(content)
        f.truncate(max(size, len(content)))
    return path


def head(path: Path, count: int) -> bytes:
    """The first bytes of a (possibly huge, sparse) file."""
    with open(path, "rb") as f:
        return f.read(count)


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` (symlinks not followed) with its inode, mode and size."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            result[os.path.relpath(os.path.join(dirpath, name), root)] = (
                st.st_ino,
                st.st_mode,
                st.st_size,
            )
    return result


# -- do_setup and loading -------------------------------------------------------------


def test_do_setup_creates_directory_with_mode_0750(tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "files"
    old_umask = os.umask(0o022)
    try:
        make_driver(tmp_path, file_backend__directory=str(directory))
    finally:
        os.umask(old_umask)
    assert directory.is_dir()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o750


def test_do_setup_refuses_a_file_in_place_of_the_directory(tmp_path: Path) -> None:
    make_file(tmp_path / "files")
    driver = FileDriver(make_conf(tmp_path))
    with pytest.raises(exception.VolumeDriverException):
        driver.do_setup()


@pytest.mark.parametrize("template", ["vol/%s", "volume", "%s/%s"])
def test_do_setup_refuses_a_bad_name_template(tmp_path: Path, template: str) -> None:
    driver = FileDriver(make_conf(tmp_path, volume__volume_name_template=template))
    with pytest.raises(exception.VolumeDriverException, match="volume_name_template"):
        driver.do_setup()


def test_load_driver_alias(tmp_path: Path) -> None:
    assert isinstance(load_driver(make_conf(tmp_path)), FileDriver)


# -- get_size -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size_bytes", "expected_gib"),
    [(0, 0), (1, 1), (GIB - 1, 1), (GIB, 1), (GIB + 1, 2), (5 * GIB, 5)],
)
def test_get_size_rounds_up(
    driver: FileDriver, files: Path, size_bytes: int, expected_gib: int
) -> None:
    make_file(files / "disk.img", size_bytes)
    assert driver.get_size(vol(), ref("disk.img")) == expected_gib


def test_get_size_of_a_missing_file(driver: FileDriver) -> None:
    with pytest.raises(exception.ManageExistingInvalidReference, match="no file"):
        driver.get_size(vol(), ref("nothing.img"))


def test_get_size_after_a_crash_reports_the_renamed_file(driver: FileDriver, files: Path) -> None:
    make_file(files / "disk.img", GIB + 1)
    driver.manage(vol(), ref("disk.img"))
    assert driver.get_size(vol(), ref("disk.img")) == 2
    with pytest.raises(exception.ManageExistingInvalidReference, match="no file"):
        driver.get_size(vol(OTHER_ID), ref("disk.img"))


# -- manage ---------------------------------------------------------------------------


def test_manage_renames_and_returns_the_managed_name(driver: FileDriver, files: Path) -> None:
    make_file(files / "disk.img", 3 * GIB, b"payload")
    inode = (files / "disk.img").stat().st_ino
    assert driver.manage(vol(), ref("disk.img")) == MANAGED
    assert not (files / "disk.img").exists()
    assert (files / MANAGED).stat().st_ino == inode
    assert head(files / MANAGED, 7) == b"payload"


def test_manage_is_idempotent(driver: FileDriver, files: Path) -> None:
    make_file(files / "disk.img", content=b"data")
    assert driver.manage(vol(), ref("disk.img")) == MANAGED
    before = snapshot(files)
    assert driver.manage(vol(), ref("disk.img")) == MANAGED
    assert snapshot(files) == before


def test_manage_refuses_to_overwrite_an_existing_target(driver: FileDriver, files: Path) -> None:
    make_file(files / "disk.img", content=b"new")
    make_file(files / MANAGED, content=b"old")
    with pytest.raises(exception.VolumeDriverException, match="already exists"):
        driver.manage(vol(), ref("disk.img"))
    assert (files / "disk.img").read_bytes() == b"new"
    assert (files / MANAGED).read_bytes() == b"old"


def test_manage_refuses_a_symlink_in_place_of_the_target(
    driver: FileDriver, files: Path, tmp_path: Path
) -> None:
    make_file(tmp_path / "outside.img", content=b"outside")
    (files / MANAGED).symlink_to(tmp_path / "outside.img")
    with pytest.raises(exception.VolumeDriverException, match="symbolic link"):
        driver.manage(vol(), ref("disk.img"))
    assert (tmp_path / "outside.img").read_bytes() == b"outside"


def test_manage_of_a_missing_file(driver: FileDriver, files: Path) -> None:
    with pytest.raises(exception.ManageExistingInvalidReference, match="no file"):
        driver.manage(vol(), ref("disk.img"))
    assert snapshot(files) == {}


def test_a_file_managed_by_one_volume_cannot_be_managed_by_another(
    driver: FileDriver, files: Path
) -> None:
    make_file(files / "disk.img")
    driver.manage(vol(), ref("disk.img"))
    with pytest.raises(exception.ManageExistingInvalidReference, match="no file"):
        driver.manage(vol(OTHER_ID), ref("disk.img"))
    assert sorted(os.listdir(files)) == [MANAGED]


def test_concurrent_manage_of_one_file_succeeds_once(driver: FileDriver, files: Path) -> None:
    make_file(files / "disk.img", content=b"x")
    ids = [str(uuid.uuid4()) for _ in range(8)]
    results = _run_concurrently([lambda v=v: driver.manage(vol(v), ref("disk.img")) for v in ids])
    assert sum(isinstance(r, str) for r in results) == 1
    assert all(isinstance(r, str | exception.ManageExistingInvalidReference) for r in results)
    assert len(os.listdir(files)) == 1


def test_concurrent_manage_of_two_files_by_one_volume_never_clobbers(
    driver: FileDriver, files: Path
) -> None:
    make_file(files / "a.img", content=b"a")
    make_file(files / "b.img", content=b"b")
    results = _run_concurrently(
        [lambda n=n: driver.manage(vol(), ref(n)) for n in ("a.img", "b.img")]
    )
    assert sum(r == MANAGED for r in results) == 1
    assert sum(isinstance(r, exception.VolumeDriverException) for r in results) == 1
    assert len(os.listdir(files)) == 2


def _run_concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads started together; each result or raised exception."""
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- undo_manage and unmanage ---------------------------------------------------------


def test_undo_manage_renames_back_with_content_intact(driver: FileDriver, files: Path) -> None:
    make_file(files / "disk.img", GIB, b"precious")
    before = snapshot(files)
    identity = manage_recorded(driver, vol(), "disk.img")
    driver.undo_manage(vol(), ref("disk.img"), identity=identity)
    assert snapshot(files) == before
    assert head(files / "disk.img", 8) == b"precious"


def test_undo_manage_is_idempotent(driver: FileDriver, files: Path) -> None:
    make_file(files / "disk.img", content=b"x")
    identity = manage_recorded(driver, vol(), "disk.img")
    driver.undo_manage(vol(), ref("disk.img"), identity=identity)
    before = snapshot(files)
    driver.undo_manage(vol(), ref("disk.img"), identity=identity)
    assert snapshot(files) == before


def test_undo_manage_with_nothing_to_put_back_deletes_nothing(
    driver: FileDriver, files: Path
) -> None:
    make_file(files / "other.img")
    driver.undo_manage(vol(), ref("disk.img"))
    assert os.listdir(files) == ["other.img"]


def test_undo_manage_refuses_when_the_original_name_is_taken(
    driver: FileDriver, files: Path
) -> None:
    make_file(files / "disk.img", content=b"managed")
    identity = manage_recorded(driver, vol(), "disk.img")
    make_file(files / "disk.img", content=b"newcomer")
    with pytest.raises(exception.VolumeDriverException, match="exists; refusing to overwrite"):
        driver.undo_manage(vol(), ref("disk.img"), identity=identity)
    assert (files / "disk.img").read_bytes() == b"newcomer"
    assert (files / MANAGED).read_bytes() == b"managed"


def test_undo_manage_never_renames_a_symlink(
    driver: FileDriver, files: Path, tmp_path: Path
) -> None:
    make_file(tmp_path / "outside.img")
    (files / MANAGED).symlink_to(tmp_path / "outside.img")
    with pytest.raises(exception.VolumeDriverException, match="symbolic link"):
        driver.undo_manage(vol(), ref("disk.img"))
    assert (files / MANAGED).is_symlink()
    assert not (files / "disk.img").exists()


def test_unmanage_leaves_the_file_in_place(driver: FileDriver, files: Path) -> None:
    make_file(files / "disk.img", content=b"x")
    location = driver.manage(vol(), ref("disk.img"))
    before = snapshot(files)
    driver.unmanage(dict(vol(), provider_location=location))
    driver.unmanage(vol(OTHER_ID))
    assert snapshot(files) == before


def test_manage_through_a_symlinked_directory(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    driver = make_driver(tmp_path, file_backend__directory=str(tmp_path / "alias"))
    make_file(tmp_path / "real" / "disk.img", content=b"x")
    assert driver.manage(vol(), ref("disk.img")) == MANAGED
    assert (tmp_path / "real" / MANAGED).read_bytes() == b"x"


# -- path safety ----------------------------------------------------------------------


def _outside_symlink(files: Path, tmp_path: Path) -> Any:
    make_file(tmp_path / "outside.img", content=b"outside")
    (files / "link.img").symlink_to(tmp_path / "outside.img")
    return ref("link.img")


def _inside_symlink(files: Path, tmp_path: Path) -> Any:
    make_file(files / "target.img", content=b"inside")
    (files / "link.img").symlink_to("target.img")
    return ref("link.img")


def _relative_escape(files: Path, tmp_path: Path) -> Any:
    make_file(tmp_path / "x", content=b"outside")
    return ref("../x")


def _subdir_file(files: Path, tmp_path: Path) -> Any:
    (files / "a").mkdir()
    make_file(files / "a" / "b")
    return ref("a/b")


def _directory(files: Path, tmp_path: Path) -> Any:
    (files / "subdir").mkdir()
    return ref("subdir")


def _fifo(files: Path, tmp_path: Path) -> Any:
    os.mkfifo(files / "pipe")
    return ref("pipe")


def _managed_form(files: Path, tmp_path: Path) -> Any:
    make_file(files / f"volume-{OTHER_ID}")
    return ref(f"volume-{OTHER_ID}")


def _dangling_symlink(files: Path, tmp_path: Path) -> Any:
    (files / "link.img").symlink_to(tmp_path / "nowhere")
    return ref("link.img")


def _static(reference: Any) -> Callable[[Path, Path], Any]:
    return lambda files, tmp_path: reference


UNSAFE_CASES = {
    "dotdot": (_static(ref("..")), "traversal"),
    "dot": (_static(ref(".")), "traversal"),
    "relative-escape": (_relative_escape, "separator"),
    "absolute": (_static(ref("/etc/passwd")), "absolute"),
    "backslash-absolute": (_static(ref("\\x")), "absolute"),
    "subdir-file": (_subdir_file, "separator"),
    "backslash": (_static(ref("a\\b")), "separator"),
    "nul": (_static(ref("a\x00b")), "NUL"),
    "symlink-outside": (_outside_symlink, "symbolic link pointing outside"),
    "symlink-inside": (_inside_symlink, "even when they point inside"),
    "symlink-dangling": (_dangling_symlink, "symbolic link"),
    "directory": (_directory, "directory"),
    "fifo": (_fifo, "fifo"),
    "managed-name": (_managed_form, "managed form"),
    "empty": (_static(ref("")), "empty"),
    "non-string": (_static(ref(42)), "must be a string"),
    "none": (_static(ref(None)), "must be a string"),
    "extra-keys": (_static({"source-name": "a", "size": 1}), "unexpected keys"),
    "missing-key": (_static({"name": "a"}), "no 'source-name'"),
    "not-a-dict": (_static("disk.img"), "must be a dict"),
    "too-long": (_static(ref("a" * 300)), "cannot be inspected"),
}

# Refused for what is on disk: undo_manage, having nothing of ours to put back, leaves
# such names alone instead.
ON_DISK_CASES = {"symlink-outside", "symlink-inside", "symlink-dangling", "directory", "fifo"}


@pytest.mark.parametrize("case", sorted(UNSAFE_CASES))
def test_unsafe_references_are_refused(
    driver: FileDriver, files: Path, tmp_path: Path, case: str
) -> None:
    setup, cause = UNSAFE_CASES[case]
    reference = setup(files, tmp_path)
    before = snapshot(tmp_path)
    calls = [driver.get_size, driver.manage]
    if case not in ON_DISK_CASES:
        calls.append(driver.undo_manage)
    for call in calls:
        with pytest.raises(exception.ManageExistingInvalidReference) as caught:
            call(vol(), reference)
        assert cause in caught.value.kwargs["reason"]
        assert cause in str(caught.value)
    if case in ON_DISK_CASES:
        driver.undo_manage(vol(), reference)
    assert snapshot(tmp_path) == before


def test_unsafe_reasons_are_distinct(tmp_path: Path) -> None:
    cases = (
        "dotdot",
        "absolute",
        "subdir-file",
        "nul",
        "symlink-outside",
        "symlink-inside",
        "directory",
        "fifo",
        "managed-name",
        "empty",
    )
    reasons = set()
    for case in cases:
        driver = make_driver(tmp_path / case)
        reference = UNSAFE_CASES[case][0](tmp_path / case / "files", tmp_path / case)
        with pytest.raises(exception.ManageExistingInvalidReference) as caught:
            driver.get_size(vol(), reference)
        reasons.add(caught.value.kwargs["reason"])
    assert len(reasons) == len(cases)


def test_fuzzed_names_never_escape_the_directory(tmp_path: Path) -> None:
    driver = make_driver(tmp_path)
    files = tmp_path / "files"
    real_dir = os.path.realpath(files)
    regular = {"a", "b", "ab", "ba", ".a", "a.", "..a", "a..", "...", "a.b"}
    for name in regular:
        make_file(files / name, content=name.encode())
    make_file(tmp_path / "a", content=b"outside")
    make_file(tmp_path / "b", content=b"outside")
    (files / "aa").symlink_to(tmp_path / "a")
    (files / "bb").symlink_to("b")
    (files / "aba").mkdir()
    before = snapshot(tmp_path)
    rng = random.Random(20240601)
    accepted = set()
    for _ in range(3000):
        name = "".join(rng.choice("./\\\x00ab") for _ in range(rng.randint(0, 6)))
        volume = vol(str(uuid.UUID(int=rng.getrandbits(128))))
        if _try_manage_cycle(driver, volume, name, files):
            accepted.add(name)
            assert os.path.dirname(os.path.realpath(files / name)) == real_dir
    assert accepted
    assert accepted <= regular
    assert snapshot(tmp_path) == before


def _try_manage_cycle(driver: FileDriver, volume: dict[str, Any], name: str, files: Path) -> bool:
    """Manage then undo ``name``; False if it is refused as a reference."""
    try:
        driver.get_size(volume, ref(name))
    except exception.ManageExistingInvalidReference:
        with pytest.raises(exception.ManageExistingInvalidReference):
            driver.manage(volume, ref(name))
        return False
    identity = driver.get_identity(volume, ref(name))
    target = driver.manage(volume, ref(name), identity=identity)
    assert (files / target).is_file()
    driver.undo_manage(volume, ref(name), identity=identity)
    assert (files / name).read_bytes() == name.encode()
    return True


# -- list_manageable ------------------------------------------------------------------


@pytest.fixture
def populated(files: Path) -> Path:
    make_file(files / "a.img", 3 * GIB)
    make_file(files / "b.img", 1)
    make_file(files / "c.img", 2 * GIB)
    make_file(files / "d.img", 1)
    make_file(files / MANAGED, GIB + 1)
    make_file(files / f"volume-{OTHER_ID}", GIB)
    (files / "link.img").symlink_to("a.img")
    (files / "sub").mkdir()
    os.mkfifo(files / "pipe")
    return files


def _names(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["reference"]["source-name"] for entry in entries]


def _list(
    driver: FileDriver,
    marker: str | None = None,
    limit: int = 1000,
    offset: int = 0,
    sort_key: str = "reference",
    sort_dir: str = "asc",
) -> list[dict[str, Any]]:
    return driver.list_manageable(
        {MANAGED: VOLUME_ID},
        PageRequest(marker=marker, limit=limit, offset=offset, sort=((sort_key, sort_dir),)),
    )


def test_list_manageable_entries(driver: FileDriver, populated: Path) -> None:
    entries = {e["reference"]["source-name"]: e for e in _list(driver)}
    assert set(entries) == set(os.listdir(populated))
    assert all(set(entry) == ENTRY_KEYS for entry in entries.values())
    assert entries["a.img"] == {
        "reference": {"source-name": "a.img"},
        "size": 3,
        "safe_to_manage": True,
        "reason_not_safe": None,
        "cinder_id": None,
        "extra_info": None,
    }
    managed = entries[MANAGED]
    assert (managed["safe_to_manage"], managed["cinder_id"], managed["size"]) == (
        False,
        VOLUME_ID,
        2,
    )
    assert managed["reason_not_safe"] == "already managed"
    expected = {
        f"volume-{OTHER_ID}": "managed form",
        "link.img": "symbolic link",
        "sub": "directory",
        "pipe": "fifo",
    }
    for name, cause in expected.items():
        assert entries[name]["safe_to_manage"] is False
        assert cause in entries[name]["reason_not_safe"]
        assert entries[name]["cinder_id"] is None


@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_list_sorted_by_reference(driver: FileDriver, populated: Path, sort_dir: str) -> None:
    names = _names(_list(driver, sort_dir=sort_dir))
    assert names == sorted(os.listdir(populated), reverse=sort_dir == "desc")


@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_list_sorted_by_size(driver: FileDriver, populated: Path, sort_dir: str) -> None:
    entries = _list(driver, sort_key="size", sort_dir=sort_dir)
    keys = [(entry["size"], entry["reference"]["source-name"]) for entry in entries]
    assert keys == sorted(keys, reverse=sort_dir == "desc")
    assert keys[0][0] == (0 if sort_dir == "asc" else 3)


@pytest.mark.parametrize("sort_key", ["reference", "size"])
@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_list_pages_with_marker_cover_everything_once(
    driver: FileDriver, populated: Path, sort_key: str, sort_dir: str
) -> None:
    full = _names(_list(driver, sort_key=sort_key, sort_dir=sort_dir))
    pages: list[str] = []
    marker = None
    while page := _names(_list(driver, marker, 2, 0, sort_key, sort_dir)):
        assert len(page) <= 2
        pages.extend(page)
        marker = page[-1]
    assert pages == full


def test_list_offset_and_limit(driver: FileDriver, populated: Path) -> None:
    full = _names(_list(driver))
    assert _names(_list(driver, offset=2, limit=3)) == full[2:5]
    assert _names(_list(driver, marker=full[1], offset=2, limit=2)) == full[4:6]
    assert _names(_list(driver, limit=0)) == []
    assert _names(_list(driver, offset=100)) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sort_key": "name"},
        {"sort_dir": "up"},
        {"marker": "nothing.img"},
        {"limit": -1},
        {"offset": -1},
    ],
)
def test_list_refuses_bad_parameters(
    driver: FileDriver, populated: Path, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(exception.InvalidInput):
        _list(driver, **kwargs)


# -- capabilities ---------------------------------------------------------------------


def test_capabilities(driver: FileDriver, files: Path) -> None:
    make_file(files / MANAGED, 1)
    make_file(files / f"volume-{OTHER_ID}", GIB + 1)
    make_file(files / "free.img", 5 * GIB)
    (files / f"volume-{uuid.uuid4()}").symlink_to("free.img")
    caps = driver.get_capabilities()
    assert {k: v for k, v in caps.items() if k != "pools"} == {
        "backend_name": "files",
        "vendor_name": "volmgr",
        "driver_version": "1.0",
        "storage_protocol": "file",
    }
    (pool,) = caps["pools"]
    assert pool["pool_name"] == "default"
    assert pool["allocated_capacity_gb"] == 3
    assert pool["reserved_percentage"] == 0
    assert pool["thin_provisioning_support"] is False
    assert 0 <= pool["free_capacity_gb"] <= pool["total_capacity_gb"]
    assert isinstance(pool["total_capacity_gb"], float)
    assert round(pool["total_capacity_gb"], 2) == pool["total_capacity_gb"]


def test_capabilities_use_configured_names(tmp_path: Path) -> None:
    driver = make_driver(tmp_path, file_backend__pool_name="fast", volume__backend_name="b1")
    caps = driver.get_capabilities()
    assert caps["backend_name"] == "b1"
    assert caps["pools"][0]["pool_name"] == "fast"


def test_the_file_backend_adopts_no_chain(driver: FileDriver, tmp_path: Path) -> None:
    (Path(driver.directory) / "disk").write_bytes(b"data")
    volume = {"id": str(uuid.uuid4())}
    for call in (driver.describe_chain, lambda v, r: driver.manage_chain(v, r, [])):
        with pytest.raises(exception.ManageExistingInvalidReference, match="with its snapshots"):
            call(volume, {"source-name": "disk"})
    assert os.listdir(driver.directory) == ["disk"]
