"""A volume's provenance over REST: ``os-vol-provenance-attr:provenance`` in its detail,
for administrators only (policy ``volume_extension:volume_provenance_attribute``)."""

import os

import pytest

from tests.functional.rest.conftest import GIB, Rest, fresh_admin, fresh_member, identity
from volmgr_common import provenance

ATTRIBUTE = "os-vol-provenance-attr:provenance"


def manage_file(rest: Rest, headers: dict[str, str], size: int) -> tuple[dict, os.stat_result]:
    """Manage a new file of ``size`` bytes as ``headers``; its view and the file's stat
    before the manage."""
    name = rest.make_file(size=size)
    st = (rest.files / name).stat()
    response = rest.call("POST", "os-volume-manage", rest.manage_body(name), headers=headers)
    assert response.status_int == 202, response.text
    volume = rest.wait_status(response.json["volume"]["id"], headers=headers)
    assert volume["status"] == "available", volume
    return volume, st


@pytest.mark.parametrize("version", ["3.0", "3.71"])
def test_an_admin_sees_where_a_file_came_from(rest: Rest, version: str) -> None:
    admin = fresh_admin()
    size = GIB + 12345
    volume, st = manage_file(rest, admin, size)
    shown = rest.call("GET", f"volumes/{volume['id']}", headers=admin, version=version)
    origin = shown.json["volume"][ATTRIBUTE]
    assert set(origin) == set(provenance.KEYS)
    name = origin["original_name"]
    assert origin["reference"] == {"source-name": name}
    assert not (rest.files / name).exists(), "the file now carries its managed name"
    assert origin["size_bytes"] == size
    assert origin["backend_identity"] == f"{st.st_dev}:{st.st_ino}"
    assert origin["backend"] == rest.backend
    assert (origin["user_id"], origin["project_id"]) == (admin["X-User-Id"], admin["X-Project-Id"])
    assert origin["request_id"].startswith("req-")
    assert origin["adoption_job_id"] is None
    assert origin["requested_at"] <= origin["recorded_at"]
    listed = rest.call("GET", "volumes/detail", headers=admin, version=version).json["volumes"]
    assert [v[ATTRIBUTE] for v in listed] == [origin]


def test_a_member_does_not_see_it(rest: Rest) -> None:
    member = fresh_member()
    admin = identity("admin", member["X-Project-Id"])  # only an admin may manage
    volume, _ = manage_file(rest, admin, GIB)
    assert ATTRIBUTE in rest.call("GET", f"volumes/{volume['id']}", headers=admin).json["volume"]
    assert (
        ATTRIBUTE not in rest.call("GET", f"volumes/{volume['id']}", headers=member).json["volume"]
    )
    listed = rest.call("GET", "volumes/detail", headers=member).json["volumes"]
    assert [ATTRIBUTE in v for v in listed] == [False]
