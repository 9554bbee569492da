"""Every wait on a remote server can be interrupted locally, and cleans up remotely."""

from __future__ import annotations

import socket
import threading
import time

import psycopg
import pytest

from helpers import remote_pids, rows, scalar

# Generous bounds: the behaviour is "stops when asked", not a speed target
# (the benchmark measures speed); a call that ignored the interrupt would
# run for the full remote sleep of 30 s.
SLEEP = 30
BOUND = 10


@pytest.fixture
def silent_listener():
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def _timed(fn) -> tuple[float, BaseException | None]:
    start = time.monotonic()
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        return time.monotonic() - start, exc
    return time.monotonic() - start, None


def test_statement_timeout_stops_a_remote_query(db, remote_dsn):
    db.execute("SET statement_timeout = '1s'")
    elapsed, exc = _timed(lambda: rows(db, f"SELECT * FROM dblink(%s, 'SELECT pg_sleep({SLEEP})') AS t(a text)", [remote_dsn]))
    assert isinstance(exc, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND


def test_statement_timeout_cancels_the_query_on_the_remote_server(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect('slow', %s)", [remote_dsn + " application_name=cancelled"])
    db.execute("SET statement_timeout = '1s'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        rows(db, f"SELECT * FROM dblink('slow', 'SELECT pg_sleep({SLEEP})') AS t(a text)")
    active = remote_admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cancelled' AND state = 'active'"
    ).fetchone()[0]
    assert active == 0


def test_named_connection_is_usable_after_an_interrupted_query(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('slow2', %s)", [remote_dsn])
    db.execute("SET statement_timeout = '1s'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        rows(db, f"SELECT * FROM dblink('slow2', 'SELECT pg_sleep({SLEEP})') AS t(a text)")
    db.execute("SET statement_timeout = 0")
    assert rows(db, "SELECT * FROM dblink('slow2', 'SELECT 1') AS t(a int)") == [(1,)]


def test_statement_timeout_stops_dblink_exec(db, remote_dsn):
    db.execute("SET statement_timeout = '1s'")
    elapsed, exc = _timed(lambda: scalar(db, f"SELECT dblink_exec(%s, 'DO $$ BEGIN PERFORM pg_sleep({SLEEP}); END $$')", [remote_dsn]))
    assert isinstance(exc, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND


def test_pg_cancel_backend_stops_a_remote_query(db, local_connect, remote_dsn):
    pid = db.info.backend_pid

    def cancel_soon() -> None:
        time.sleep(1)
        with local_connect() as other:
            other.execute("SELECT pg_cancel_backend(%s)", [pid])

    threading.Thread(target=cancel_soon, daemon=True).start()
    elapsed, exc = _timed(lambda: rows(db, f"SELECT * FROM dblink(%s, 'SELECT pg_sleep({SLEEP})') AS t(a text)", [remote_dsn]))
    assert isinstance(exc, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND


def test_client_cancel_stops_a_remote_query(db, remote_dsn):
    def cancel_soon() -> None:
        time.sleep(1)
        db.cancel_safe()

    threading.Thread(target=cancel_soon, daemon=True).start()
    elapsed, exc = _timed(lambda: rows(db, f"SELECT * FROM dblink(%s, 'SELECT pg_sleep({SLEEP})') AS t(a text)", [remote_dsn]))
    assert isinstance(exc, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND


def test_statement_timeout_stops_a_connection_attempt_that_gets_no_answer(db, silent_listener):
    db.execute("SET statement_timeout = '1s'")
    elapsed, exc = _timed(lambda: scalar(db, "SELECT dblink_connect(%s)", [f"host=127.0.0.1 port={silent_listener}"]))
    assert isinstance(exc, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND


def test_connect_timeout_is_honoured_when_the_server_never_answers(db, silent_listener):
    elapsed, exc = _timed(lambda: scalar(db, "SELECT dblink_connect(%s)", [f"host=127.0.0.1 port={silent_listener} connect_timeout=2"]))
    assert isinstance(exc, psycopg.Error) and exc.sqlstate == "08001"
    assert elapsed < BOUND


def test_session_is_usable_after_an_interrupt(db, remote_dsn):
    db.execute("SET statement_timeout = '1s'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        rows(db, f"SELECT * FROM dblink(%s, 'SELECT pg_sleep({SLEEP})') AS t(a text)", [remote_dsn])
    db.execute("SET statement_timeout = 0")
    assert scalar(db, "SELECT 1") == 1


def test_ad_hoc_connection_is_closed_after_an_interrupt(db, remote_dsn, remote_admin):
    db.execute("SET statement_timeout = '1s'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        rows(db, f"SELECT * FROM dblink(%s, 'SELECT pg_sleep({SLEEP})') AS t(a text)", [remote_dsn + " application_name=adhoc_int"])
    assert remote_pids(remote_admin, "adhoc_int", wait=True) == []
