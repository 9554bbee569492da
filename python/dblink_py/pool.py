"""Reused ad-hoc connections (opt-in): kept per connection string and role, reset between uses.

With `SET dblink_py.reuse_connections = on`, a `dblink('<connstr>', ...)`
call keeps its connection open afterwards instead of closing it, and the
next call with the same connection string by the same role takes it again.
Between uses the remote session is reset with DISCARD ALL (sent when the
connection is given back, read when it is taken), so no session state passes
from one call to the next. A connection idle longer than
`dblink_py.reuse_idle_timeout` seconds (default 60) is closed at the next
dblink_py call; all close when the backend exits. A connection left inside a
transaction, or broken, is closed instead of kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .libpq import ConnStatus, ExecStatus, TransactionStatus

from . import backend
from . import settings as dblink_settings
from .errors import DblinkError, Interrupted
from .remote import Remote

RESET = "DISCARD ALL"


@dataclass
class _Idle:
    remote: Remote
    since: float


Key = tuple[str, str]  # (connection string, role)
_idle: dict[Key, _Idle] = {}


def settings() -> tuple[bool, float]:
    """Whether reuse is on, and the idle timeout in seconds."""
    return (bool(dblink_settings.value("dblink_py.reuse_connections")),
            float(dblink_settings.value("dblink_py.reuse_idle_timeout")))  # type: ignore[arg-type]


def idle() -> list[tuple[Remote, float]]:
    """The kept connections and when each was given back (wall clock)."""
    now, wall = time.monotonic(), time.time()
    return [(entry.remote, wall - (now - entry.since)) for entry in _idle.values()]


def close_expired(timeout: float) -> None:
    now = time.monotonic()
    for key, entry in list(_idle.items()):
        if now - entry.since > timeout:
            del _idle[key]
            entry.remote.close()


def take(key: Key) -> Remote | None:
    """A kept connection for `key`, its reset finished, or None."""
    entry = _idle.pop(key, None)
    if entry is None:
        return None
    remote = entry.remote
    try:
        ok = all(result.status == ExecStatus.COMMAND_OK for result in remote.results())
    except Interrupted:
        remote.close()  # the call is being stopped: not reusable, not kept
        raise
    except DblinkError:
        ok = False  # broken while idle (remote restarted, ...): connect anew
    if ok and remote.pgconn.transaction_status == TransactionStatus.IDLE and remote.looks_alive():
        return remote
    remote.close()
    return None


def give_back(key: Key, remote: Remote) -> None:
    """Keep `remote` for the next call with `key`, after starting its reset."""
    healthy = (
        remote.failure is None
        and remote.pgconn.status == ConnStatus.OK
        and remote.pgconn.transaction_status == TransactionStatus.IDLE
    )
    if not healthy or key in _idle:
        remote.close()
        return
    try:
        remote.send_query(RESET)
    except Exception:
        remote.close()
        return
    _idle[key] = _Idle(remote, time.monotonic())
