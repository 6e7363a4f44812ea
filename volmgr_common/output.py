"""Command-line output as the OpenStack client gives it, for ``volmgr`` and ``volmgr-manage``.

The formatters are cliff's own (the ``cliff.formatter.list`` plugins: table, json,
yaml, value, csv), with their options; ``-f FORMAT`` and ``-c COLUMN`` are accepted
before and after the subcommand. A list is rows under column names; one object is
its fields (csv prints it as a one-row list). Nested values (dicts, lists) stay
structured in json and yaml and print as JSON text in the other formats.
"""

import argparse
import functools
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import stevedore
from cliff.columns import FormattableColumn
from cliff.formatters.base import ListFormatter, SingleFormatter

NAMESPACE = "cliff.formatter.list"
DEFAULT_FORMAT = "table"
FORMATS = ("table", "json", "yaml", "value", "csv")


class OutputError(Exception):
    """The output options cannot be honoured (e.g. ``-c`` names no column)."""


class Nested(FormattableColumn[Any]):
    """A dict or list: JSON text for people, the structure itself for json and yaml."""

    def human_readable(self) -> str:
        return json.dumps(self._value, sort_keys=True)


@functools.cache
def _formatters() -> dict[str, ListFormatter]:
    manager: stevedore.ExtensionManager[ListFormatter] = stevedore.ExtensionManager(
        NAMESPACE, invoke_on_load=True
    )
    return {ext.name: ext.obj for ext in manager if ext.name in FORMATS and ext.obj is not None}


class _Group:
    """An argument group that states each option's default in its help.

    With ``keep_earlier`` (a subcommand's parser) an option that is not given
    leaves the value given before the subcommand, or the default, in place.
    """

    def __init__(self, group: Any, keep_earlier: bool) -> None:
        self.group = group
        self.keep_earlier = keep_earlier

    def add_argument(self, *names: str, **kwargs: Any) -> Any:
        default = kwargs.get("default")
        help_text = kwargs.get("help") or ""
        if default not in (None, False, []) and "default" not in help_text:
            kwargs["help"] = f"{help_text.rstrip('.')} (default: {default})."
        if self.keep_earlier:
            kwargs["default"] = argparse.SUPPRESS
        return self.group.add_argument(*names, **kwargs)


class _Parser:
    """What cliff's formatters see of a parser: groups that are ``_Group``."""

    def __init__(self, parser: argparse.ArgumentParser, keep_earlier: bool) -> None:
        self.parser = parser
        self.keep_earlier = keep_earlier

    def add_argument_group(self, *args: Any, **kwargs: Any) -> _Group:
        return _Group(self.parser.add_argument_group(*args, **kwargs), self.keep_earlier)


def add_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """Add ``-f``/``-c`` and the formatters' own options to ``parser``.

    With ``after_command`` (a subcommand's parser) the options may be given before
    the subcommand too; given in both places, the later one wins.
    """
    proxy = _Parser(parser, after_command)
    group = proxy.add_argument_group("output formatters")
    group.add_argument(
        "-f",
        "--format",
        dest="formatter",
        choices=sorted(_formatters()),
        default=DEFAULT_FORMAT,
        help="Output format",
    )
    group.add_argument(
        "-c",
        "--column",
        dest="columns",
        action="append",
        metavar="COLUMN",
        help="A column to print; repeat it for several (default: every column).",
    )
    group.add_argument(
        "--json",
        dest="formatter",
        action="store_const",
        const="json",
        help="The same as -f json.",
    )
    seen: set[type] = set()
    for formatter in _formatters().values():
        if type(formatter) not in seen:
            seen.add(type(formatter))
            formatter.add_argument_group(proxy)  # type: ignore[arg-type]


def _cell(value: Any) -> Any:
    return Nested(value) if isinstance(value, dict | list) else value


def _select(args: argparse.Namespace, columns: Sequence[str]) -> list[int]:
    """Indexes of the columns ``-c`` asks for (all when none), named as cliff names them."""
    wanted = [_normalise(c) for c in args.columns or ()]
    if not wanted:
        return list(range(len(columns)))
    indexes = [i for i, column in enumerate(columns) if _normalise(column) in wanted]
    if not indexes:
        raise OutputError(
            f"no column named {', '.join(args.columns)}; columns: {', '.join(columns)}"
        )
    return indexes


def _normalise(column: str) -> str:
    return column.lower().strip().replace(" ", "_")


def emit_list(
    args: argparse.Namespace,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    stdout: TextIO | None = None,
) -> None:
    """Print rows (one value per column) in the format ``args`` chose."""
    indexes = _select(args, columns)
    data = [[_cell(row[i]) for i in indexes] for row in rows]
    formatter = _formatters()[args.formatter]
    formatter.emit_list([columns[i] for i in indexes], data, stdout or sys.stdout, args)


def emit_one(
    args: argparse.Namespace, values: dict[str, Any], stdout: TextIO | None = None
) -> None:
    """Print one object's fields (in ``values``' order) in the format ``args`` chose."""
    columns = list(values)
    indexes = _select(args, columns)
    names = [columns[i] for i in indexes]
    data = [_cell(values[name]) for name in names]
    formatter = _formatters()[args.formatter]
    if isinstance(formatter, SingleFormatter):
        formatter.emit_one(names, data, stdout or sys.stdout, args)
    else:
        formatter.emit_list(names, [data], stdout or sys.stdout, args)


def emit_rows(
    args: argparse.Namespace,
    columns: Sequence[str],
    rows: Iterable[dict[str, Any]],
    stdout: TextIO | None = None,
) -> None:
    """Print dicts as rows of ``columns`` (a missing key prints as empty)."""
    emit_list(args, columns, [[row.get(c) for c in columns] for row in rows], stdout)
