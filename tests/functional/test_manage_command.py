"""``volmgr-manage`` as an operator runs it: the README's examples, its output and its errors.

The commands run as processes of the installed console script, in a fresh
directory, against the SQLite database they create there; a volume type made by
``type create`` then places manage requests on the backend it names.
"""

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from oslo_config import cfg

from tests.conftest import make_conf
from tests.functional.stack import GIB, Stack, make_file
from volmgr_all import cmd as all_cmd
from volmgr_common.cmd import manage
from volmgr_common.conf import startup
from volmgr_common.db import api as db_api
from volmgr_common.db import services as services_db
from volmgr_common.db import volume_record
from volmgr_common.db import volume_types as types_db

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = shutil.which("volmgr-manage", path=str(Path(sys.executable).parent))


def readme_block(title: str) -> list[str]:
    """The commands of the literal block after the text that ends ``title::`` in README.rst."""
    text = (ROOT / "README.rst").read_text()
    match = re.search(rf"{re.escape(title)}::\n\n((?:  .*\n|\n)+)", text)
    assert match, f"README.rst has no block {title!r}"
    lines = [line.split("#")[0].strip() for line in match.group(1).splitlines()]
    return [line for line in lines if line]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert SCRIPT, "the volmgr-manage console script is not installed"
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_readmes_administration_examples_run_as_written(tmp_path: Path) -> None:
    commands = readme_block("COLUMN`` as in the OpenStack client")
    assert "volmgr-manage type create gold volume_backend_name=files" in commands
    for command in commands:
        program, *args = command.split()
        assert program == "volmgr-manage"
        done = run(tmp_path, *args)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        if args[:2] in (["quota", "check"], ["quota", "sync"]):
            assert done.stdout.strip() == ""  # no drift: no rows, and a line that says so
            assert done.stderr == "quota usage matches the volumes: no drift\n"
    types = json.loads(run(tmp_path, "type", "list", "-f", "json").stdout)
    assert [(t["Name"], t["Extra Specs"]) for t in types] == [
        ("gold", {"volume_backend_name": "files"})
    ]
    assert (tmp_path / startup.LOCAL_STATE_DIR / "volmgr.sqlite").is_file()


def test_output_formats_and_one_line_errors(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "sync").returncode == 0
    created = run(tmp_path, "type", "create", "silver", "tier=2", "-f", "json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["Extra Specs"] == {"tier": "2"}
    table = run(tmp_path, "type", "list").stdout.splitlines()
    assert table[1].split("|")[1:3] == [" ID                                   ", " Name   "]
    assert run(tmp_path, "type", "list", "-f", "value", "-c", "name").stdout == "silver\n"
    csv = run(tmp_path, "quota", "show", "p1", "-f", "csv", "-c", "Resource", "-c", "Limit")
    assert csv.stdout.splitlines()[:2] == ['"Resource","Limit"', '"gigabytes",100000']

    bad_spec = run(tmp_path, "type", "create", "bronze", "tier")
    assert (bad_spec.returncode, bad_spec.stderr) == (
        2,
        "volmgr-manage: error: extra specs are KEY=VALUE, not 'tier'\n",
    )
    unknown = run(tmp_path, "quota", "set", "p1", "gigabites", "5")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "volmgr-manage: error: unknown quota resource 'gigabites'; known: volumes, "
        "snapshots, gigabytes, volumes_silver, snapshots_silver, gigabytes_silver\n"
    )
    # The snapshot resources that quota show lists take a limit too.
    for resource in ("snapshots", "snapshots_silver"):
        assert run(tmp_path, "quota", "set", "p1", resource, "7").returncode == 0
    shown = run(tmp_path, "quota", "show", "p1", "-f", "json").stdout
    limits = {row["Resource"]: row["Limit"] for row in json.loads(shown)}
    assert (limits["snapshots"], limits["snapshots_silver"]) == (7, 7)
    assert "gigabites" not in run(tmp_path, "quota", "show", "p1").stdout
    taken = run(tmp_path, "type", "create", "silver")
    assert taken.returncode == 1
    assert taken.stderr.splitlines()[-1].endswith("volume type 'silver' already exists")


@pytest.mark.parametrize(
    ("text", "expected"),
    [(["a=b"], {"a": "b"}), (["a=b=c", "d="], {"a": "b=c", "d": ""}), ([], {})],
)
def test_specs_parse(text: list[str], expected: dict[str, str]) -> None:
    assert manage.parse_specs(text) == expected


@pytest.mark.parametrize("text", ["a", "=b", " =b"])
def test_malformed_specs_are_refused(text: str) -> None:
    with pytest.raises(manage.UsageError, match="KEY=VALUE"):
        manage.parse_specs([text])


@pytest.mark.parametrize("text", ["x", "1.5", "-2"])
def test_malformed_limits_are_refused(text: str) -> None:
    with pytest.raises(manage.UsageError):
        manage.parse_limit(text)


def test_volmgr_all_and_volmgr_manage_find_the_same_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[cfg.ConfigOpts] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(all_cmd, "run", lambda _prog, conf, _builders, sync: seen.append(conf))
    all_cmd.main([])
    [all_conf] = seen
    assert run(tmp_path, "db", "sync").returncode == 0
    database = tmp_path / startup.LOCAL_STATE_DIR / "volmgr.sqlite"
    assert all_conf.database.connection == f"sqlite:///{database}"
    assert database.is_file()


def test_a_type_tied_to_a_backend_places_its_volumes_there(
    stack: Stack, conf_factory: Callable[..., cfg.ConfigOpts]
) -> None:
    backend_name = stack.conf.volume.backend_name
    types_db.create(stack.db, "gold", {"volume_backend_name": backend_name})
    types_db.create(stack.db, "elsewhere", {"volume_backend_name": "no-such-backend"})
    make_file(stack.files / "gold.img", GIB)
    make_file(stack.files / "other.img", GIB)

    gold = stack.wait_terminal(stack.manage("gold.img", volume_type="gold")["id"])
    other = stack.wait_terminal(stack.manage("other.img", volume_type="elsewhere")["id"])

    assert (gold["status"], gold["host"]) == (volume_record.AVAILABLE, f"{stack.backend}#default")
    assert other["status"] == volume_record.ERROR_MANAGING
    assert "volume_backend_name" in other["failure_reason"]


def test_the_demo_tells_its_story_without_log_lines(tmp_path: Path) -> None:
    script = shutil.which("volmgr-all", path=str(Path(sys.executable).parent))
    assert script, "the volmgr-all console script is not installed"
    done = subprocess.run(
        [script, "--demo"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    story = done.stdout.splitlines()
    assert story[0].startswith("volmgr-all demo: state in ")
    assert [line.split()[1] for line in story if line.strip().startswith("status")] == [
        "available",
        "error_managing",
    ]
    log = (tmp_path / startup.LOCAL_STATE_DIR / "volmgr-all.log").read_text()
    assert "error_managing" in log


def test_service_disable_and_enable(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "sync").returncode == 0
    state = tmp_path / startup.LOCAL_STATE_DIR
    db = db_api.Database(make_conf(state, database__connection=f"sqlite:///{state}/volmgr.sqlite"))
    services_db.register(db, "node1@files", "volmgr-volume", "volmgr-volume", "nova")

    done = run(tmp_path, "service", "disable", "node1@files", "cinder-volume", "--reason", "disk")
    assert done.returncode == 0, done.stderr
    assert "| Disabled Reason | disk" in done.stdout
    row = services_db.get_by_host(db, "node1@files", "volmgr-volume")
    assert (row["disabled"], row["disabled_reason"]) == (True, "disk")

    done = run(tmp_path, "service", "enable", "node1@files", "volmgr-volume", "-f", "json")
    assert json.loads(done.stdout) == {
        "Host": "node1@files",
        "Binary": "volmgr-volume",
        "Status": "enabled",
        "Disabled Reason": None,
    }
    missing = run(tmp_path, "service", "enable", "node2@files", "volmgr-volume")
    assert (missing.returncode, missing.stderr) == (
        1,
        "volmgr-manage: error: Service volmgr-volume on host node2@files could not be found.\n",
    )
    db.dispose()


def test_service_list_shows_the_cluster_of_each_member(
    tmp_path: Path, conf_factory: Callable[..., cfg.ConfigOpts]
) -> None:
    assert run(tmp_path, "db", "sync").returncode == 0
    path = tmp_path / startup.LOCAL_STATE_DIR / "volmgr.sqlite"
    db = db_api.Database(conf_factory(database__connection=f"sqlite:///{path}"))
    try:
        for host, cluster in (("node1@files", "c1@files"), ("lone@files", None)):
            services_db.register(
                db, host, "volmgr-volume", "volmgr-volume", "nova", cluster_name=cluster
            )
    finally:
        db.dispose()
    listed = json.loads(run(tmp_path, "service", "list", "-f", "json").stdout)
    assert {s["Host"]: s["Cluster"] for s in listed} == {
        "lone@files": "",
        "node1@files": "c1@files",
    }
