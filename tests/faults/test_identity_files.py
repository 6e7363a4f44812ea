"""The identity of a file object against the real daemons (file backend).

* A rename race: each file is swapped with a symbolic link to a file outside the
  directory (``renameat2(RENAME_EXCHANGE)`` in a loop, bounded in count and time)
  while it is managed. No managed name may end as a link, and every ``available``
  volume's file must be the regular file (device and inode) its row recorded.
* Hard links: a file's identity is its inode, not its name. A hard link to a file
  outside the directory, and a hard link to another volume's managed file, are both
  refused (link count above 1), and the invariants hold.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.faults.conftest import Env, admin_context, assert_invariants, wait_terminal
from tests.faults.identity import check_race, run_swap_race

RACE_COUNT = 150


def test_rename_race_with_links_outside(
    env: Env, project_id: str, record_property: pytest.RecordProperty
) -> None:
    outcome = run_swap_race(env, project_id, "race-file", RACE_COUNT)
    record_property("observed", check_race(outcome, RACE_COUNT, "file"))
    assert_invariants(env, [project_id])


def _manage_to_end(env: Env, project_id: str, name: str) -> dict[str, object]:
    volume = env.client().manage(admin_context(project_id), env.backend_host, name, name=name)
    rows = assert_invariants(env, [project_id], [volume["id"]])
    return rows[volume["id"]]


def test_hard_link_to_a_file_outside_is_refused(env: Env, project_id: str) -> None:
    outside = env.base_dir / "outside-hard-link"
    outside.mkdir()
    secret = outside / "secret"
    secret.write_bytes(os.urandom(4096))
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    name = "hard-link-outside.img"
    os.link(secret, env.directory / name)
    with env._lock:
        env.originals[name] = digest

    row = _manage_to_end(env, project_id, name)
    assert row["status"] == "error_managing", row
    assert "link" in str(row["failure_reason"]), row["failure_reason"]
    assert (env.directory / name).exists() and secret.exists()
    assert os.stat(secret).st_nlink == 2


def test_hard_link_to_a_managed_file_is_refused(env: Env, project_id: str) -> None:
    first = _manage_to_end(env, project_id, env.new_object("hard-link-first.img"))
    assert first["status"] == "available", first
    managed = env.directory / str(first["provider_location"])
    second_name = "hard-link-second.img"
    os.link(managed, env.directory / second_name)
    volume = env.client().manage(
        admin_context(project_id), env.backend_host, second_name, name=second_name
    )
    # Invariant 3 is checked once the test's own second name is gone (it shares a content).
    second = wait_terminal(env, [project_id], [volume["id"]])[volume["id"]]
    for leftover in (second_name, f"volume-{volume['id']}"):
        if (env.directory / leftover).exists():
            os.unlink(env.directory / leftover)
    assert second["status"] == "error_managing", (
        f"one inode held by two available volumes: {first['id']} and {second['id']}"
    )
    assert "link" in str(second["failure_reason"]), second["failure_reason"]
    assert managed.exists() and os.stat(managed).st_nlink == 1
    assert_invariants(env, [project_id])
