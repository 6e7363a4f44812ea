"""Plain helpers that the integration tests and the benchmarks share: an ini file from
sections, a free TCP port on the loopback. Imports nothing of volmgr, so that a
benchmark's own processes stay as light as they were."""

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_config(path: Path, sections: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write an ini file; a value of True/False becomes true/false."""
    lines = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        for key, value in options.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            lines.append(f"{key} = {text}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (as the kernel hands it out)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
