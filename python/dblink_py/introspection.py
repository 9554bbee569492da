"""Descriptions: the columns a remote query returns, and the session's open connections."""

from __future__ import annotations

import datetime
from typing import Any


from . import backend, queries
from .errors import DblinkError, UnknownColumnType
from .libpq import TransactionStatus
from .registry import Link
from .remote import Remote

TRANSACTION_STATUS_NAMES = {
    TransactionStatus.IDLE: "idle",
    TransactionStatus.ACTIVE: "active",
    TransactionStatus.INTRANS: "in transaction",
    TransactionStatus.INERROR: "in failed transaction",
    TransactionStatus.UNKNOWN: "unknown",
}


def _array_literal(values: list[Any]) -> str:
    return "{" + ",".join(str(v) for v in values) + "}"


def describe_columns(remote: Remote, sql: str, where: str) -> list[tuple[int, str, str, int]]:
    """(position, name, type as the remote format_type writes it, typmod) of `sql`'s result."""
    columns = queries.describe(remote, sql, where)
    if not columns:
        return []
    type_names = list(queries.run_rows(
        remote,
        "SELECT pg_catalog.format_type(u.t, u.m) FROM ROWS FROM ("
        "pg_catalog.unnest($1::pg_catalog.oid[]), pg_catalog.unnest($2::pg_catalog.int4[]))"
        " WITH ORDINALITY AS u(t, m, i) ORDER BY u.i",
        where,
        params=[_array_literal([c[1] for c in columns]), _array_literal([c[2] for c in columns])],
    ))
    return [
        (position, name, str(type_row[0]), mod)
        for position, ((name, _oid, mod), type_row) in enumerate(zip(columns, type_names), 1)
    ]


_LOCAL_TYPE = "SELECT pg_catalog.format_type(pg_catalog.to_regtype($1), $2) AS t"


def column_definitions(columns: list[tuple[int, str, str, int]]) -> str:
    """Text to paste after `AS t(`: quoted names and the local types they name.

    The remote server's type names are never passed on as they came (a
    hostile remote could answer ``integer) CROSS JOIN ...``): each is looked
    up here and written as this server's format_type writes that type;
    anything that is not the name of a local type is refused.
    """
    parts = []
    for _, name, remote_type, typmod in columns:
        try:
            local = backend.query(_LOCAL_TYPE, ("pg_catalog.text", "pg_catalog.int4"), (remote_type, typmod))[0]["t"]
        except DblinkError:
            local = None
            problem = "is not a type name"
        else:
            problem = "is not a type of this server"
        if local is None:
            raise UnknownColumnType(name, remote_type, problem)
        parts.append(f"{backend.quote_ident(name)} {local}")
    return ", ".join(parts)


def _timestamp(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def connection_rows(links: list[Link]) -> list[tuple[Any, ...]]:
    """One row per connection of the session for dblink_connection_info(),
    the kept ad-hoc ones (dblink_py.reuse_connections) too; never a password."""
    from . import pool

    rows = [_row(link.remote, link.name, len(link.cursors), link.last_used_at, False) for link in links]
    rows += [_row(remote, None, 0, used, True) for remote, used in pool.idle()]
    return rows


def _row(remote: Remote, name: str | None, cursors: int, last_used: float, pooled: bool) -> tuple[Any, ...]:
    pgconn = remote.pgconn
    version = pgconn.server_version
    return (
        name,
        remote.info("host"),
        int(remote.info("port") or 0) or None,
        remote.info("db"),
        remote.info("user"),
        pgconn.backend_pid or None,
        remote.parameter("server_version") or (str(version) if version else None),
        "idle" if pooled else TRANSACTION_STATUS_NAMES.get(pgconn.transaction_status, "unknown"),
        False if pooled else remote.query_running,
        cursors,
        _timestamp(remote.opened_at).isoformat(),
        _timestamp(last_used).isoformat(),
        pooled,
    )
