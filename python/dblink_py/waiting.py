"""Interruptible waits on remote sockets: the one place dblink_py blocks."""

from __future__ import annotations

import functools
import select
import time
from typing import Callable

# How long one poll blocks before the backend is given a chance to act on a
# pending interrupt (statement_timeout, pg_cancel_backend, client cancel).
POLL_INTERVAL = 0.2

READ = select.POLLIN
WRITE = select.POLLOUT

InterruptCheck = Callable[[], None]


def _no_check() -> None:
    return None


@functools.lru_cache(maxsize=64)
def _poller(fd: int, events: int) -> select.poll:
    """A poll object for `fd` and `events`, made once: poll() takes the
    descriptor number each time, so it serves whatever socket has it now."""
    poller = select.poll()
    poller.register(fd, events | select.POLLERR | select.POLLHUP)
    return poller


# When a wait last let the backend act on interrupts. Ready sockets count
# too: a link that trickles bytes never lets a single poll time out.
_last_check = 0.0


def wait_socket(
    fd: int,
    events: int,
    check_interrupts: InterruptCheck,
    deadline: float | None = None,
) -> bool:
    """Block until `fd` is ready for `events`; False if `deadline` passed first.

    At least every POLL_INTERVAL of waiting, `check_interrupts` runs, and
    raises when the backend must stop; callers clean up the remote side and
    let that error propagate.
    """
    global _last_check
    poller = _poller(fd, events)
    while True:
        timeout = POLL_INTERVAL
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            timeout = min(timeout, remaining)
        ready = poller.poll(timeout * 1000.0)
        now = time.monotonic()
        if not ready or now - _last_check >= POLL_INTERVAL:
            if check_interrupts is not _no_check:
                _last_check = now
            check_interrupts()
        if ready:
            return True


def wait_uninterrupted(fd: int, events: int, deadline: float) -> bool:
    """Wait without checking interrupts: for cleanup while one is handled."""
    return wait_socket(fd, events, _no_check, deadline)
