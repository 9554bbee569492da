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

from . import links, params as parameters, queries, reporting
from .registry import session

Error = reporting.ReportedError


def _sql_error(exc: Exception) -> Exception:
    """What the API raises: a dblink_py.Error, never Python's own exceptions."""
    return reporting.to_sql_exception(reporting.as_dblink_error(exc))


def connect(target: str, name: str | None = None) -> None:
    """Open a connection (foreign server or connection string) as `name`, or the unnamed one."""
    try:
        links.connect(name, target)
    except Exception as exc:  # noqa: BLE001 - the API's boundary
        raise _sql_error(exc) from None


def disconnect(name: str | None = None) -> None:
    try:
        links.disconnect(name)
    except Exception as exc:  # noqa: BLE001 - the API's boundary
        raise _sql_error(exc) from None


def connections() -> list[str]:
    """Names of the open named connections."""
    return session.names()


def query(
    target: str | None,
    sql: str,
    params: Sequence[Any] | None = None,
    *,
    as_dicts: bool = False,
) -> list[Any]:
    """Rows of a query as tuples (or dicts by column name) of text values, None for NULL.

    With `params`, $1, $2 ... in `sql` are bound to them (sent separately,
    as text: see dblink_py.params for how Python values are written).
    `target` None means the unnamed connection.
    """
    try:
        with links.target(target) as (remote, where):
            names: list[str] = []

            def remember_columns(result: Any) -> None:
                names[:] = [remote.decode(result.fname(i) or b"") for i in range(result.nfields)]

            found = queries.run_rows(
                remote, sql, f"while executing query on {where}",
                params=parameters.as_text(params),
                on_columns=remember_columns,
            )
    except Exception as exc:  # noqa: BLE001 - the API's boundary
        raise _sql_error(exc) from None
    if as_dicts:
        return [dict(zip(names, row)) for row in found]
    return found


def execute(target: str | None, sql: str, params: Sequence[Any] | None = None) -> str:
    """Run a command; returns its status (e.g. ``UPDATE 2``)."""
    try:
        with links.target(target) as (remote, where):
            return queries.run_command(
                remote, sql, f"while executing command on {where}", parameters.as_text(params),
            )
    except Exception as exc:  # noqa: BLE001 - the API's boundary
        raise _sql_error(exc) from None
