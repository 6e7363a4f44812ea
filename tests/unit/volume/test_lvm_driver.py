"""Unit tests of the LVM driver without LVM: report parsing, references, commands.

``processutils.execute`` is replaced by :class:`FakeLvm`, a tiny in-memory volume
group that answers ``lvs``/``vgs`` with JSON reports and applies ``lvrename`` and
``lvchange --addtag/--deltag``, so that the kinds of LV a loop-device VG cannot
hold without device-mapper (snapshots, thin pools, open LVs) are covered too.
"""

import json
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from oslo_concurrency import processutils

from tests.driver_support import make_conf, vol
from volmgr_common import exception
from volmgr_common.page_request import PageRequest
from volmgr_volume.drivers import load_driver, lvm
from volmgr_volume.drivers.base import BackendObject
from volmgr_volume.drivers.lvm import LogicalVolume, LvmDriver

GIB = 1024**3
VOLUME_ID = "11111111-2222-3333-4444-555555555555"
OTHER_ID = "66666666-7777-8888-9999-aaaaaaaaaaaa"
MANAGED = f"volume-{VOLUME_ID}"
UUID_A = "AAAAAA-aaaa-bbbb-cccc-dddd-eeee-ffffff"
UUID_B = "BBBBBB-aaaa-bbbb-cccc-dddd-eeee-ffffff"
VG_MISSING = '  Volume group "vg0" not found\n  Cannot process volume group vg0\n'


def lv_row(name: str, size: int = GIB, attr: str = "-wi-a-----", **fields: str) -> dict[str, str]:
    row = {
        "lv_name": name,
        "lv_uuid": fields.pop("uuid", f"{name[:6]:x<6}-aaaa-bbbb-cccc-dddd-eeee-ffffff"),
        "lv_size": str(size),
        "lv_attr": attr,
        "lv_tags": "",
        "origin": "",
        "lv_role": "public",
    }
    row.update(fields)
    return row


def report(section: str, rows: list[dict[str, str]]) -> str:
    return "  " + json.dumps({"report": [{section: rows}]}, indent=4) + "\n"


class FakeLvm:
    """Stands in for processutils.execute: a volume group held in memory."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.rows = rows
        self.calls: list[tuple[str, ...]] = []
        self.stderr: dict[str, tuple[int, str]] = {}  # command -> (exit code, stderr)

    def __call__(self, *cmd: str, **kwargs: Any) -> tuple[str, str]:
        self.calls.append(cmd)
        args = list(cmd[cmd.index("env") + 1 :])
        while "=" in args[0]:
            args.pop(0)
        if args[0] in self.stderr:
            code, stderr = self.stderr.pop(args[0])
            raise processutils.ProcessExecutionError(exit_code=code, stderr=stderr, cmd=cmd)
        return getattr(self, args[0])(args[1:]), ""

    def _row(self, name: str) -> dict[str, str]:
        row = next((row for row in self.rows if row["lv_name"] == name), None)
        if row is None:
            raise processutils.ProcessExecutionError(
                exit_code=5, stderr=f'  Failed to find logical volume "vg0/{name}"\n'
            )
        return row

    def lvs(self, args: list[str]) -> str:
        return "  WARNING: noise on stdout\n" + report("lv", self.rows)

    def vgs(self, args: list[str]) -> str:
        vg = {"vg_name": "vg0", "vg_uuid": "x", "vg_size": str(100 * GIB), "vg_free": "0"}
        return report("vg", [vg])

    def lvrename(self, args: list[str]) -> str:
        self._row(args[-2])["lv_name"] = args[-1]
        return ""

    def lvchange(self, args: list[str]) -> str:
        row = self._row(args[-1].split("/", 1)[1])
        tags = [tag for tag in row["lv_tags"].split(",") if tag]
        for option, tag in zip(args[:-1:2], args[1:-1:2], strict=True):
            tags = [*tags, tag] if option == "--addtag" else [t for t in tags if t != tag]
        row["lv_tags"] = ",".join(tags)
        return ""


@pytest.fixture
def fake_lvm(monkeypatch: pytest.MonkeyPatch) -> FakeLvm:
    fake = FakeLvm([lv_row("data", 3 * GIB + 1, uuid=UUID_A), lv_row("other", uuid=UUID_B)])
    monkeypatch.setattr(lvm.processutils, "execute", fake)
    return fake


def make_driver(tmp_path: Path, **overrides: Any) -> LvmDriver:
    settings = {"volume__volume_driver": "lvm", "lvm_backend__volume_group": "vg0"}
    driver = load_driver(make_conf(tmp_path, **dict(settings, **overrides)))
    assert isinstance(driver, LvmDriver)
    return driver


@pytest.fixture
def driver(tmp_path: Path, fake_lvm: FakeLvm) -> LvmDriver:
    return make_driver(tmp_path)


def recorded(volume_id: str, identity: str | None = None) -> dict[str, Any]:
    """A volume as the flow holds it: with the identity RecordIdentity recorded."""
    return dict(vol(volume_id), backend_identity=identity)


def command_of(call: tuple[str, ...]) -> str:
    args = list(call[call.index("env") + 1 :])
    return next(arg for arg in args if "=" not in arg)


def names(fake: FakeLvm) -> list[str]:
    return [row["lv_name"] for row in fake.rows]


# -- report parsing -------------------------------------------------------------------


def test_parse_report_ignores_text_around_the_json() -> None:
    output = "  WARNING: x\n" + report("lv", [lv_row("a")]) + "trailing words\n"
    assert [row["lv_name"] for row in lvm.parse_report(output, "lv")] == ["a"]


def test_parse_report_merges_several_reports_and_skips_other_sections() -> None:
    document = {"report": [{"lv": [lv_row("a")]}, {"log": []}, {"lv": [lv_row("b")]}]}
    rows = lvm.parse_report(json.dumps(document), "lv")
    assert [row["lv_name"] for row in rows] == ["a", "b"]


def test_parse_report_of_an_empty_vg() -> None:
    assert lvm.parse_report(report("lv", []), "lv") == []


@pytest.mark.parametrize(
    "output",
    ["", "no json here", '{"report": 3}', '{"other": []}', '{"report": [{"lv": [{"a": 1}]}]}'],
)
def test_parse_report_refuses_garbage(output: str) -> None:
    with pytest.raises(exception.VolumeDriverException, match="LVM lv"):
        lvm.parse_report(output, "lv")


@pytest.mark.parametrize(("text", "expected"), [("1073741824", GIB), (" 4096B ", 4096)])
def test_parse_bytes(text: str, expected: int) -> None:
    assert lvm.parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["1.00g", "", "-1", "12k"])
def test_parse_bytes_refuses_units_and_garbage(text: str) -> None:
    with pytest.raises(exception.VolumeDriverException, match="unexpected LVM size"):
        lvm.parse_bytes(text)


def test_logical_volume_from_row() -> None:
    lv = LogicalVolume.from_row(lv_row("a", 5, "-wi-ao", lv_tags="t1,volmgr-origin:v:x"))
    assert (lv.size, lv.attr, lv.tags) == (5, "-wi-ao----", ("t1", "volmgr-origin:v:x"))
    assert lv.is_open
    assert lv.origin_of("v") == "x"
    assert lv.origin_of("w") is None


def test_logical_volume_row_with_missing_fields() -> None:
    with pytest.raises(exception.VolumeDriverException, match="lacks"):
        LogicalVolume.from_row({"lv_name": "a"})


# -- names, references and kinds ------------------------------------------------------


@pytest.mark.parametrize("name", ["data", "a", "A.b+c_d-e", "x" * 127, "_snapshot1", "lvol0"])
def test_good_lv_names(name: str) -> None:
    assert lvm.lv_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("", "1 to 127"),
        ("x" * 128, "1 to 127"),
        ("a/b", "1 to 127"),
        ("../x", "1 to 127"),
        ("a b", "1 to 127"),
        ("é", "1 to 127"),
        ("[hidden]", "1 to 127"),
        ("-rf", "must not start with '-'"),
        (".", "reserved by LVM"),
        ("..", "reserved by LVM"),
        ("snapshot", "reserved by LVM"),
        ("snapshot1", "starting with 'snapshot' are reserved by LVM"),
        ("pvmove", "reserved by LVM"),
        ("pvmove0", "starting with 'pvmove' are reserved by LVM"),
        ("pool_tdata", "reserved for LVM's internal"),
        ("lv_rimage_0", "reserved for LVM's internal"),
        ("x_mlog", "reserved for LVM's internal"),
    ],
)
def test_bad_lv_names(name: str, cause: str) -> None:
    assert cause in (lvm.lv_name_problem(name) or "")


BAD_REFERENCES = [
    ("data", "must be a dict"),
    ({}, "must be a dict"),
    ({"source-name": "data", "source-id": UUID_A}, "must be a dict"),
    ({"name": "data"}, "unexpected key"),
    ({"source-name": 42}, "must be a string"),
    ({"source-name": None}, "must be a string"),
    ({"source-id": "not-a-uuid"}, "LV uuid"),
    ({"source-id": UUID_A + "x"}, "LV uuid"),
    ({"source-name": "-x"}, "must not start"),
    ({"source-name": "vg0/data"}, "1 to 127"),
    ({"source-name": "snapshot"}, "reserved"),
    ({"source-name": f"volume-{OTHER_ID}"}, "managed form"),
]


@pytest.mark.parametrize(("reference", "cause"), BAD_REFERENCES)
def test_bad_references_are_refused_before_any_command(
    driver: LvmDriver, fake_lvm: FakeLvm, reference: Any, cause: str
) -> None:
    for call in (driver.get_size, driver.manage, driver.undo_manage):
        with pytest.raises(exception.ManageExistingInvalidReference, match=cause):
            call(vol(VOLUME_ID), reference)
    assert fake_lvm.calls == []


KIND_CASES = [
    (lv_row("s", attr="swi-a-s---", origin="o"), "a snapshot"),
    (lv_row("o", attr="owi-a-s---"), "the origin of a snapshot"),
    (lv_row("t", attr="twi-a-tz--", lv_role="private,thin,pool"), "a thin pool"),
    (lv_row("ts", attr="Vwi-a-tz--", origin="thin"), "a snapshot of thin"),
    (lv_row("thin", attr="Vwi-a-tz--"), "origin of a snapshot; adopt it with its snapshots"),
    (lv_row("m", attr="ewi-a-----"), "metadata"),
    (lv_row("q", attr="qwi-a-----"), "unsupported type 'q'"),
    (lv_row("p", attr="-wi-a---p-"), "partial"),
    (lv_row("busy", attr="-wi-ao----"), "open (in use)"),
    (lv_row("priv", attr="-wi-a-----", lv_role="private"), "internal"),
]


@pytest.mark.parametrize(("row", "cause"), KIND_CASES)
def test_lv_kinds_that_are_refused(
    driver: LvmDriver, fake_lvm: FakeLvm, row: dict[str, str], cause: str
) -> None:
    fake_lvm.rows.extend([row, lv_row("ts-origin-holder", attr="Vwi-a-tz--", origin="thin")])
    before = json.dumps(fake_lvm.rows)
    for call in (driver.get_size, driver.manage):
        with pytest.raises(exception.ManageExistingInvalidReference, match=re.escape(cause)):
            call(vol(VOLUME_ID), {"source-name": row["lv_name"]})
    assert json.dumps(fake_lvm.rows) == before


@pytest.mark.parametrize("attr", ["-wi-a-----", "Vwi-a-tz--", "rwi-a-r---", "-wi-XX----", "-wi"])
def test_lv_kinds_that_may_be_managed(driver: LvmDriver, fake_lvm: FakeLvm, attr: str) -> None:
    fake_lvm.rows.append(lv_row("ok", 2 * GIB, attr))
    assert driver.get_size(vol(VOLUME_ID), {"source-name": "ok"}) == 2


# -- commands -------------------------------------------------------------------------


def test_commands_are_argument_lists_behind_the_root_helper(
    tmp_path: Path, fake_lvm: FakeLvm
) -> None:
    driver = make_driver(
        tmp_path,
        lvm_backend__root_helper="sudo -n",
        lvm_backend__lvm_conf_dir="/etc/volmgr/lvm",
    )
    driver.get_size(vol(VOLUME_ID), {"source-name": "data"})
    (call,) = fake_lvm.calls
    assert call[:6] == (
        "sudo",
        "-n",
        "env",
        "LC_ALL=C",
        "LVM_SUPPRESS_FD_WARNINGS=1",
        "LVM_SYSTEM_DIR=/etc/volmgr/lvm",
    )
    assert call[6:9] == ("lvs", "--reportformat", "json")
    assert call[-1] == "vg0"


def test_without_root_helper_or_conf_dir(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    driver.get_size(vol(VOLUME_ID), {"source-name": "data"})
    assert fake_lvm.calls[0][:4] == ("env", "LC_ALL=C", "LVM_SUPPRESS_FD_WARNINGS=1", "lvs")


def test_a_missing_vg_is_an_invalid_reference(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    fake_lvm.stderr["lvs"] = (5, VG_MISSING)
    with pytest.raises(exception.ManageExistingInvalidReference, match="vg0 does not exist"):
        driver.get_size(vol(VOLUME_ID), {"source-name": "data"})
    fake_lvm.stderr["lvs"] = (5, VG_MISSING)
    with pytest.raises(exception.VolumeDriverException, match="not found"):
        driver.list_manageable({}, PageRequest(limit=10, sort=(("reference", "asc"),)))


def test_missing_lvm_tools_say_what_to_install(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    fake_lvm.stderr["vgs"] = (127, "env: 'vgs': No such file or directory")
    with pytest.raises(exception.VolumeDriverException, match="install lvm2"):
        driver.do_setup()


def test_a_hung_command_is_ended_and_reported(
    driver: LvmDriver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    processes: list[subprocess.Popen[bytes]] = []

    def hang(*cmd: str, **kwargs: Any) -> tuple[str, str]:
        processes.append(subprocess.Popen(["sleep", "60"]))
        kwargs["on_execute"](processes[-1])
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    monkeypatch.setattr(lvm.processutils, "execute", hang)
    with pytest.raises(exception.VolumeDriverException, match=r"lvs .*timed out after 120 s"):
        driver.list_manageable({}, PageRequest(limit=10, sort=(("reference", "asc"),)))
    assert processes[0].poll() is not None


def test_do_setup_refuses_a_template_lvm_cannot_take(tmp_path: Path, fake_lvm: FakeLvm) -> None:
    driver = make_driver(tmp_path, volume__volume_name_template="vol/%s")
    with pytest.raises(exception.VolumeDriverException, match="volume_name_template"):
        driver.do_setup()


def test_do_setup_checks_the_vg(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    driver.do_setup()
    fake_lvm.stderr["vgs"] = (5, VG_MISSING)
    with pytest.raises(exception.VolumeDriverException, match="vg0 is not usable"):
        driver.do_setup()


# -- manage and undo ------------------------------------------------------------------


@pytest.mark.parametrize("reference", [{"source-name": "data"}, {"source-id": UUID_A}])
def test_manage_tags_then_renames_and_undo_reverses_both(
    driver: LvmDriver, fake_lvm: FakeLvm, reference: dict[str, str]
) -> None:
    original = json.dumps(fake_lvm.rows)
    volume = recorded(VOLUME_ID, UUID_A)
    assert driver.get_size(volume, reference) == 4
    assert driver.manage(volume, reference, identity=UUID_A) == MANAGED
    row = fake_lvm.rows[0]
    # Only a source-id reference needs the tag: a source-name reference is the name.
    tags = f"volmgr-origin:{VOLUME_ID}:data" if "source-id" in reference else ""
    assert (row["lv_name"], row["lv_tags"]) == (MANAGED, tags)
    assert driver.get_size(volume, reference) == 4
    assert driver.manage(volume, reference, identity=UUID_A) == MANAGED
    driver.undo_manage(volume, reference)
    assert json.dumps(fake_lvm.rows) == original


def test_one_metadata_commit_per_manage_and_one_read_for_a_batch(
    driver: LvmDriver, fake_lvm: FakeLvm
) -> None:
    fake_lvm.rows[:] = [lv_row(f"lv{n}", uuid=f"UUID{n:02d}-{UUID_A[7:]}") for n in range(9)]
    calls = [
        (recorded(f"{n:08d}-2222-3333-4444-555555555555"), {"source-name": f"lv{n}"}, None)
        for n in range(8)
    ]
    fake_lvm.calls.clear()
    assert driver.manage_many(calls) == [f"volume-{v['id']}" for v, _, _ in calls]
    commands = [command_of(call) for call in fake_lvm.calls]
    assert commands == ["lvs"] + ["lvrename"] * 8 + ["lvs"]
    fake_lvm.calls.clear()  # the read after the renames serves the next checks
    assert driver.get_size(recorded(VOLUME_ID), {"source-name": "lv8"}) == 1
    assert fake_lvm.calls == []
    # ... but never a refusal: an LV the report does not show is looked for again.
    fake_lvm.rows.append(lv_row("late"))
    assert driver.get_size(recorded(VOLUME_ID), {"source-name": "late"}) == 1
    assert [command_of(call) for call in fake_lvm.calls] == ["lvs"]


def test_a_manage_interrupted_after_tagging_is_completed_or_undone(
    driver: LvmDriver, fake_lvm: FakeLvm
) -> None:
    reference = {"source-id": UUID_A}
    fake_lvm.stderr["lvrename"] = (5, "  simulated crash\n")
    with pytest.raises(exception.VolumeDriverException, match="simulated crash"):
        driver.manage(vol(VOLUME_ID), reference)
    assert fake_lvm.rows[0]["lv_tags"] == f"volmgr-origin:{VOLUME_ID}:data"
    driver.undo_manage(vol(VOLUME_ID), reference)
    assert (fake_lvm.rows[0]["lv_name"], fake_lvm.rows[0]["lv_tags"]) == ("data", "")
    fake_lvm.stderr["lvrename"] = (5, "  simulated crash\n")
    with pytest.raises(exception.VolumeDriverException):
        driver.manage(vol(VOLUME_ID), reference)
    assert driver.manage(vol(VOLUME_ID), reference) == MANAGED
    assert fake_lvm.rows[0]["lv_tags"] == f"volmgr-origin:{VOLUME_ID}:data"


def test_a_source_name_manage_interrupted_at_the_rename_leaves_nothing(
    driver: LvmDriver, fake_lvm: FakeLvm
) -> None:
    original = json.dumps(fake_lvm.rows)
    fake_lvm.stderr["lvrename"] = (5, "  simulated crash\n")
    with pytest.raises(exception.VolumeDriverException, match="simulated crash"):
        driver.manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_A)
    assert json.dumps(fake_lvm.rows) == original
    driver.undo_manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_A)
    assert json.dumps(fake_lvm.rows) == original


def test_a_lost_race_for_the_lv_is_a_clear_invalid_reference(
    driver: LvmDriver, fake_lvm: FakeLvm
) -> None:
    fake_lvm.stderr["lvrename"] = (
        5,
        '  Existing logical volume "data" not found in volume group "vg0"\n',
    )
    with pytest.raises(exception.ManageExistingInvalidReference, match="concurrent manage"):
        driver.manage(vol(VOLUME_ID), {"source-name": "data"})


def test_manage_refuses_a_taken_managed_name(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    fake_lvm.rows.append(lv_row(MANAGED))
    with pytest.raises(exception.VolumeDriverException, match="already exists"):
        driver.manage(vol(VOLUME_ID), {"source-name": "data"})
    assert names(fake_lvm) == ["data", "other", MANAGED]


def test_an_lv_managed_by_another_volume_is_refused_by_uuid(
    driver: LvmDriver, fake_lvm: FakeLvm
) -> None:
    driver.manage(vol(OTHER_ID), {"source-name": "data"})
    with pytest.raises(exception.ManageExistingInvalidReference, match="already managed as"):
        driver.manage(vol(VOLUME_ID), {"source-id": UUID_A})
    driver.undo_manage(vol(VOLUME_ID), {"source-id": UUID_A})
    assert names(fake_lvm) == [f"volume-{OTHER_ID}", "other"]


def test_undo_leaves_alone_a_managed_name_it_did_not_tag(
    driver: LvmDriver, fake_lvm: FakeLvm
) -> None:
    fake_lvm.rows.append(lv_row(MANAGED))
    with pytest.raises(exception.VolumeDriverException, match="no volmgr-origin"):
        driver.undo_manage(vol(VOLUME_ID), {"source-name": "data"})
    assert names(fake_lvm) == ["data", "other", MANAGED]


@pytest.mark.parametrize("reference", [{"source-name": "other"}, {"source-id": UUID_B}])
def test_undo_refuses_to_put_back_another_lv(
    driver: LvmDriver, fake_lvm: FakeLvm, reference: dict[str, str]
) -> None:
    driver.manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_A)
    with pytest.raises(exception.VolumeDriverException, match="not"):
        driver.undo_manage(vol(VOLUME_ID), reference, identity=UUID_A)
    assert names(fake_lvm) == [MANAGED, "other"]


def test_undo_refuses_when_the_original_name_is_taken(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    driver.manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_A)
    fake_lvm.rows.append(lv_row("data"))
    with pytest.raises(exception.VolumeDriverException, match="name is taken"):
        driver.undo_manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_A)


def test_unmanage_only_tags_the_lv_released(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    driver.manage(vol(VOLUME_ID), {"source-name": "data"})
    fake_lvm.calls.clear()
    driver.unmanage(dict(vol(VOLUME_ID), provider_location=MANAGED))
    driver.unmanage(vol(OTHER_ID))  # no LV: nothing to tag
    assert [call[3] for call in fake_lvm.calls] == ["lvs", "lvchange", "lvs"]
    (orphan,) = driver.list_managed_objects()
    assert (orphan.name, orphan.identity) == (MANAGED, UUID_A)
    assert orphan.released_at is not None
    assert orphan.marks == (f"volmgr-released={orphan.released_at}",)
    driver.unmanage(dict(vol(VOLUME_ID), provider_location=MANAGED))  # once tagged, no more
    assert [call[3] for call in fake_lvm.calls][-1] == "lvs"


# -- listing and capabilities ---------------------------------------------------------


def test_listing_reasons_and_extra_info(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    fake_lvm.rows += [row for row, _ in KIND_CASES] + [lv_row(f"volume-{OTHER_ID}")]
    fake_lvm.rows.append(lv_row(MANAGED, 2 * GIB))
    entries = driver.list_manageable(
        {MANAGED: VOLUME_ID}, PageRequest(limit=100, sort=(("reference", "asc"),))
    )
    by_name = {entry["reference"]["source-name"]: entry for entry in entries}
    assert len(by_name) == len(fake_lvm.rows)
    assert by_name["data"]["safe_to_manage"] is True
    assert by_name["data"]["extra_info"] == {"lv_uuid": UUID_A, "lv_attr": "-wi-a-----"}
    assert by_name[MANAGED]["reason_not_safe"] == "already managed"
    assert by_name[MANAGED]["cinder_id"] == VOLUME_ID
    assert "managed form" in by_name[f"volume-{OTHER_ID}"]["reason_not_safe"]
    # The origin "o" of the classic snapshot "s" is listed as a chain to adopt at once;
    # the thin origin's chain is refused for its thin snapshot.
    assert by_name["o"]["safe_to_manage"] is True
    assert by_name["o"]["extra_info"]["chain"] == ["s"]
    assert "not a snapshot" in by_name["thin"]["reason_not_safe"]
    for row, cause in KIND_CASES:
        if row["lv_name"] not in ("o", "thin"):
            assert cause in by_name[row["lv_name"]]["reason_not_safe"]


def test_listing_runs_one_command_per_page(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    fake_lvm.rows += [lv_row(f"lv{n:04}", (n % 7 + 1) * GIB) for n in range(500)]
    page = driver.list_manageable(
        {}, PageRequest(marker="lv0100", limit=50, offset=10, sort=(("reference", "asc"),))
    )
    assert [entry["reference"]["source-name"] for entry in page][:2] == ["lv0111", "lv0112"]
    assert len(page) == 50
    by_size = driver.list_manageable({}, PageRequest(limit=5, sort=(("size", "desc"),)))
    assert [entry["size"] for entry in by_size] == [7] * 5
    assert len(fake_lvm.calls) == 2


def test_capabilities(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    driver.manage(vol(VOLUME_ID), {"source-name": "data"})
    caps = driver.get_capabilities()
    assert caps["storage_protocol"] == "lvm"
    (pool,) = caps["pools"]
    assert pool["pool_name"] == "vg0"
    assert (pool["total_capacity_gb"], pool["free_capacity_gb"]) == (100.0, 0.0)
    assert pool["allocated_capacity_gb"] == 4


def test_capabilities_use_the_configured_pool_name(tmp_path: Path, fake_lvm: FakeLvm) -> None:
    driver = make_driver(tmp_path, lvm_backend__pool_name="fast")
    assert driver.get_capabilities()["pools"][0]["pool_name"] == "fast"


# -- fuzzed references ------------------------------------------------------------------


LV_NAME = r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}"


def assert_names_only_vg0(call: tuple[str, ...], reference: Any) -> None:
    """The LVs a command names are ``vg0/<lv>`` or, for lvrename, ``vg0 <lv> <lv>``."""
    args = list(call[call.index("env") + 1 :])
    while "=" in args[0]:
        args.pop(0)
    command, rest = args[0], args[1:]
    if command == "lvrename":
        assert rest[:2] == ["--yes", "vg0"], (reference, call)
        assert all(re.fullmatch(LV_NAME, name) for name in rest[2:]), (reference, call)
        assert ".." not in rest[2:], (reference, call)
    elif command == "lvchange":
        assert re.fullmatch(rf"vg0/{LV_NAME}", rest[-1]), (reference, call)
    else:
        assert command in ("lvs", "vgs") and rest[-1] == "vg0", (reference, call)


def test_fuzzed_references_never_reach_outside_the_volume_group(
    driver: LvmDriver, fake_lvm: FakeLvm
) -> None:
    """Random names and ids: only an existing LV of vg0 is ever touched, and put back."""
    rng = random.Random(20261126)
    alphabet = "ad/.-_+@ \x00\n"
    values = ["data", "other", UUID_A, UUID_B, "../data", "/dev/vg0/data", "vg1/data"]
    before = sorted(names(fake_lvm))
    accepted = set()
    for i in range(2000):
        if rng.random() < 0.2:
            value: Any = rng.choice(values)
        else:
            value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        key = rng.choice(["source-name", "source-name", "source-id", "source-path"])
        reference = {key: value}
        volume = vol(f"{i:08d}-2222-3333-4444-555555555555")
        fake_lvm.calls.clear()
        try:  # as the flow does: identify, then manage that LV
            identity = driver.get_identity(volume, reference)
            driver.manage(volume, reference, identity=identity)
        except exception.ManageExistingInvalidReference:
            assert sorted(names(fake_lvm)) == before, reference
        else:
            accepted.add(value)
            driver.undo_manage(volume, reference, identity=identity)
            assert sorted(names(fake_lvm)) == before, reference
        for call in fake_lvm.calls:
            assert_names_only_vg0(call, reference)
    assert accepted == {"data", "other", UUID_A, UUID_B}


# -- the name -> uuid identity at the rename -------------------------------------------


class SwappingLvm(FakeLvm):
    """A FakeLvm where another process swaps the names of two LVs (through a third
    name) right before the next ``lvrename`` of the driver."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        super().__init__(rows)
        self.swap: tuple[str, str] | None = None

    def lvrename(self, args: list[str]) -> str:
        if self.swap is not None:
            first, second = self.swap
            self.swap = None
            self._row(first)["lv_name"] = "swap-tmp"
            self._row(second)["lv_name"] = first
            self._row("swap-tmp")["lv_name"] = second
        return super().lvrename(args)


@pytest.fixture
def swapping_lvm(monkeypatch: pytest.MonkeyPatch) -> SwappingLvm:
    fake = SwappingLvm([lv_row("data", 3 * GIB + 1, uuid=UUID_A), lv_row("other", uuid=UUID_B)])
    monkeypatch.setattr(lvm.processutils, "execute", fake)
    return fake


def test_get_identity_is_the_lv_uuid(driver: LvmDriver, fake_lvm: FakeLvm) -> None:
    assert driver.get_identity(vol(VOLUME_ID), {"source-name": "data"}) == UUID_A
    assert driver.get_identity(vol(VOLUME_ID), {"source-id": UUID_B}) == UUID_B
    driver.manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_A)
    # A resumed flow: the row holds the identity recorded before the rename.
    assert driver.get_identity(recorded(VOLUME_ID, UUID_A), {"source-name": "data"}) == UUID_A
    with pytest.raises(exception.ManageExistingInvalidReference, match="no logical volume"):
        driver.get_identity(recorded(VOLUME_ID, UUID_B), {"source-name": "data"})


def test_describe_gives_the_uuid_original_name_and_bytes(
    driver: LvmDriver, fake_lvm: FakeLvm
) -> None:
    by_name = driver.describe(vol(VOLUME_ID), {"source-name": "data"})
    assert by_name == BackendObject(UUID_A, "data", 3 * GIB + 1)
    by_uuid = driver.describe(vol(VOLUME_ID), {"source-id": UUID_B})
    assert by_uuid == BackendObject(UUID_B, "other", GIB)
    driver.manage(vol(VOLUME_ID), {"source-id": UUID_B}, identity=UUID_B)
    # A resumed flow by uuid finds the LV renamed: its old name is no longer known.
    resumed = driver.describe(recorded(VOLUME_ID, UUID_B), {"source-id": UUID_B})
    assert resumed == BackendObject(UUID_B, None, GIB)


def test_manage_refuses_another_lv_than_the_one_identified(
    driver: LvmDriver, fake_lvm: FakeLvm
) -> None:
    with pytest.raises(exception.ManageExistingInvalidReference, match="not the LV"):
        driver.manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_B)
    assert names(fake_lvm) == ["data", "other"]


def test_an_lv_swapped_in_before_the_rename_is_renamed_back_and_refused(
    tmp_path: Path, swapping_lvm: SwappingLvm
) -> None:
    driver = make_driver(tmp_path)
    swapping_lvm.swap = ("data", "other")
    with pytest.raises(exception.ManageExistingInvalidReference, match="the rename was undone"):
        driver.manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_A)
    by_name = {row["lv_name"]: row for row in swapping_lvm.rows}
    assert sorted(by_name) == ["data", "other"]
    assert by_name["data"]["lv_uuid"] == UUID_B  # where the other process put it
    assert by_name["data"]["lv_tags"] == ""  # the tag the manage gave it is gone
    assert by_name["other"]["lv_uuid"] == UUID_A


def test_undo_moves_only_the_recorded_lv(tmp_path: Path, swapping_lvm: SwappingLvm) -> None:
    driver = make_driver(tmp_path)
    driver.manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_A)
    with pytest.raises(exception.VolumeDriverException, match="leaving it where it is"):
        driver.undo_manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_B)
    assert names(swapping_lvm) == [MANAGED, "other"]
    swapping_lvm.swap = (MANAGED, "other")
    with pytest.raises(exception.VolumeDriverException):
        driver.undo_manage(vol(VOLUME_ID), {"source-name": "data"}, identity=UUID_A)
    by_uuid = {row["lv_uuid"]: row["lv_name"] for row in swapping_lvm.rows}
    assert by_uuid == {UUID_A: "other", UUID_B: MANAGED}  # only the other process moved them
