"""Small helpers shared by the tests."""

from __future__ import annotations

import socket
import time
from typing import Any, Sequence

import psycopg


def scalar(conn: psycopg.Connection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The single value a query returns."""
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def rows(conn: psycopg.Connection, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def remote_pids(admin: psycopg.Connection, application_name: str, *, wait: bool = False) -> list[int]:
    """Backends on the remote server with this application_name.

    With wait=True, give backends that are going away up to 5 s to go.
    """
    deadline = time.monotonic() + (5 if wait else 0)
    while True:
        pids = [
            r[0]
            for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                [application_name],
            )
        ]
        if not pids or time.monotonic() >= deadline:
            return pids
        time.sleep(0.1)


def unused_port() -> int:
    """A loopback TCP port nothing listens on (free when asked)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def error_text(exc: psycopg.Error) -> str:
    """The primary message without PL/Python's exception-type prefix."""
    message = exc.diag.message_primary or ""
    prefix = "dblink_py: "
    return message[len(prefix):] if message.startswith(prefix) else message
