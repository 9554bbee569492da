"""Asynchronous queries and notifications on named connections."""

from __future__ import annotations

import time

import psycopg
import pytest

from helpers import error_text, rows, scalar


@pytest.fixture
def three(db, remote_dsn):
    for name in ("dtest1", "dtest2", "dtest3"):
        scalar(db, "SELECT dblink_connect(%s, %s)", [name, remote_dsn + f" application_name={name}"])
    return db


def test_send_query_returns_1_and_get_result_the_rows(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('a', %s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_send_query('a', 'SELECT g, g::text FROM generate_series(1, 3) g')") == 1
    assert rows(db, "SELECT * FROM dblink_get_result('a') AS t(n int, s text)") == [(1, "1"), (2, "2"), (3, "3")]
    assert rows(db, "SELECT * FROM dblink_get_result('a') AS t(n int, s text)") == []


def test_get_result_after_the_end_keeps_returning_nothing(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('a', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_send_query('a', 'SELECT 1')")
    rows(db, "SELECT * FROM dblink_get_result('a') AS t(n int)")
    for _ in range(3):
        assert rows(db, "SELECT * FROM dblink_get_result('a') AS t(n int)") == []


def test_multi_statement_query_gives_one_result_per_call(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('a', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_send_query('a', 'SELECT 1; SET work_mem = ''3MB''; SELECT 3')")
    assert rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)") == [("1",)]
    assert rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)") == [("SET",)]
    assert rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)") == [("3",)]
    assert rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)") == []


def test_sending_while_a_query_runs_returns_0_with_a_notice(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('a', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_send_query('a', 'SELECT pg_sleep(0.5)')")
    assert scalar(db, "SELECT dblink_send_query('a', 'SELECT 2')") == 0
    assert db.notices[-1].message_primary.startswith("could not send query: another command is already in progress")
    rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)")
    rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)")


def test_is_busy_while_running_and_not_after(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('a', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_send_query('a', 'SELECT pg_sleep(1)')")
    assert scalar(db, "SELECT dblink_is_busy('a')") == 1
    deadline = time.monotonic() + 15
    while scalar(db, "SELECT dblink_is_busy('a')") == 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scalar(db, "SELECT dblink_is_busy('a')") == 0
    rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)")
    rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)")


def test_queries_on_several_connections_run_at_the_same_time(three, remote_admin):
    for name in ("dtest1", "dtest2", "dtest3"):
        scalar(three, "SELECT dblink_send_query(%s, 'SELECT pg_sleep(3)')", [name])
    # all three are running on the remote at one moment
    deadline = time.monotonic() + 3
    active = 0
    while active < 3 and time.monotonic() < deadline:
        active = scalar(
            remote_admin,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'dtest_'"
            " AND state = 'active' AND query LIKE 'SELECT pg_sleep%%'",
        )
    assert active == 3
    result = rows(
        three,
        "SELECT * FROM dblink_get_result('dtest1') AS t(a text) UNION ALL"
        " SELECT * FROM dblink_get_result('dtest2') AS t(a text) UNION ALL"
        " SELECT * FROM dblink_get_result('dtest3') AS t(a text)",
    )
    assert result == [("",), ("",), ("",)]


def test_get_result_error_says_where(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('a', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_send_query('a', 'SELECT * FROM nowhere')")
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)")
    assert info.value.sqlstate == "42P01"
    assert 'while executing query on dblink connection named "a"' in info.value.diag.context


def test_get_result_error_without_fail_is_a_notice(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('a', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_send_query('a', 'SELECT * FROM nowhere')")
    assert rows(db, "SELECT * FROM dblink_get_result('a', false) AS t(x text)") == []
    assert db.notices[-1].sqlstate == "42P01"
    assert rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)") == []


def test_cancel_query_stops_the_remote_query(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect('a', %s)", [remote_dsn + " application_name=tocancel"])
    scalar(db, "SELECT dblink_send_query('a', 'SELECT pg_sleep(30)')")
    assert scalar(db, "SELECT dblink_cancel_query('a')") == "OK"
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)")
    assert info.value.sqlstate == "57014"
    rows(db, "SELECT * FROM dblink_get_result('a') AS t(x text)")
    assert scalar(db, "SELECT dblink_error_message('a')").startswith("ERROR:  canceling statement due to user request")


def test_error_message_is_ok_after_a_clean_query(three):
    scalar(three, "SELECT dblink_send_query('dtest1', 'SELECT 1')")
    rows(three, "SELECT * FROM dblink_get_result('dtest1') AS t(x int)")
    rows(three, "SELECT * FROM dblink_get_result('dtest1') AS t(x int)")
    assert scalar(three, "SELECT dblink_error_message('dtest1')") == "OK"


def test_async_functions_need_a_named_connection(db):
    for sql in (
        "SELECT dblink_send_query('nope', 'SELECT 1')",
        "SELECT dblink_is_busy('nope')",
        "SELECT dblink_cancel_query('nope')",
        "SELECT * FROM dblink_get_result('nope') AS t(a int)",
    ):
        with pytest.raises(psycopg.Error) as info:
            rows(db, sql)
        assert info.value.sqlstate == "08003"
        assert error_text(info.value) == 'connection "nope" not available'


def test_remote_datestyle_applies_to_async_results(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('a', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_exec('a', 'SET datestyle = GERMAN, DMY')")
    scalar(db, "SELECT dblink_send_query('a', 'SELECT ''2024-03-04''::date')")
    assert [str(r[0]) for r in rows(db, "SELECT * FROM dblink_get_result('a') AS t(d date)")] == ["2024-03-04"]
    rows(db, "SELECT * FROM dblink_get_result('a') AS t(d date)")
    assert scalar(db, "SHOW datestyle") == "ISO, MDY"


# -- notifications -------------------------------------------------------------


def test_notifications_are_returned_once(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    scalar(db, "SELECT dblink_exec('LISTEN regression')")
    scalar(db, "SELECT dblink_exec('LISTEN foobar')")
    remote_admin.execute("NOTIFY regression")
    remote_admin.execute("NOTIFY foobar, 'payload'")
    time.sleep(0.3)
    got = rows(db, "SELECT notify_name, be_pid = %s AS from_admin, extra FROM dblink_get_notify()",
               [remote_admin.info.backend_pid])
    assert got == [("regression", True, ""), ("foobar", True, "payload")]
    assert rows(db, "SELECT * FROM dblink_get_notify()") == []


def test_notifications_on_a_named_connection(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect('n', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_exec('n', 'LISTEN chan')")
    remote_admin.execute("NOTIFY chan, 'x'")
    time.sleep(0.3)
    assert rows(db, "SELECT notify_name, extra FROM dblink_get_notify('n')") == [("chan", "x")]


def test_get_notify_without_unnamed_connection_is_empty(db):
    assert rows(db, "SELECT * FROM dblink_get_notify()") == []


def test_get_notify_on_unknown_connection_fails(db):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink_get_notify('nope')")
    assert info.value.sqlstate == "08003"
