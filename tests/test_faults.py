"""Faults on the remote link: every one ends in a clear error, a usable session and truthful state."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Callable

import psycopg
import pytest

from faultproxy import BLACKHOLE, SILENT, SLOW, FaultProxy
from helpers import error_text, remote_pids, rows, scalar

pytestmark = pytest.mark.faults

# Generous bound for "stopped when asked": a call that missed the fault
# would run for the whole remote sleep of 30 s. Speed is the benchmark's job.
BOUND = 10
SLEEP = "SELECT pg_sleep(30)"


@pytest.fixture
def proxy(remote_server):
    proxy = FaultProxy(remote_server.port)
    yield proxy
    proxy.close()


@pytest.fixture
def via_proxy(proxy, remote_server):
    return (
        f"{proxy.dsn_params()} dbname={remote_server.dbname} user={remote_server.superuser}"
        f" password={remote_server.password}"
    )


def later(seconds: float, action: Callable[[], object]) -> threading.Thread:
    """Run `action` in the background after `seconds`."""

    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def timed_error(fn: Callable[[], object]) -> tuple[float, psycopg.Error]:
    start = time.monotonic()
    with pytest.raises(psycopg.Error) as info:
        fn()
    elapsed = time.monotonic() - start
    # shown with `pytest -s`: the figures of the README's fault matrix
    print(f"\n{os.environ.get('PYTEST_CURRENT_TEST', '?')}: {type(info.value).__name__}"
          f" {info.value.sqlstate} after {elapsed:.2f} s: {info.value.diag.message_primary}")
    return elapsed, info.value


def assert_clean_message(error: psycopg.Error) -> None:
    """A message for people: no Python exception or traceback text."""
    message = error.diag.message_primary or ""
    assert message
    for marker in ("Traceback", "spiexceptions", "plpy.", "Error:", "Exception"):
        assert marker not in message


def assert_state_truthful_and_recoverable(db, name: str, dsn: str) -> None:
    """The named connection is still listed, says what happened, and can be replaced."""
    assert name in scalar(db, "SELECT dblink_get_connections()")
    assert scalar(db, "SELECT dblink_error_message(%s)", [name]) != "OK"
    assert scalar(db, "SELECT dblink_disconnect(%s)", [name]) == "OK"
    assert scalar(db, "SELECT dblink_connect(%s, %s)", [name, dsn]) == "OK"
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)", [name]) == [(1,)]


# -- the remote side fails ---------------------------------------------------------


def test_remote_backend_terminated_mid_query(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect('f', %s)", [remote_dsn + " application_name=victim"])
    pid = remote_pids(remote_admin, "victim")[0]
    later(1, lambda: remote_admin.execute("SELECT pg_terminate_backend(%s)", [pid]))
    elapsed, error = timed_error(lambda: rows(db, f"SELECT * FROM dblink('f', '{SLEEP}') AS t(a text)"))
    assert error.sqlstate in ("57P01", "08006")
    assert elapsed < BOUND
    assert_clean_message(error)
    assert_state_truthful_and_recoverable(db, "f", remote_dsn)


def test_remote_server_stopped_mid_query_and_restarted(db, remote_dsn, remote_server):
    scalar(db, "SELECT dblink_connect('f', %s)", [remote_dsn])
    restarting = later(1, remote_server.restart)
    elapsed, error = timed_error(lambda: rows(db, f"SELECT * FROM dblink('f', '{SLEEP}') AS t(a text)"))
    restarting.join()
    assert error.sqlstate in ("57P01", "08006")
    assert elapsed < BOUND
    assert_clean_message(error)
    assert_state_truthful_and_recoverable(db, "f", remote_dsn)


def test_query_on_a_connection_whose_server_went_away_is_a_clear_error(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect('f', %s)", [remote_dsn + " application_name=gone_idle"])
    remote_admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gone_idle'")
    time.sleep(0.3)
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('f', 'SELECT 1') AS t(a int)")
    assert info.value.sqlstate in ("57P01", "08006")
    assert_clean_message(info.value)
    assert_state_truthful_and_recoverable(db, "f", remote_dsn)


# -- the link fails --------------------------------------------------------------------


def test_connection_reset_mid_query(db, via_proxy, proxy):
    scalar(db, "SELECT dblink_connect('f', %s)", [via_proxy])
    later(1, proxy.reset_all)
    elapsed, error = timed_error(lambda: rows(db, f"SELECT * FROM dblink('f', '{SLEEP}') AS t(a text)"))
    assert error.sqlstate == "08006"
    assert elapsed < BOUND
    assert_clean_message(error)
    assert_state_truthful_and_recoverable(db, "f", via_proxy)


def test_blackholed_link_is_left_on_statement_timeout(db, via_proxy, proxy):
    scalar(db, "SELECT dblink_connect('f', %s)", [via_proxy])
    db.execute("SET statement_timeout = '1s'")
    later(0.3, lambda: setattr(proxy, "mode", BLACKHOLE))
    elapsed, error = timed_error(lambda: rows(db, f"SELECT * FROM dblink('f', '{SLEEP}') AS t(a text)"))
    assert isinstance(error, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND
    db.execute("SET statement_timeout = 0")
    proxy.mode = "forward"
    assert_state_truthful_and_recoverable(db, "f", via_proxy)


def test_blackholed_link_is_left_on_pg_cancel_backend(db, via_proxy, proxy, local_connect):
    scalar(db, "SELECT dblink_connect('f', %s)", [via_proxy])
    proxy.mode = BLACKHOLE
    pid = db.info.backend_pid
    later(1, lambda: local_connect().execute("SELECT pg_cancel_backend(%s)", [pid]))
    elapsed, error = timed_error(lambda: rows(db, "SELECT * FROM dblink('f', 'SELECT 1') AS t(a int)"))
    assert isinstance(error, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND


def test_slow_link_still_delivers_every_row(db, via_proxy, proxy):
    proxy.mode = SLOW
    proxy.slow_delay = 0.002
    result = rows(db, "SELECT * FROM dblink(%s, 'SELECT g, repeat(''x'', 50) FROM generate_series(1, 2000) g') AS t(a int, b text)", [via_proxy])
    assert [r[0] for r in result] == list(range(1, 2001))


def test_slow_link_is_left_on_statement_timeout(db, via_proxy, proxy):
    proxy.mode = SLOW
    proxy.slow_delay = 0.05
    db.execute("SET statement_timeout = '1s'")
    elapsed, error = timed_error(lambda: rows(db, "SELECT * FROM dblink(%s, 'SELECT repeat(''x'', 100000)') AS t(a text)", [via_proxy]))
    assert isinstance(error, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND


def test_link_that_trickles_without_pause_is_left_on_statement_timeout(db, via_proxy, proxy):
    # Bytes keep arriving, so no single wait on the socket ever times out.
    scalar(db, "SELECT dblink_connect('f', %s)", [via_proxy])
    proxy.mode = SLOW
    proxy.slow_delay = 0.02
    db.execute("SET statement_timeout = '1s'")
    elapsed, error = timed_error(lambda: rows(db, "SELECT * FROM dblink('f', 'SELECT repeat(''x'', 100000)') AS t(a text)"))
    assert isinstance(error, psycopg.errors.QueryCanceled)
    assert_clean_message(error)
    assert elapsed < BOUND
    db.execute("SET statement_timeout = 0")
    proxy.mode = "forward"
    assert_state_truthful_and_recoverable(db, "f", via_proxy)


def test_remote_that_never_answers_the_startup_packet_times_out(db, proxy, remote_server):
    proxy.mode = SILENT
    dsn = f"{proxy.dsn_params()} dbname={remote_server.dbname} user=postgres connect_timeout=2"
    elapsed, error = timed_error(lambda: scalar(db, "SELECT dblink_connect('f', %s)", [dsn]))
    assert error.sqlstate == "08001"
    assert error_text(error) == "could not establish connection"
    assert elapsed < BOUND
    assert scalar(db, "SELECT dblink_get_connections()") is None


def test_remote_that_never_answers_is_left_on_pg_cancel_backend(db, proxy, remote_server, local_connect):
    proxy.mode = SILENT
    pid = db.info.backend_pid
    later(1, lambda: local_connect().execute("SELECT pg_cancel_backend(%s)", [pid]))
    elapsed, error = timed_error(lambda: scalar(db, "SELECT dblink_connect(%s)", [f"{proxy.dsn_params()} user=postgres"]))
    assert isinstance(error, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND


# -- local interrupts in every kind of wait ------------------------------------------------


def test_statement_timeout_during_cursor_fetch(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect('f', %s)", [remote_dsn + " application_name=fetching"])
    scalar(db, "SELECT dblink_open('f', 'c', 'SELECT pg_sleep(30)')")
    db.execute("SET statement_timeout = '1s'")
    elapsed, error = timed_error(lambda: rows(db, "SELECT * FROM dblink_fetch('f', 'c', 1) AS t(a text)"))
    assert isinstance(error, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND
    assert scalar(remote_admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fetching' AND state = 'active'") == 0


def test_statement_timeout_during_get_result(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect('f', %s)", [remote_dsn + " application_name=waiting"])
    scalar(db, f"SELECT dblink_send_query('f', '{SLEEP}')")
    db.execute("SET statement_timeout = '1s'")
    elapsed, error = timed_error(lambda: rows(db, "SELECT * FROM dblink_get_result('f') AS t(a text)"))
    assert isinstance(error, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND
    assert scalar(remote_admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'waiting' AND state = 'active'") == 0
    db.execute("SET statement_timeout = 0")
    assert rows(db, "SELECT * FROM dblink('f', 'SELECT 2') AS t(a int)") == [(2,)]


def test_pg_cancel_backend_during_get_result(db, remote_dsn, local_connect):
    scalar(db, "SELECT dblink_connect('f', %s)", [remote_dsn])
    scalar(db, f"SELECT dblink_send_query('f', '{SLEEP}')")
    pid = db.info.backend_pid
    later(1, lambda: local_connect().execute("SELECT pg_cancel_backend(%s)", [pid]))
    elapsed, error = timed_error(lambda: rows(db, "SELECT * FROM dblink_get_result('f') AS t(a text)"))
    assert isinstance(error, psycopg.errors.QueryCanceled)
    assert elapsed < BOUND


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM dblink('{dsn}', 'SELECT pg_sleep(30)') AS t(a text)",
        "SELECT dblink_exec('{dsn}', 'SELECT pg_sleep(30)')",
    ],
)
def test_client_disconnect_stops_the_call_and_the_remote_query(local_server, remote_dsn, remote_admin, statement):
    app = "orphaned"
    sql = statement.format(dsn=remote_dsn + f" application_name={app}")
    client = subprocess.Popen(["psql", "-X", "-q", local_server.dsn(), "-c", sql],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not remote_pids(remote_admin, app) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert remote_pids(remote_admin, app), "the remote query never started"
    client.kill()
    client.wait()
    assert remote_pids(remote_admin, app, wait=True) == []


def test_session_is_usable_after_each_fault(db, via_proxy, proxy):
    scalar(db, "SELECT dblink_connect('f', %s)", [via_proxy])
    later(0.5, proxy.reset_all)
    with pytest.raises(psycopg.Error):
        rows(db, f"SELECT * FROM dblink('f', '{SLEEP}') AS t(a text)")
    assert scalar(db, "SELECT 40 + 2") == 42
