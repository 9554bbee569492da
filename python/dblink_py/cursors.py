"""Remote cursors: dblink_open, dblink_fetch, dblink_close and their transaction bookkeeping."""

from __future__ import annotations

from typing import Iterator


from . import queries
from .errors import CursorNotFound, DblinkError, RemoteError
from .libpq import TransactionStatus
from .queries import Chunk
from .registry import Link


def _where(action: str, link: Link) -> str:
    return f"{action} on {link.where}"


def _run_internal(link: Link, sql: str, failure: str) -> None:
    """BEGIN / COMMIT that dblink issues itself: errors read `<failure>: <message>`."""
    try:
        queries.run_command(link.remote, sql, link.where)
    except RemoteError as err:
        raise DblinkError(f"{failure}: {err.message}") from None


def open_cursor(link: Link, cursor: str, sql: str) -> None:
    """DECLARE a cursor; start (and count it in) a transaction if none is open.

    A failed DECLARE stays counted, as in dblink: the remote transaction is
    aborted then, and the user is expected to end it.
    """
    if link.remote.pgconn.transaction_status == TransactionStatus.IDLE:
        _run_internal(link, "BEGIN", "begin error")
        link.new_xact_for_cursor = True
        link.open_cursor_count = 0
    if link.new_xact_for_cursor:
        link.open_cursor_count += 1
    queries.run_command(
        link.remote,
        f"DECLARE {cursor} CURSOR FOR {sql}",
        _where(f'while opening cursor "{cursor}"', link),
    )
    link.cursors.add(cursor)


def fetch(link: Link, cursor: str, count: int) -> Iterator[Chunk]:
    def not_a_cursor() -> None:
        raise CursorNotFound(cursor)

    return queries.literal_chunks(
        link.remote,
        f"FETCH {count} FROM {cursor}",
        _where(f'while fetching from cursor "{cursor}"', link),
        on_command=not_a_cursor,
        streaming=False,
    )


def close_cursor(link: Link, cursor: str) -> None:
    """CLOSE a cursor; commit the transaction dblink_open began once its last cursor closes.

    A transaction the user began (dblink_exec('BEGIN')) is never committed here.
    """
    queries.run_command(
        link.remote, f"CLOSE {cursor}", _where(f'while closing cursor "{cursor}"', link)
    )
    link.cursors.discard(cursor)
    if link.new_xact_for_cursor:
        link.open_cursor_count -= 1
        if link.open_cursor_count == 0:
            link.new_xact_for_cursor = False
            _run_internal(link, "COMMIT", "commit error")
