"""The identity and the size of image objects against the real daemons (image backend).

* The rename race of ``test_identity_files`` on the image driver, which reads each
  image's header between its checks and its rename.
* A qcow2 image of virtual size 2^62 bytes (2^32 GiB, beyond a 32-bit column) sent
  in one batch with valid neighbours: every request ends correctly, the huge one
  ``available`` with its size stored and shown.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.faults.conftest import (
    Env,
    admin_context,
    assert_invariants,
    run_concurrently,
)
from tests.faults.identity import check_race, run_swap_race
from tests.image_support import qcow2_header, write_image

OWN_ENV: dict[str, dict[str, Any]] = {
    "volume": {"volume_driver": "image"},
    "quota": {"gigabytes": -1},
}
RACE_COUNT = 100
HUGE_BYTES = 2**62
NEIGHBOURS = 7


def test_rename_race_with_links_outside(
    env: Env, project_id: str, record_property: pytest.RecordProperty
) -> None:
    outcome = run_swap_race(env, project_id, "race-image", RACE_COUNT)
    record_property("observed", check_race(outcome, RACE_COUNT, "image"))
    assert_invariants(env, [project_id])


def test_huge_image_in_a_batch_with_neighbours(env: Env, project_id: str) -> None:
    huge = "huge-2e62.qcow2"
    path = write_image(env.directory / huge, qcow2_header(HUGE_BYTES), 1 << 20)
    with env._lock:
        env.originals[huge] = hashlib.sha256(path.read_bytes()).hexdigest()
    names = [huge] + [env.new_object(f"huge-neighbour-{i}.img") for i in range(NEIGHBOURS)]
    client = env.client()
    ctxt = admin_context(project_id)
    outcomes = run_concurrently(
        [lambda n=n: client.manage(ctxt, env.backend_host, n, name=n) for n in names],
        workers=len(names),
    )
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    ids = {o["name"]: o["id"] for o in outcomes}
    rows = assert_invariants(env, [project_id], list(ids.values()))
    ended = {
        r["display_name"]: (r["status"], r["size"], r["failure_reason"]) for r in rows.values()
    }
    print(f"\nhuge image batch: {ended}")
    assert ended[huge][:2] == ("available", HUGE_BYTES // 2**30), ended[huge]
    for name in names[1:]:
        assert ended[name][:2] == ("available", 1), ended[name]
    shown = client.get_volume(ctxt, ids[huge])
    assert shown["size"] == HUGE_BYTES // 2**30, shown
