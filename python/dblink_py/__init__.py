"""dblink_py: PostgreSQL's dblink as a PL/Python extension, on psycopg 3."""

from __future__ import annotations

import os
import sys

__version__ = "1.2.0"

_REQUIRED = ("psycopg",)


def _check_dependencies() -> None:
    """Say exactly what the server's Python lacks, and how to install it."""
    missing = []
    for module in _REQUIRED:
        try:
            __import__(module)
        except ImportError as exc:
            missing.append(f"{module} ({exc})")
    if not missing:
        return
    from .backend import to_sql_exception
    from .errors import MissingDependency

    target = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    version = "%d.%d" % sys.version_info[:2]
    raise to_sql_exception(
        MissingDependency(
            "the server's Python %s cannot import %s" % (version, ", ".join(missing)),
            detail=f"dblink_py looks for its dependencies in {target}.",
            hint="Run \"make install\" from the dblink_py source tree, or: "
            f"python{version} -m pip install --target {target} -r server-requirements.txt",
        )
    )


_check_dependencies()

_API = ("Error", "connect", "connections", "disconnect", "execute", "query")


def __getattr__(name: str) -> object:
    """The Python API (see dblink_py.api), loaded on first use: it needs plpy,
    which only exists inside the server."""
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'dblink_py' has no attribute {name!r}")
