"""A racer that swaps two names of one directory with renameat2(RENAME_EXCHANGE).

The tests use it to put a symbolic link in place of a backend file between a
driver's checks and its rename, and to put the file back, as fast as the kernel
allows. Linux only (the ``renameat2`` system call, through ctypes); the loop is
bounded in count and in time.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import threading
import time
from collections.abc import Sequence
from pathlib import Path

AT_FDCWD = -100
RENAME_EXCHANGE = 2
# renameat2 system call numbers (glibc older than 2.28 has no wrapper).
SYSCALL_RENAMEAT2 = {"x86_64": 316, "aarch64": 276}

_libc = ctypes.CDLL(None, use_errno=True)


def exchange(directory_fd: int, first: str, second: str) -> bool:
    """Swap two names of the directory atomically; False if either is missing."""
    number = SYSCALL_RENAMEAT2.get(platform.machine())
    assert number is not None, f"renameat2: unknown system call number on {platform.machine()}"
    result = _libc.syscall(
        number,
        directory_fd,
        first.encode(),
        directory_fd,
        second.encode(),
        RENAME_EXCHANGE,
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.ENOENT:
        return False
    raise OSError(code, os.strerror(code), first)


class SwapRacer(threading.Thread):
    """Swaps each ``(name, other)`` pair of ``directory`` in turn until stopped.

    Stops by itself after ``max_swaps`` swaps or ``max_seconds`` seconds; ``swaps``
    counts the swaps made, ``misses`` the attempts where a name was gone.
    """

    def __init__(
        self,
        directory: Path,
        pairs: Sequence[tuple[str, str]],
        max_swaps: int = 5_000_000,
        max_seconds: float = 40.0,
    ) -> None:
        super().__init__(name="swap-racer", daemon=True)
        self.directory = directory
        self.pairs = list(pairs)
        self.max_swaps = max_swaps
        self.max_seconds = max_seconds
        self.swaps = 0
        self.misses = 0
        self.error: BaseException | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        deadline = time.monotonic() + self.max_seconds
        try:
            while not self._stop_event.is_set() and self.swaps < self.max_swaps:
                if time.monotonic() > deadline:
                    return
                for first, second in self.pairs:
                    if exchange(fd, first, second):
                        self.swaps += 1
                    else:
                        self.misses += 1
        except BaseException as error:  # reported by stop()
            self.error = error
        finally:
            os.close(fd)

    def stop(self) -> None:
        """Stop the loop and wait for it; re-raise what ended it, if anything."""
        self._stop_event.set()
        self.join(timeout=30)
        assert not self.is_alive(), "the swap racer did not stop"
        if self.error is not None:
            raise self.error


def put_back(directory: Path, name: str, other: str) -> None:
    """Leave ``name`` a regular file again if the racer left the link there."""
    if (directory / name).is_symlink() and (directory / other).exists():
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            exchange(fd, name, other)
        finally:
            os.close(fd)
