"""Limits that several layers must agree on, stated once.

The database's string columns are :data:`STRING_WIDTH` characters wide; the REST
schemas, the request checks and the ``[api]`` options that bound names,
descriptions and metadata take their maximum from here, so that no layer accepts
what the next one cannot store.
"""

STRING_WIDTH = 255
"""Width of every string column (names, descriptions, hosts, metadata keys and values)."""
