"""Fixtures shared by every test layer: a fresh config, a migrated SQLite database,
the fault plugin; the order in which test modules run.

``conf`` needs no database and no network, so pure unit tests can use it; ``db``
adds a SQLite file in the test's temporary directory at the newest schema: the
Alembic migrations (the path ``volmgr-manage db sync`` takes) run once per test
process into a template that each test, and each REST module's stack, copies.
``fault_plugin`` registers
:mod:`tests.fault_plugin` on the hook points for the test.
"""

import atexit
import functools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from tests.fault_plugin import FaultPlugin, installed
from volmgr_common.conf import startup
from volmgr_common.db import api as db_api
from volmgr_common.db import migration

TEST_HOST = "test-node"

# The test modules that take longest, longest first (from ``pytest --durations``; the
# order need not be exact). They run first: tools/run-tests.sh hands whole modules to
# the xdist workers in collection order (``--dist loadfile --no-loadscope-reorder``),
# so a long module left for the end would keep one worker busy while the other idles.
LONGEST_MODULES = (
    # unit, functional, db and integration
    "tests/functional/rest/test_fuzz_openapi.py",
    "tests/functional/rest/test_edge_inputs.py",
    "tests/functional/test_manage_command.py",
    "tests/integration/test_manage_e2e.py",
    "tests/functional/rest/test_orphans.py",
    "tests/db/test_backends.py",
    "tests/functional/rest/test_snapshots.py",
    "tests/functional/rest/test_audit_every_drift.py",
    "tests/functional/rest/test_openstackclient.py",
    "tests/functional/rest/test_cinderclient.py",
    "tests/integration/test_adoption_e2e.py",
    "tests/unit/volume/test_lvm_driver.py",
    "tests/functional/test_failures.py",
    "tests/integration/test_wsgi_e2e.py",
    "tests/integration/test_snapshots_e2e.py",
    "tests/integration/test_sighup.py",
    "tests/functional/rest/test_openstack_services.py",
    "tests/functional/test_chain_manage.py",
    "tests/functional/rest/test_snapshots_lvm.py",
    "tests/functional/test_snapshot_recovery.py",
    # fault suite
    "tests/faults/test_kill_hops.py",
    "tests/faults/test_adoption_kills.py",
    "tests/faults/test_broker_restart.py",
    "tests/faults/test_mixed_run.py",
    "tests/faults/test_isolation.py",
    "tests/faults/test_cluster_takeover.py",
    "tests/faults/test_chain_kills.py",
    "tests/faults/test_adoption_cluster.py",
    "tests/faults/test_adoption_infra.py",
)

ConfFactory = Callable[..., cfg.ConfigOpts]


def module_path(item: pytest.Item) -> str:
    """The test module of ``item`` as its node id names it (``tests/.../test_x.py``)."""
    return item.nodeid.partition("::")[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules of :data:`LONGEST_MODULES` first, in that order; every module
    keeps its tests together and in their order (the sort is stable)."""
    rank = {path: index for index, path in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(module_path(item), len(rank)))


def make_conf(tmp_path: Path, **overrides: Any) -> cfg.ConfigOpts:
    """A parsed ``ConfigOpts`` whose state lives under ``tmp_path``.

    ``overrides`` set options: ``name=value`` for [DEFAULT], ``group__name=value``
    for another group.
    """
    conf = startup.new_conf()
    conf([], project=startup.PROJECT, default_config_files=[], default_config_dirs=[])
    settings: dict[str, Any] = {
        "state_path": str(tmp_path),
        "host": TEST_HOST,
        "report_interval": 1,
        "service_down_time": 10,
        "database__connection": f"sqlite:///{tmp_path / 'volmgr.sqlite'}",
        "file_backend__directory": str(tmp_path / "files"),
    }
    settings.update(overrides)
    for key, value in settings.items():
        group, _, name = key.rpartition("__")
        conf.set_override(name, value, group=group or None)
    return conf


@pytest.fixture
def conf_factory(tmp_path: Path) -> ConfFactory:
    """Build configs under the test's ``tmp_path`` (e.g. for a second backend)."""

    def factory(**overrides: Any) -> cfg.ConfigOpts:
        return make_conf(tmp_path, **overrides)

    return factory


@pytest.fixture
def conf(conf_factory: ConfFactory) -> cfg.ConfigOpts:
    """A fresh config: state, SQLite file and file backend under ``tmp_path``."""
    return conf_factory()


@functools.cache
def migrated_template() -> Path:
    """An SQLite file migrated once per test process (removed when it exits), which
    :func:`start_from_template` copies: faster than running every migration for every
    test or module."""
    directory = Path(tempfile.mkdtemp(prefix="volmgr-schema-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "template.sqlite"
    database = db_api.Database(make_conf(directory, database__connection=f"sqlite:///{path}"))
    migration.sync(database)
    database.dispose()  # the last connection checkpoints the WAL into the file
    return path


def start_from_template(connection: str) -> None:
    """Make the SQLite file of ``connection`` a copy of :func:`migrated_template`,
    unless the file exists (a database of another kind: nothing). A ``migration.sync``
    afterwards finds it at the head already."""
    url = sa.make_url(connection)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        shutil.copyfile(migrated_template(), url.database)


@pytest.fixture
def db(conf: cfg.ConfigOpts) -> Iterator[db_api.Database]:
    """The SQLite database of ``conf``, migrated to the newest schema."""
    start_from_template(conf.database.connection)
    database = db_api.Database(conf)
    migration.sync(database)  # at head already when copied: only checks the revision
    yield database
    database.dispose()


@pytest.fixture
def fault_plugin(tmp_path: Path) -> Iterator[FaultPlugin]:
    """The fault plugin registered for the test: a request's ``_fault`` metadata acts."""
    with installed(tmp_path / "faults") as plugin:
        yield plugin
