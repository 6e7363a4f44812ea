"""``volmgr_common`` is the shared layer: no module of it imports a daemon package.

Two checks: every module imported in a fresh interpreter leaves no daemon package in
``sys.modules`` (what a process that loads only the shared layer really gets), and no
``import`` statement anywhere in the package, even one inside a function, names a
daemon package (what a runtime check cannot see until the function runs).
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import volmgr_common

DAEMON_PACKAGES = ("volmgr_api", "volmgr_scheduler", "volmgr_volume", "volmgr_all")
ROOT = Path(volmgr_common.__file__).parent
# Alembic runs this file inside a migration (``alembic.context`` is set up there only);
# the static check below still reads its imports.
NOT_IMPORTABLE = {"volmgr_common.db.migrations.env"}

CHILD = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def _is_daemon_module(name: str) -> bool:
    return name.partition(".")[0] in DAEMON_PACKAGES


def test_every_module_is_found() -> None:
    names = {_module_name(path) for path in _sources()}
    assert {"volmgr_common", "volmgr_common.cmd", "volmgr_common.cmd.manage"} <= names
    assert len(names) > 20, names


def test_importing_every_module_loads_no_daemon_package() -> None:
    names = [_module_name(path) for path in _sources()]
    importable = [name for name in names if name not in NOT_IMPORTABLE]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(importable)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    loaded = json.loads(child.stdout)
    assert set(importable) <= set(loaded)
    assert [name for name in loaded if _is_daemon_module(name)] == []


def _imported_names(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_no_import_statement_names_a_daemon_package() -> None:
    found = [
        (str(path.relative_to(ROOT.parent)), name)
        for path in _sources()
        for name in _imported_names(ast.parse(path.read_text(), str(path)))
        if _is_daemon_module(name)
    ]
    assert found == []
