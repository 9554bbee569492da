"""The check for a vanished client finds the client socket without leaving descriptors behind."""

from __future__ import annotations

import os
from pathlib import Path

from helpers import scalar


def open_descriptors(pid: int) -> int:
    """Sockets, pipes and other descriptors that are not files (PostgreSQL caches relation files)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += not os.readlink(fd).startswith("/")
        except OSError:
            continue
    return count


def test_finding_the_client_socket_leaks_no_descriptor(db, remote_dsn):
    pid = db.info.backend_pid
    before = open_descriptors(pid)
    # a remote query long enough for an interrupt check, which looks for the client socket
    scalar(db, "SELECT count(*) FROM dblink(%s, 'SELECT pg_sleep(0.5)') AS t(a text)", [remote_dsn])
    scalar(db, "SELECT count(*) FROM dblink(%s, 'SELECT pg_sleep(0.5)') AS t(a text)", [remote_dsn])
    assert open_descriptors(pid) == before
    assert Path(f"/proc/{pid}").exists()
