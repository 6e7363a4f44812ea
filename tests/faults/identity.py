"""What the identity fault tests share: the rename race against a real volume daemon.

:func:`run_swap_race` makes ``count`` files in the backend directory, each with a
symbolic link beside it that points to a file outside the directory, manages the
files while a :class:`tests.rename_race.SwapRacer` swaps each file with its link,
then checks that no managed name is a link and that every ``available`` volume's
file is the regular file (device and inode) its row recorded. It puts the racer's
leftovers back (the links removed, each file under a name the invariants know) and
returns the counts for the test to report.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from tests.faults.conftest import (
    Env,
    accepted_ids,
    manage_or_error,
    run_concurrently,
    wait_terminal,
)
from tests.rename_race import SwapRacer, put_back
from volmgr_common.db import models


@dataclass
class RaceOutcome:
    """What one race run showed."""

    managed: int
    available: int
    links_managed: list[str]  # managed names that ended as links
    wrong_identity: list[str]  # available volumes whose file is not the recorded inode
    swaps: int


def identity_of(env: Env, volume_ids: list[str]) -> dict[str, str | None]:
    """``{volume_id: backend_identity}`` as the rows record it."""
    v = models.Volume
    stmt = sa.select(v.id, v.backend_identity).where(v.id.in_(volume_ids))
    with env.db.engine.connect() as connection:
        return {row.id: row.backend_identity for row in connection.execute(stmt)}


def run_swap_race(env: Env, project_id: str, prefix: str, count: int) -> RaceOutcome:
    """Manage ``count`` files while each is swapped with a link to a file outside."""
    outside = env.base_dir / f"outside-{prefix}"
    outside.mkdir()
    secrets: dict[str, str] = {}
    pairs = []
    for i in range(count):
        name = env.new_object(f"{prefix}-{i}.img")
        target = outside / f"secret-{i}"
        target.write_bytes(os.urandom(512))
        secrets[str(target)] = hashlib.sha256(target.read_bytes()).hexdigest()
        link = f"{prefix}-{i}.lnk"
        os.symlink(target, env.directory / link)
        pairs.append((name, link))

    racer = SwapRacer(env.directory, pairs)
    client = env.client()
    racer.start()
    try:
        jobs = [lambda n=n: manage_or_error(env, client, project_id, n) for n, _ in pairs]
        ids = accepted_ids(run_concurrently(jobs, workers=8))
        rows = wait_terminal(env, [project_id], ids)
    finally:
        racer.stop()
    print(f"racer: {racer.swaps} swaps, {racer.misses} misses")

    available = [r for r in rows.values() if r["status"] == "available"]
    links = []
    for row in available:
        path = env.directory / row["provider_location"]
        if path.is_symlink():
            links.append(f"{row['provider_location']} -> {os.readlink(path)}")
    wrong = []
    if not links:
        recorded = identity_of(env, [r["id"] for r in available])
        for row in available:
            st = os.lstat(env.directory / row["provider_location"])
            seen = f"{st.st_dev}:{st.st_ino}"
            if not stat.S_ISREG(st.st_mode) or recorded[row["id"]] != seen:
                wrong.append(f"{row['id']}: file {seen}, row {recorded[row['id']]}")

    # The outside files were never moved or changed.
    for path, digest in secrets.items():
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest, path
    _clean_up(env, pairs, links)
    return RaceOutcome(len(ids), len(available), links, wrong, racer.swaps)


def check_race(outcome: RaceOutcome, count: int, backend: str) -> str:
    """Assert what a swap race must leave: every request decided, no link and no other
    object under a managed name. Returns the summary line the test records."""
    summary = (
        f"{outcome.available} of {outcome.managed} available, {len(outcome.links_managed)} "
        f"managed names are links, {len(outcome.wrong_identity)} with another identity "
        f"({outcome.swaps} swaps)"
    )
    print(f"\n{backend} backend: {summary}")
    assert not outcome.links_managed, f"managed names that are links: {outcome.links_managed}"
    assert not outcome.wrong_identity, outcome.wrong_identity
    assert outcome.managed == count
    return summary


def _clean_up(env: Env, pairs: list[tuple[str, str]], links: list[str]) -> None:
    """Remove the racer's links so that each file ends under a name the invariants know.

    A managed name that is a link (the fault this race finds) is removed too.
    """
    for name, link in pairs:
        put_back(env.directory, name, link)
        if (env.directory / link).is_symlink():
            os.unlink(env.directory / link)
    for entry in links:
        os.unlink(env.directory / entry.partition(" -> ")[0])
