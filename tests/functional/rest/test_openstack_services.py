"""``openstack volume service list|set`` (python-openstackclient) against volmgr.

The real ``openstack`` command runs in a subprocess, as an operator without Keystone
would run it against volmgr's ``noauth``: keystoneauth's ``admin_token`` plugin sends
the token ``user:project`` (which noauth reads as the caller) to the endpoint it is
given. (cinderclient's ``noauth`` plugin, which ``cinder`` uses, lacks what
openstacksdk's endpoint discovery needs.)
"""

import os
import subprocess
import sys
from pathlib import Path

from tests.functional.rest.conftest import Rest, unique

OPENSTACK = Path(sys.executable).with_name("openstack")


def openstack(rest: Rest, *args: str) -> subprocess.CompletedProcess:
    project = unique("osc")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CINDER"))}
    command = [
        str(OPENSTACK),
        "--os-auth-type", "admin_token",
        "--os-token", f"admin:{project}",
        "--os-endpoint", f"{rest.url}/v3/{project}",
        "--os-volume-api-version", "3",
        *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_openstack_volume_service_set_disable_and_enable(rest: Rest) -> None:
    try:
        ok(
            openstack(
                rest, "volume", "service", "set", "--disable", "--disable-reason", "disk swap",
                rest.backend, "volmgr-volume",
            )
        )  # fmt: skip
        listed = ok(openstack(rest, "volume", "service", "list", "--long", "-f", "value"))
        [line] = [line for line in listed.splitlines() if "volmgr-volume" in line]
        assert rest.backend in line and "disabled" in line and "disk swap" in line
    finally:
        ok(openstack(rest, "volume", "service", "set", "--enable", rest.backend, "volmgr-volume"))
    listed = ok(openstack(rest, "volume", "service", "list", "--long", "-f", "value"))
    [line] = [line for line in listed.splitlines() if "volmgr-volume" in line]
    assert "enabled" in line and "disk swap" not in line
