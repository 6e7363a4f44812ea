"""Entry point of the volmgr-scheduler daemon."""

import sys

from volmgr_common.cmd import launch
from volmgr_scheduler import service


def main() -> None:
    launch("volmgr-scheduler", [service.build], sys.argv[1:])
