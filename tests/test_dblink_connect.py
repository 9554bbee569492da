"""dblink_connect, dblink_disconnect, dblink_get_connections: the session's connections."""

from __future__ import annotations

import psycopg
import pytest

from helpers import error_text, remote_pids, scalar


def test_connect_unnamed_returns_ok(db, remote_dsn):
    assert scalar(db, "SELECT dblink_connect(%s)", [remote_dsn]) == "OK"


def test_connect_named_returns_ok_and_is_listed(db, remote_dsn):
    assert scalar(db, "SELECT dblink_connect('c1', %s)", [remote_dsn]) == "OK"
    assert scalar(db, "SELECT dblink_get_connections()") == ["c1"]


def test_get_connections_is_null_without_named_connections(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_get_connections()") is None


def test_get_connections_lists_every_named_connection(db, remote_dsn):
    for name in ("a", "b", "c"):
        scalar(db, "SELECT dblink_connect(%s, %s)", [name, remote_dsn])
    assert sorted(scalar(db, "SELECT dblink_get_connections()")) == ["a", "b", "c"]


def test_duplicate_name_is_refused_before_connecting(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('dup', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        # an unusable connection string shows no connection is attempted
        scalar(db, "SELECT dblink_connect('dup', 'host=256.0.0.1 port=1')")
    assert info.value.sqlstate == "42710"
    assert error_text(info.value) == "duplicate connection name"


def test_long_name_is_truncated_to_63_bytes_with_notice(db, remote_dsn):
    name = "x" * 70
    scalar(db, "SELECT dblink_connect(%s, %s)", [name, remote_dsn])
    assert scalar(db, "SELECT dblink_get_connections()") == ["x" * 63]
    notice = db.notices[-1]
    assert notice.sqlstate == "42622"
    assert notice.message_primary == f'identifier "{name}" will be truncated to "{"x" * 63}"'


def test_multibyte_name_is_truncated_on_a_character_boundary(db, remote_dsn):
    name = "é" * 40  # 80 bytes in UTF8
    scalar(db, "SELECT dblink_connect(%s, %s)", [name, remote_dsn])
    assert scalar(db, "SELECT dblink_get_connections()") == ["é" * 31]


def test_truncated_name_finds_the_connection(db, remote_dsn):
    name = "y" * 70
    scalar(db, "SELECT dblink_connect(%s, %s)", [name, remote_dsn])
    assert scalar(db, "SELECT dblink_disconnect(%s)", [name]) == "OK"
    assert scalar(db, "SELECT dblink_get_connections()") is None


def test_names_are_case_sensitive(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('Conn', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_disconnect('conn')")
    assert info.value.sqlstate == "08003"


def test_connection_failure_reports_libpq_message(db, free_port):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_connect(%s)", [f"host=127.0.0.1 port={free_port} connect_timeout=5"])
    assert info.value.sqlstate == "08001"
    assert error_text(info.value) == "could not establish connection"
    assert "127.0.0.1" in info.value.diag.message_detail
    assert not info.value.diag.message_detail.endswith("\n")


def test_malformed_connection_string_reports_libpq_message(db):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_connect('myconn')")
    assert info.value.sqlstate == "08001"
    assert info.value.diag.message_detail == 'missing "=" after "myconn" in connection info string'


def test_failed_named_connect_leaves_no_name_behind(db, free_port):
    with pytest.raises(psycopg.Error):
        scalar(db, "SELECT dblink_connect('gone', %s)", [f"host=127.0.0.1 port={free_port}"])
    assert scalar(db, "SELECT dblink_get_connections()") is None


def test_remote_client_encoding_is_the_local_database_encoding(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn + " client_encoding=LATIN1"])
    rows = db.execute("SELECT * FROM dblink('SHOW client_encoding') AS t(e text)").fetchall()
    assert rows == [("UTF8",)]


def test_new_unnamed_connection_replaces_the_old_one(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn + " application_name=first"])
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn + " application_name=second"])
    assert remote_pids(remote_admin, "first", wait=True) == []
    assert len(remote_pids(remote_admin, "second")) == 1


def test_failed_unnamed_connect_keeps_the_old_one(db, remote_dsn, free_port):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    with pytest.raises(psycopg.Error):
        scalar(db, "SELECT dblink_connect(%s)", [f"host=127.0.0.1 port={free_port}"])
    assert db.execute("SELECT * FROM dblink('SELECT 1') AS t(a int)").fetchall() == [(1,)]


def test_disconnect_unnamed_closes_the_remote_session(db, remote_dsn, remote_admin):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn + " application_name=bye"])
    assert scalar(db, "SELECT dblink_disconnect()") == "OK"
    assert remote_pids(remote_admin, "bye", wait=True) == []


def test_disconnect_named_forgets_the_name(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('n', %s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_disconnect('n')") == "OK"
    assert scalar(db, "SELECT dblink_get_connections()") is None


def test_disconnect_without_unnamed_connection_fails(db):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_disconnect()")
    assert info.value.sqlstate == "08003"
    assert error_text(info.value) == "connection not available"


def test_disconnect_unknown_name_fails(db):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_disconnect('nope')")
    assert info.value.sqlstate == "08003"
    assert error_text(info.value) == 'connection "nope" not available'


def test_connection_outlives_local_transactions(db, remote_dsn):
    db.execute("BEGIN")
    scalar(db, "SELECT dblink_connect('tx', %s)", [remote_dsn])
    db.execute("ROLLBACK")
    assert scalar(db, "SELECT dblink_get_connections()") == ["tx"]


def test_error_message_is_ok_on_a_healthy_connection(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('em', %s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_error_message('em')") == "OK"


def test_error_message_keeps_the_last_remote_error(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('em', %s)", [remote_dsn])
    db.execute("SELECT dblink_exec('em', 'SELECT * FROM nowhere', false)")
    assert 'relation "nowhere" does not exist' in scalar(db, "SELECT dblink_error_message('em')")


def test_error_message_of_unknown_connection_fails(db):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_error_message('nope')")
    assert info.value.sqlstate == "08003"


def test_current_query_is_the_top_level_query(db):
    sql = "SELECT dblink_current_query() AS q"
    assert scalar(db, sql) == sql


def test_backend_exit_closes_remote_connections(local_connect, remote_dsn, remote_admin):
    with local_connect() as other:
        other.execute("SELECT dblink_connect('x', %s)", [remote_dsn + " application_name=exiting"])
        assert len(remote_pids(remote_admin, "exiting")) == 1
    remote_admin.execute("SELECT pg_sleep(0.5)")
    assert remote_pids(remote_admin, "exiting", wait=True) == []
