"""Asynchronous queries on named connections: send, poll, collect results, cancel, notifications."""

from __future__ import annotations

from typing import Iterator

from . import backend, queries
from .errors import SendFailed
from .queries import Chunk
from .registry import Link


def send_query(link: Link, sql: str) -> int:
    """1 once sent; 0 with a NOTICE if libpq refuses (a query is still running)."""
    try:
        link.remote.send_query(sql)
    except SendFailed as err:
        backend.notice(err.message)
        return 0
    return 1


def is_busy(link: Link) -> int:
    return 1 if link.remote.is_busy() else 0


def next_result(link: Link) -> Iterator[Chunk]:
    """The rows of the next result of the running query, in chunks; none when it is complete."""
    result = link.remote.next_result()
    if result is None:
        return iter(())
    return queries.result_chunks(link.remote, result, f"while executing query on {link.where}")


def cancel(link: Link) -> str:
    """Ask the remote server to cancel the running query: `OK` or why not."""
    return link.remote.cancel() or "OK"


def notifications(link: Link | None) -> list[tuple[str, int, str]]:
    return [] if link is None else link.remote.notifications()
