"""``python -m volmgr_api.cli``: the ``volmgr`` command."""

import sys

from volmgr_api.cli import main

sys.exit(main())
