"""libpq for dblink_py: psycopg's interface to it (psycopg.pq, compiled against the server's own libpq), private to dblink_py.

The backend's Python interpreter is shared by every PL/Python function of
the session, so dblink_py's dependencies must not become anyone else's:
psycopg, psycopg_c and typing_extensions are imported from dblink_py's
install directory with that directory on sys.path and in sys.modules only
while they load, then taken out again, putting back whatever other code
had under those names (its own psycopg, say). dblink_py keeps the module
objects; nothing of them is imported later.

Only psycopg.pq is loaded, not the packages' __init__ (psycopg's imports
connections, cursors and adapters, psycopg_c's importlib.metadata for its
version: about 100 ms more on a backend's first call), with psycopg's C
implementation required: a psycopg that falls back to another libpq is
refused.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRIVATE = ("psycopg", "psycopg_c", "typing_extensions")


def _private(name: str) -> bool:
    return name.partition(".")[0] in PRIVATE


def _load() -> tuple[Any, Any, Any]:
    """psycopg.pq, psycopg.errors and psycopg._encodings from HOME, privately."""
    others = {name: module for name, module in sys.modules.items() if _private(name)}
    for name in others:
        del sys.modules[name]
    path = sys.path[:]
    impl = os.environ.get("PSYCOPG_IMPL")
    for name in ("psycopg", "psycopg_c"):  # the packages, without running their __init__
        package = sys.modules[name] = types.ModuleType(name)
        package.__path__ = [os.path.join(HOME, name)]
    sys.path.insert(0, HOME)
    os.environ["PSYCOPG_IMPL"] = "c"
    try:
        import psycopg.pq  # first: psycopg_c.pq imports the other two while it loads
        import psycopg._encodings
        import psycopg.errors

        return psycopg.pq, psycopg.errors, psycopg._encodings
    finally:
        for name in [name for name in sys.modules if _private(name)]:
            del sys.modules[name]
        sys.modules.update(others)
        sys.path[:] = path
        if impl is None:
            del os.environ["PSYCOPG_IMPL"]
        else:
            os.environ["PSYCOPG_IMPL"] = impl


def _missing(exc: BaseException) -> Exception:
    from .errors import MissingDependency

    version = "%d.%d" % sys.version_info[:2]
    return MissingDependency(
        f"dblink_py cannot load psycopg's C implementation for the server's Python {version}: {exc}",
        detail=f"dblink_py looks for it in {HOME}.",
        hint='Run "make install" from the dblink_py source tree: it compiles psycopg-c against the'
             " server's libpq.",
    )


try:
    pq, _errors, _encodings = _load()
except ImportError as exc:
    raise _missing(exc) from None

OperationalError = _errors.OperationalError
pg_codec = _encodings.pg2pyenc
ConnStatus = pq.ConnStatus
DiagnosticField = pq.DiagnosticField
ExecStatus = pq.ExecStatus
PollingStatus = pq.PollingStatus
TransactionStatus = pq.TransactionStatus

# libpq's version as the server's libpq reports it (e.g. 150018)
VERSION = pq.version()
