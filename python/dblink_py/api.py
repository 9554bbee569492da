"""The Python API: other PL/Python code uses the session's dblink connections.

    import dblink_py
    dblink_py.connect("host=... dbname=... password=...", name="app")
    rows = dblink_py.query("app", "SELECT id, name FROM t WHERE id = $1", ["7"], as_dicts=True)
    dblink_py.execute("app", "UPDATE t SET name = $1 WHERE id = $2", ["x", "7"])

Targets resolve as in dblink(): an open named connection, else a foreign
server, else a connection string (connected for the call only). The same
password checks apply to the current user as in SQL; errors are raised as
`dblink_py.Error` (a plpy.Error carrying sqlstate, detail and hint), which
becomes a clean SQL error if not caught.
"""

from __future__ import annotations

from typing import Any, Sequence

from . import backend, links, queries
from .errors import DblinkError
from .registry import session

Error = backend.ReportedError


def _sql_error(err: DblinkError) -> Exception:
    return backend.to_sql_exception(err)


def connect(target: str, name: str | None = None) -> None:
    """Open a connection (foreign server or connection string) as `name`, or the unnamed one."""
    try:
        links.connect(name, target)
    except DblinkError as err:
        raise _sql_error(err) from None


def disconnect(name: str | None = None) -> None:
    try:
        links.disconnect(name)
    except DblinkError as err:
        raise _sql_error(err) from None


def connections() -> list[str]:
    """Names of the open named connections."""
    return session.names()


def query(
    target: str | None,
    sql: str,
    params: Sequence[str | None] | None = None,
    *,
    as_dicts: bool = False,
) -> list[Any]:
    """Rows of a query as tuples (or dicts by column name) of text values, None for NULL.

    With `params`, $1, $2 ... in `sql` are bound to them (sent separately).
    `target` None means the unnamed connection.
    """
    try:
        with links.target(target) as (remote, where):
            names: list[str] = []

            def remember_columns(result: Any) -> None:
                names[:] = [remote.decode(result.fname(i) or b"") for i in range(result.nfields)]

            found = queries.run_rows(
                remote, sql, f"while executing query on {where}",
                params=list(params) if params is not None else None,
                on_columns=remember_columns,
            )
    except DblinkError as err:
        raise _sql_error(err) from None
    if as_dicts:
        return [dict(zip(names, row)) for row in found]
    return found


def execute(target: str | None, sql: str, params: Sequence[str | None] | None = None) -> str:
    """Run a command; returns its status (e.g. ``UPDATE 2``)."""
    try:
        with links.target(target) as (remote, where):
            return queries.run_command(
                remote, sql, f"while executing command on {where}",
                list(params) if params is not None else None,
            )
    except DblinkError as err:
        raise _sql_error(err) from None
