"""Text that every supported database can store, checked at each entry point.

PostgreSQL refuses a NUL character in text, and no UTF-8 encoder accepts a lone
surrogate code point (a JSON ``"\\ud800"`` escape decodes to one). The REST API
(``volmgr_api.rest.inputs``) and every RPC endpoint (``volmgr_common.rpc``) check
what they receive with :func:`problem` / :func:`first_problem`, so that such text is
a clear "invalid input" where it arrives, never a database error later.
"""

import re
from collections.abc import Iterable
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def problem(text: str) -> str | None:
    """What makes ``text`` unstorable (``"a NUL character at position 3"``), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    what = "a NUL character" if found.group() == "\x00" else "a lone surrogate code point"
    return f"{what} at position {found.start()}"


def first_problem(values: Iterable[tuple[str, Any]]) -> str | None:
    """The first unstorable text in ``(where, value)`` pairs, searched through nested
    dicts (keys and values), lists and tuples, as ``"<where> contains <problem>"``;
    None when every string is storable."""
    pending = list(values)
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            found = problem(value)
            if found is not None:
                return f"{where} contains {found}"
        elif isinstance(value, dict):
            for key, item in value.items():
                pending.append((f"a key of {where}", key))
                pending.append((f"{where}[{str(key)[:40]!r}]", item))
        elif isinstance(value, (list, tuple)):
            pending.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
    return None
