"""Entry point of the volmgr-api daemon."""

import sys

from volmgr_api import service
from volmgr_common.cmd import launch


def main() -> None:
    launch("volmgr-api", [service.build_daemon], sys.argv[1:])
