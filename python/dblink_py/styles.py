"""The remote session's DateStyle and IntervalStyle, applied locally while its rows convert.

A date, timestamp or interval is written as text the way the remote
session's DateStyle and IntervalStyle say, and must be read back the same
way, whatever type the caller declared (text that looks like a date, a range
of timestamps, an array of intervals ...). As C dblink does, the remote
values (from libpq's parameter status) are set locally before the first row
converts, only when they differ from the local ones, and the local values
are put back after the last row: the SQL boundary runs `restore_pending()`
once PL/Python has converted every row. SET LOCAL is used, so an error that
aborts the transaction (or subtransaction) puts them back by itself.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

from . import backend

if TYPE_CHECKING:
    from .remote import Remote

SETTINGS = ("DateStyle", "IntervalStyle")

Restore = Callable[[], None]

# What puts the local values back, for rows handed to PL/Python but not yet
# converted; at most a few entries (one per result of the current call).
_pending: list[Restore] = []


def restore_pending() -> None:
    """Put the local values back: every row of the call has converted."""
    while _pending:
        _pending.pop()()


def discard_pending() -> None:
    """Forget what an aborted call left behind (its transaction undid it)."""
    _pending.clear()


def remote_values(remote: "Remote") -> list[str | None]:
    """The remote session's values as libpq last heard of them."""
    return [remote.parameter(name) for name in SETTINGS]


def apply_remote(remote_values: list[str | None]) -> None:
    """Read dates as the remote session wrote them until `restore_pending()`.

    `remote_values` are as libpq knew them when the query was sent: a
    PostgreSQL 14+ server reports a changed setting only once the whole
    query string is done, so C dblink, which looks at its first row, sees
    those; dblink_py, which may have read further by then, takes them at
    the same point.
    """
    local_values = backend.settings(*SETTINGS)
    changed = [
        (name, local, theirs)
        for name, local, theirs in zip(SETTINGS, local_values, remote_values)
        if theirs is not None and theirs != local
    ]
    if not changed:
        return
    for name, _local, theirs in changed:
        backend.set_for_transaction(name, theirs)

    def restore() -> None:
        for name, local, _theirs in changed:
            backend.set_for_transaction(name, local)

    _pending.append(restore)


@contextmanager
def remote_applied(remote: "Remote") -> Iterator[None]:
    """The remote session's values applied for a block that converts all its rows itself."""
    apply_remote(remote_values(remote))
    try:
        yield
    finally:
        restore_pending()
