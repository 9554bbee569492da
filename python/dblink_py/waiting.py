"""Interruptible waits on remote sockets: the one place dblink_py blocks."""

from __future__ import annotations

import functools
import select
import time
from typing import Any, Callable, Generator, Sequence, TypeVar

# How long one poll blocks before the backend is given a chance to act on a
# pending interrupt (statement_timeout, pg_cancel_backend, client cancel).
POLL_INTERVAL = 0.2

READ = select.POLLIN
WRITE = select.POLLOUT

InterruptCheck = Callable[[], None]
Wait = tuple[int, int]  # a socket and the events to wait for
T = TypeVar("T")
# A step machine: a generator that yields each Wait it needs and returns its
# result; run one at a time (run_steps) or several together (run_together).
Steps = Generator[Wait, None, T]


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
    return bool(_poll(_poller(fd, events).poll, check_interrupts, deadline))


def _poll(poll: Callable[[float], list[tuple[int, int]]], check_interrupts: InterruptCheck,
          deadline: float | None) -> list[tuple[int, int]]:
    """poll() until something is ready (what is), or [] once `deadline` passed;
    interrupts checked at least every POLL_INTERVAL."""
    global _last_check
    while True:
        timeout = POLL_INTERVAL
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            timeout = min(timeout, remaining)
        ready = poll(timeout * 1000.0)
        now = time.monotonic()
        if not ready or now - _last_check >= POLL_INTERVAL:
            if check_interrupts is not _no_check:
                _last_check = now
            check_interrupts()
        if ready:
            return ready


def wait_uninterrupted(fd: int, events: int, deadline: float) -> bool:
    """Wait without checking interrupts: for cleanup while one is handled."""
    return wait_socket(fd, events, _no_check, deadline)


def run_steps(steps: Steps[T], wait: Callable[[int, int], bool]) -> tuple[bool, T | None]:
    """Drive a step machine, each wait done by `wait(fd, events)`: (True,
    its result), or (False, None) once `wait` says the time is up."""
    try:
        want = next(steps)
        while True:
            if not wait(*want):
                steps.close()
                return False, None
            want = steps.send(None)
    except StopIteration as done:
        return True, done.value
    except BaseException:  # an interrupt while waiting: the machine cleans up
        steps.close()
        raise


def wait_any(waits: Sequence[Wait], check_interrupts: InterruptCheck, deadline: float | None = None) -> list[int]:
    """Block until one of `waits` is ready: the indexes of the ready ones, []
    if `deadline` passed first. Interrupts are checked as in wait_socket."""
    poller = select.poll()
    for fd, events in waits:
        poller.register(fd, events | select.POLLERR | select.POLLHUP)
    ready = {fd for fd, _ in _poll(poller.poll, check_interrupts, deadline)}
    return [index for index, (fd, _) in enumerate(waits) if fd in ready]


TIMED_OUT = object()  # run_together's result for a machine whose deadline passed


def run_together(machines: Sequence[Steps[Any]], deadlines: Sequence[float | None],
                 check_interrupts: InterruptCheck = _no_check) -> list[Any]:
    """Drive step machines at the same time, each until it returns, raises or
    passes its deadline: its result, the exception it raised, or TIMED_OUT.
    An interrupt (check_interrupts raising) closes them all and propagates."""
    results: list[Any] = [None] * len(machines)
    waiting: dict[int, Wait] = {}

    def advance(index: int, first: bool) -> None:
        try:
            waiting[index] = next(machines[index]) if first else machines[index].send(None)
        except StopIteration as done:
            waiting.pop(index, None)
            results[index] = done.value
        except Exception as exc:  # noqa: BLE001 - the machine's own outcome
            waiting.pop(index, None)
            results[index] = exc

    for index in range(len(machines)):
        advance(index, True)
    try:
        while waiting:
            now = time.monotonic()
            for index in [i for i in waiting if deadlines[i] is not None and deadlines[i] <= now]:
                machines[index].close()
                del waiting[index]
                results[index] = TIMED_OUT
            if not waiting:
                break
            indexes = list(waiting)
            pending = [d for i in indexes if (d := deadlines[i]) is not None]
            for ready in wait_any([waiting[i] for i in indexes], check_interrupts, min(pending, default=None)):
                advance(indexes[ready], False)
    except BaseException:
        for index in waiting:
            machines[index].close()
        raise
    return results
