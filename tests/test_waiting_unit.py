"""wait_socket: waits on a socket stay interruptible (no server needed)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from dblink_py.waiting import POLL_INTERVAL, READ, wait_socket


class Stop(Exception):
    pass


def test_a_silent_socket_is_checked_for_interrupts_while_waiting():
    here, there = socket.socketpair()
    checks = []

    def check() -> None:
        checks.append(time.monotonic())
        if len(checks) == 3:
            raise Stop

    with here, there, pytest.raises(Stop):
        wait_socket(here.fileno(), READ, check)
    assert len(checks) == 3


def test_a_socket_that_keeps_trickling_is_still_checked_for_interrupts():
    here, there = socket.socketpair()
    done = threading.Event()

    def trickle() -> None:
        while not done.is_set():
            there.send(b"x")
            time.sleep(POLL_INTERVAL / 10)

    checks = []
    sender = threading.Thread(target=trickle)
    with here, there:
        sender.start()
        try:
            started = time.monotonic()
            while time.monotonic() - started < POLL_INTERVAL * 5:
                assert wait_socket(here.fileno(), READ, lambda: checks.append(1))
                here.recv(4096)
        finally:
            done.set()
            sender.join()
    assert len(checks) >= 2


def test_a_deadline_ends_the_wait_with_false():
    here, there = socket.socketpair()
    with here, there:
        assert wait_socket(here.fileno(), READ, lambda: None, time.monotonic() + 0.05) is False
