"""The progress bar of ``volmgr manage --all-safe``: tqdm, with rate and ETA.

Tables and the other output formats are ``volmgr_common.output`` (cliff's formatters).
"""

import sys
import time
from typing import TextIO

from tqdm import tqdm


class Progress:
    """One step per object submitted: a tqdm bar on a terminal, elsewhere (a log, a
    pipe) one line per step with tqdm's meter (count, elapsed, rate, ETA)."""

    UNIT = "object"

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.done = 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.bar: tqdm | None = None
        self._total = total
        if self.stream.isatty():
            self.bar = tqdm(total=total, file=self.stream, unit=self.UNIT, dynamic_ncols=True)

    @property
    def total(self) -> int:
        return self._total

    @total.setter
    def total(self, value: int) -> None:
        self._total = value
        if self.bar is not None:
            self.bar.total = value
            self.bar.refresh()

    def advance(self, note: str = "") -> None:
        """One more object submitted; ``note`` names it."""
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(note[:40], refresh=False)
            self.bar.update(1)
            return
        elapsed = time.monotonic() - self.started
        meter = tqdm.format_meter(self.done, self._total, elapsed, unit=self.UNIT, ncols=0)
        self.stream.write(f"{meter} {note}".rstrip() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
