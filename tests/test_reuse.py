"""dblink_py.reuse_connections: ad-hoc connections kept per connection string and role, reset between uses."""

from __future__ import annotations

import time

import psycopg
import pytest

from helpers import remote_pids, rows, scalar


def remote_pid(db, dsn: str) -> int:
    return rows(db, "SELECT * FROM dblink(%s, 'SELECT pg_backend_pid()') AS t(p int)", [dsn])[0][0]


@pytest.fixture
def reusing(db):
    db.execute("SET dblink_py.reuse_connections = on")
    return db


def test_ad_hoc_connections_are_not_reused_by_default(db, remote_dsn):
    assert remote_pid(db, remote_dsn) != remote_pid(db, remote_dsn)


def test_reuse_keeps_the_connection_for_the_same_string(reusing, remote_dsn):
    assert remote_pid(reusing, remote_dsn) == remote_pid(reusing, remote_dsn)


def test_a_different_connection_string_gets_its_own_connection(reusing, remote_dsn):
    assert remote_pid(reusing, remote_dsn) != remote_pid(reusing, remote_dsn + " application_name=other")


def test_session_state_does_not_pass_from_one_call_to_the_next(reusing, remote_dsn):
    assert scalar(reusing, "SELECT dblink_exec(%s, 'SET work_mem = ''7MB''')", [remote_dsn]) == "SET"
    scalar(reusing, "SELECT dblink_exec(%s, 'CREATE TEMP TABLE leftover (a int)')", [remote_dsn])
    assert rows(reusing, "SELECT * FROM dblink(%s, 'SHOW work_mem') AS t(v text)", [remote_dsn]) == [("4MB",)]
    assert rows(reusing, "SELECT * FROM dblink(%s, 'SELECT to_regclass(''pg_temp.leftover'') IS NULL') AS t(b bool)", [remote_dsn]) == [(True,)]


def test_a_connection_left_in_a_transaction_is_not_kept(reusing, remote_dsn):
    scalar(reusing, "SELECT dblink_exec(%s, 'BEGIN')", [remote_dsn])
    assert rows(reusing, "SELECT * FROM dblink(%s, 'SELECT now() = statement_timestamp()') AS t(b bool)", [remote_dsn]) == [(True,)]


def test_connections_are_not_shared_across_roles(reusing, remote_dsn, make_local_role):
    make_local_role("reuse_other")
    first = remote_pid(reusing, remote_dsn)
    reusing.execute("SET ROLE reuse_other")
    assert remote_pid(reusing, remote_dsn) != first


def test_idle_connections_are_closed_after_the_timeout(reusing, remote_dsn, remote_admin):
    reusing.execute("SET dblink_py.reuse_idle_timeout = 1")
    dsn = remote_dsn + " application_name=idle_reuse"
    first = remote_pid(reusing, dsn)
    time.sleep(1.5)
    assert remote_pid(reusing, remote_dsn) != first  # any call closes what expired
    assert remote_pids(remote_admin, "idle_reuse", wait=True) == []


def test_a_connection_is_reusable_after_a_remote_error(reusing, remote_dsn):
    first = remote_pid(reusing, remote_dsn)
    with pytest.raises(psycopg.Error):
        rows(reusing, "SELECT * FROM dblink(%s, 'SELECT 1/0') AS t(a int)", [remote_dsn])
    assert remote_pid(reusing, remote_dsn) == first


def test_kept_connections_close_when_the_backend_exits(local_connect, remote_dsn, remote_admin, dblink_py_created):
    dsn = remote_dsn + " application_name=kept_till_exit"
    with local_connect() as session:
        session.execute("SET dblink_py.reuse_connections = on")
        remote_pid(session, dsn)
        assert len(remote_pids(remote_admin, "kept_till_exit")) == 1
    assert remote_pids(remote_admin, "kept_till_exit", wait=True) == []


def test_non_superusers_still_need_a_password_with_reuse(reusing, remote_dsn, make_local_role, remote_server):
    remote_pid(reusing, remote_dsn)
    make_local_role("reuse_np")
    reusing.execute("SET ROLE reuse_np")
    with pytest.raises(psycopg.Error) as info:
        remote_pid(reusing, f"host=127.0.0.1 port={remote_server.port} dbname={remote_server.dbname} user=postgres")
    assert info.value.sqlstate == "2F003"


def test_a_kept_connection_whose_backend_died_is_replaced(reusing, remote_dsn, remote_admin):
    dsn = remote_dsn + " application_name=kept_dies"
    first = remote_pid(reusing, dsn)
    remote_admin.execute("SELECT pg_terminate_backend(%s)", [first])
    time.sleep(0.3)
    assert remote_pid(reusing, dsn) != first
