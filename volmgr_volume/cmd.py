"""Entry point of the volmgr-volume daemon (one per backend)."""

import sys

from volmgr_common.cmd import launch
from volmgr_volume import service


def main() -> None:
    launch("volmgr-volume", [service.build], sys.argv[1:])
