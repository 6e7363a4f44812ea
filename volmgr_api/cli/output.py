"""The progress bar of ``volmgr manage --all-safe``: tqdm, with rate and ETA.

Tables and the other output formats are ``volmgr_common.output`` (cliff's formatters).
"""

import sys
from typing import TextIO

from tqdm import tqdm


class Progress:
    """One step per object submitted, drawn by tqdm on a terminal (nothing elsewhere)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.done = 0
        self.bar = tqdm(
            total=total, file=stream or sys.stderr, unit="object", dynamic_ncols=True, disable=None
        )

    @property
    def total(self) -> int:
        return int(self.bar.total or 0)

    @total.setter
    def total(self, value: int) -> None:
        self.bar.total = value
        self.bar.refresh()

    def advance(self, note: str = "") -> None:
        """One more object submitted; ``note`` names it."""
        self.done += 1
        self.bar.set_postfix_str(note[:40], refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
