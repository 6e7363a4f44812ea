"""The chain form of a manage through the REST API and the ``volmgr`` command.

One stack on the image driver with real qemu-img chains: the manageable listing
shows a base with its members in order (``volmgr manageable-list`` in a ``chain``
column); ``volmgr manage HOST BASE --with-snapshots --wait`` adopts the base and its
two overlays in one request and prints the volume with its snapshots; the body's
``with_snapshots`` must be a boolean (400 otherwise), and a chain request named with
``--all-safe`` is refused before anything is sent.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.rest.conftest import Rest, fresh_admin, running_stack, unique
from tests.functional.rest.test_cli import run_apart
from tests.image_support import qemu_img


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rest]:
    """The stack on the image driver; ``files`` is its image directory."""
    with running_stack(tmp_path_factory.mktemp("chains"), volume__volume_driver="image") as stack:
        stack.files = Path(stack.conf.image_backend.directory)
        stack.files.mkdir(parents=True, exist_ok=True)
        yield stack


def make_chain(rest: Rest) -> tuple[str, str, str]:
    """A base with two overlays in a line; their names."""
    base, first, second = (f"{unique(kind)}.qcow2" for kind in ("base", "o1", "o2"))
    qemu_img("create", "-q", "-f", "qcow2", str(rest.files / base), "1G")
    for below, above in ((base, first), (first, second)):
        qemu_img("create", "-q", "-f", "qcow2", "-b", below, "-F", "qcow2",
                 str(rest.files / above))  # fmt: skip
    return base, first, second


def test_the_cli_lists_the_chain_and_adopts_it_in_one_request(
    images: Rest, capsys: pytest.CaptureFixture
) -> None:
    project = unique("chain")
    base, first, second = make_chain(images)
    code, out, err = run_apart(images, capsys, project, "--json", "manageable-list", images.backend)
    assert code == 0, err
    [entry] = [e for e in json.loads(out) if e["reference"] == {"source-name": base}]
    assert entry["chain"] == f"{first} <- {second}"
    args = ("--json", "manage", images.backend, base, "--with-snapshots", "--wait")
    code, out, err = run_apart(images, capsys, project, *args)
    assert code == 0, out + err
    volume = json.loads(out)
    assert volume["status"] == "available"
    snapshot_ids = volume["snapshots"].split()
    assert len(snapshot_ids) == 2
    code, out, err = run_apart(images, capsys, project, "--json", "snapshot-list")
    listed = {row["ID"]: row for row in json.loads(out)}
    assert set(snapshot_ids) <= set(listed)
    assert {listed[sid]["Status"] for sid in snapshot_ids} == {"available"}
    assert not (images.files / base).exists() and not (images.files / second).exists()


def test_with_snapshots_must_be_a_boolean(images: Rest) -> None:
    headers = fresh_admin()
    base, _, _ = make_chain(images)
    body = images.manage_body(base, with_snapshots="yes")
    response = images.call("POST", "os-volume-manage", body, headers=headers)
    assert response.status_int == 400, response.text
    assert "with_snapshots" in response.text
    assert (images.files / base).exists()


def test_the_chain_form_is_refused_with_all_safe(
    images: Rest, capsys: pytest.CaptureFixture
) -> None:
    args = ("manage", images.backend, "--all-safe", "--with-snapshots")
    code, out, err = run_apart(images, capsys, unique("chain"), *args)
    assert code != 0 and "--with-snapshots adopts one chain" in out + err
