"""The same dblink call through C dblink and dblink_py, side by side on the same servers.

A Side is one local database with one of the two extensions installed and a
named connection "r" open to the remote database; `outcome` runs a query
there and returns what came back, rows or error, in a form that compares
equal when the two extensions behaved the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import psycopg
from psycopg import sql

from helpers import error_text

# The user-defined types the cases use, created alike in the remote database
# and in every local one (the remote writes them, the local side reads them).
USER_TYPES = [
    "CREATE TYPE diff_mood AS ENUM ('sad', 'ok', 'happy')",
    "CREATE TYPE diff_pair AS (a int, b text)",
    "CREATE TYPE diff_nest AS (p diff_pair, tags text[], flag boolean)",
    "CREATE DOMAIN diff_posint AS int CHECK (VALUE > 0)",
    "CREATE DOMAIN diff_truth AS boolean CHECK (VALUE)",
    "CREATE DOMAIN diff_words AS text[] CHECK (cardinality(VALUE) < 4)",
    "CREATE DOMAIN diff_nonnull AS text NOT NULL",
    "CREATE TYPE diff_floatrange AS RANGE (subtype = float8)",
]
CONTRIB = ("hstore", "citext", "ltree", "cube", "isn", "seg")


def create_user_types(conn: psycopg.Connection[Any]) -> None:
    for extension in CONTRIB:
        conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension)))
    for statement in USER_TYPES:
        conn.execute(statement)


@dataclass(frozen=True)
class Outcome:
    """Rows (as record text) or an error (SQLSTATE, message without the forced
    ``dblink_py:`` prefix, DETAIL), and the NOTICEs' SQLSTATEs."""

    rows: tuple[str, ...] | None
    error: tuple[str, str, str | None] | None
    notices: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.error is not None:
            return f"ERROR {self.error[0]}: {self.error[1]}" + (f" ({self.error[2]})" if self.error[2] else "")
        shown = list(self.rows or ())
        if len(shown) > 4:
            shown = shown[:3] + [f"... {len(shown)} rows"]
        return f"rows {shown}" + (f" notices {list(self.notices)}" if self.notices else "")


class Side:
    """One local database with `extension` and a named connection "r" to `remote_dsn`."""

    def __init__(self, name: str, conninfo: str, remote_dsn: str) -> None:
        self.name = name
        self.conn = psycopg.connect(conninfo, autocommit=True, client_encoding="UTF8")
        self.reset_local()
        self.notices: list[str] = []
        self.conn.add_notice_handler(lambda diag: self.notices.append(diag.sqlstate or ""))
        self.conn.execute("SELECT dblink_connect('r', %s)", [remote_dsn])

    def outcome(self, query: str, params: Sequence[Any] = ()) -> Outcome:
        self.notices.clear()
        try:
            found = self.conn.execute(query, params).fetchall()
        except psycopg.Error as exc:
            return Outcome(None, (exc.sqlstate or "", error_text(exc), exc.diag.message_detail),
                           tuple(self.notices))
        return Outcome(tuple(str(r[0]) for r in found), None, tuple(self.notices))

    def reset_local(self) -> None:
        """Local settings back to their defaults, remote notices off (C dblink
        writes them to the server log only)."""
        self.conn.execute("RESET ALL")
        self.conn.execute("SET dblink_py.remote_notices = off")

    def remote_session(self, statement: str) -> None:
        """Run a command in the remote session of connection "r" (SET ...)."""
        self.conn.execute("SELECT dblink_exec('r', %s)", [statement])

    def close(self) -> None:
        self.conn.close()


@dataclass
class Pair:
    c: Side
    py: Side

    def both(self, action: Callable[[Side], None]) -> None:
        action(self.c)
        action(self.py)

    def compare(self, query: str, params: Sequence[Any] = ()) -> tuple[Outcome, Outcome]:
        return self.c.outcome(query, params), self.py.outcome(query, params)


def rows_query(remote_sql: str, columns: str) -> tuple[str, list[str]]:
    """The local statement that reads `remote_sql` through connection "r" as `columns`."""
    return f"SELECT t::text FROM dblink('r', %s) AS t({columns})", [remote_sql]


def repeated(expression: str, count: int) -> str:
    """A remote query returning `expression` in `count` rows."""
    if count == 1:
        return f"SELECT {expression}"
    return f"SELECT {expression} FROM generate_series(1, {count})"


def describe_difference(case: str, c: Outcome, py: Outcome) -> str:
    return f"{case}\n    C dblink:  {c}\n    dblink_py: {py}"
