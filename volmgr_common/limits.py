"""Limits that several layers must agree on, stated once.

The database's string columns are :data:`STRING_WIDTH` characters wide; the REST
schemas, the request checks and the ``[api]`` options that bound names,
descriptions and metadata take their maximum from here, so that no layer accepts
what the next one cannot store. Sizes in bytes become whole GiB one way
everywhere (:func:`size_in_gib`).
"""

STRING_WIDTH = 255
"""Width of every string column (names, descriptions, hosts, metadata keys and values)."""

GIB = 1024**3


def size_in_gib(size_bytes: int) -> int:
    """Bytes rounded up to whole GiB (an empty object is 0 GiB)."""
    return -(-size_bytes // GIB)  # integer ceiling: exact even beyond 2**53 bytes
