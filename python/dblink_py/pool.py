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
from .errors import DblinkError, Interrupted
from .remote import Remote

REUSE_SETTING = "dblink_py.reuse_connections"
IDLE_TIMEOUT_SETTING = "dblink_py.reuse_idle_timeout"
DEFAULT_IDLE_TIMEOUT = 60.0
RESET = "DISCARD ALL"


@dataclass
class _Idle:
    remote: Remote
    since: float


Key = tuple[str, str]  # (connection string, role)
_idle: dict[Key, _Idle] = {}


def settings() -> tuple[bool, float]:
    """Whether reuse is on, and the idle timeout in seconds."""
    reuse, timeout = backend.optional_settings(REUSE_SETTING, IDLE_TIMEOUT_SETTING)
    on = (reuse or "").strip().lower() in ("on", "true", "yes", "1")
    try:
        seconds = float(timeout) if timeout else DEFAULT_IDLE_TIMEOUT
    except ValueError:
        seconds = DEFAULT_IDLE_TIMEOUT
    return on, seconds


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
