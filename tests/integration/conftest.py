"""Fixtures of the integration tests: real RabbitMQ, real PostgreSQL, real daemons.

Per run: a throwaway RabbitMQ vhost and a throwaway PostgreSQL database (schema made
by ``volmgr-manage db sync``); the three daemons run as processes of their console
scripts, each with its own config and log file in a temporary directory. The broker
and the database must be running: when they are not, every test fails (never skips)
with a message that says how to start them. URLs come from ``VOLMGR_TEST_RABBIT_URL``
and ``VOLMGR_TEST_PG_URL``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration import daemons
from volmgr_common.context import RequestContext
from volmgr_common.db import api as db_api

FACTORY_KEY = pytest.StashKey["daemons.DaemonFactory"]()
LOG_TAIL_LINES = 40


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    """On a failure, add the tail of every daemon's log to the report."""
    report: pytest.TestReport = yield
    factory = item.config.stash.get(FACTORY_KEY, None)
    if report.failed and factory is not None:
        for daemon in factory.daemons:
            if not daemon.log_file.exists() and not daemon.out_file.exists():
                continue
            report.sections.append(
                (f"log tail of {daemon.name} ({daemon.log_file})", daemon.tail(LOG_TAIL_LINES))
            )
    return report


def _setup_problem(step: Callable[[], None]) -> str | None:
    """Run a setup step; the reason it cannot run the tests, or None."""
    try:
        step()
    except daemons.IntegrationSetupError as error:
        return str(error)
    return None


@pytest.fixture(scope="session", autouse=True)
def reachable_services() -> None:
    """Fail (never skip) at once when the broker or the database does not answer."""
    problem = _setup_problem(daemons.check_services_reachable)
    if problem:
        pytest.fail(f"integration tests cannot run: {problem}", pytrace=False)


@pytest.fixture(scope="session")
def transport_url(reachable_services: None) -> Iterator[str]:
    """The broker URL of a throwaway vhost, deleted after the run."""
    vhost = daemons.RabbitVhost(daemons.rabbit_url())
    problem = _setup_problem(vhost.create)
    if problem:
        pytest.fail(problem, pytrace=False)
    yield vhost.url
    vhost.delete()


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("volmgr-it")


@pytest.fixture(scope="session")
def database_url(reachable_services: None, base_dir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL database with the current schema, dropped after the run.

    The schema is made by ``volmgr-manage db sync``, run as a process.
    """
    database = daemons.PostgresDatabase(daemons.pg_url())
    problem = _setup_problem(database.create)
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        conf = daemons.write_config(
            base_dir / "db-sync.conf", {"database": {"connection": database.url}}
        )
        daemons.run_manage(conf, "db", "sync")
        yield database.url
    finally:
        database.drop()


@pytest.fixture(scope="session")
def factory(
    request: pytest.FixtureRequest, base_dir: Path, transport_url: str, database_url: str
) -> Iterator[daemons.DaemonFactory]:
    """Makes daemons; at the end stops every one still running and checks it exited 0."""
    made = daemons.DaemonFactory(base_dir, transport_url, database_url, fault_plugin=True)
    request.config.stash[FACTORY_KEY] = made
    yield made
    problems = made.stop_all()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def db(base_dir: Path, database_url: str) -> Iterator[db_api.Database]:
    """The shared database, opened in the test process for checks."""
    conf = daemons.write_config(
        base_dir / "test-process.conf", {"database": {"connection": database_url}}
    )
    database = daemons.open_database(conf)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def manage_conf(factory: daemons.DaemonFactory) -> Path:
    """A config file for ``volmgr-manage`` on the shared database."""
    return factory.write_config("volmgr-manage")


@dataclass
class Cluster:
    """The three daemons every test shares, and where the volume backend keeps files."""

    api: daemons.Daemon
    scheduler: daemons.Daemon
    volume: daemons.Daemon
    directory: Path

    @property
    def backend_host(self) -> str:
        return self.volume.service_host

    @property
    def daemons(self) -> list[daemons.Daemon]:
        return [self.api, self.scheduler, self.volume]


@pytest.fixture(scope="session")
def cluster(
    factory: daemons.DaemonFactory, db: db_api.Database, base_dir: Path
) -> Iterator[Cluster]:
    """volmgr-api, volmgr-scheduler and volmgr-volume (backend ``files``), running."""
    directory = base_dir / "backend-files"
    directory.mkdir()
    running = Cluster(
        api=factory.create(daemons.API),
        scheduler=factory.create(daemons.SCHEDULER),
        volume=factory.create(daemons.VOLUME, directory=directory),
        directory=directory,
    )
    with daemons.started(running.daemons, db):
        yield running


@pytest.fixture(scope="session")
def client(transport_url: str) -> Iterator[daemons.ApiClient]:
    api = daemons.ApiClient(transport_url, timeout=30)
    yield api
    api.close()


@pytest.fixture
def project_id() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def ctxt(client: daemons.ApiClient, project_id: str) -> RequestContext:
    """An admin request context of a project only this test uses."""
    return client.context(project_id)
