"""Readable output: bordered tables, key/value tables and a plain-text progress bar."""

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def table(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], headers: Sequence[str] | None = None
) -> str:
    """Rows as a bordered table; ``headers`` default to the column names."""
    headers = list(headers or columns)
    body = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return "\n".join([rule, line(headers), rule, *(line(r) for r in body), rule])


def properties(values: dict[str, Any]) -> str:
    """A dict as a two-column Property/Value table, keys sorted."""
    rows = [{"Property": key, "Value": values[key]} for key in sorted(values)]
    return table(rows, ["Property", "Value"])


class Progress:
    """``[#####.....] 5/10 note`` on one line of a terminal, or one line per step elsewhere."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()

    def advance(self, note: str = "") -> None:
        self.done += 1
        filled = self.WIDTH * self.done // max(self.total, 1)
        bar = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} {note}"
        if self.tty:
            self.stream.write(f"\r{bar[:120]:<120}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(bar.rstrip() + "\n")
        self.stream.flush()
