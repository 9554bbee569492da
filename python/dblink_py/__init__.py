"""dblink_py: PostgreSQL's dblink as a PL/Python extension, on psycopg 3's libpq interface."""

from __future__ import annotations

__version__ = "1.3.0"

_API = ("Error", "connect", "connections", "disconnect", "execute", "query")


def __getattr__(name: str) -> object:
    """The Python API (see dblink_py.api), loaded on first use: it needs plpy,
    which only exists inside the server."""
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'dblink_py' has no attribute {name!r}")
