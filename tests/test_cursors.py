"""dblink_open, dblink_fetch, dblink_close: remote cursors and dblink's transaction bookkeeping."""

from __future__ import annotations

import psycopg
import pytest

from helpers import error_text, rows, scalar


@pytest.fixture(scope="module")
def foo(remote_admin):
    remote_admin.execute("DROP TABLE IF EXISTS cfoo")
    remote_admin.execute("CREATE TABLE cfoo (f1 int, f2 text, f3 text[])")
    remote_admin.execute(
        "INSERT INTO cfoo SELECT i, chr(97 + i), ARRAY['a' || i, 'b' || i] FROM generate_series(0, 9) i"
    )


def remote_tx_status(db, conn: str) -> str:
    """The remote session's transaction state, seen through the connection itself."""
    return rows(db, f"SELECT * FROM dblink('{conn}', 'SELECT now() = statement_timestamp()') AS t(b bool)")[0][0]


def in_remote_transaction(db, conn: str) -> bool:
    return not remote_tx_status(db, conn)


def test_open_fetch_close_on_the_unnamed_connection(db, remote_dsn, foo):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_open('rmt_foo_cursor', 'SELECT * FROM cfoo ORDER BY f1')") == "OK"
    first = rows(db, "SELECT * FROM dblink_fetch('rmt_foo_cursor', 4) AS t(a int, b text, c text[])")
    assert first == [(i, chr(97 + i), [f"a{i}", f"b{i}"]) for i in range(4)]
    second = rows(db, "SELECT a FROM dblink_fetch('rmt_foo_cursor', 100) AS t(a int, b text, c text[])")
    assert second == [(i,) for i in range(4, 10)]
    assert rows(db, "SELECT * FROM dblink_fetch('rmt_foo_cursor', 4) AS t(a int, b text, c text[])") == []
    assert scalar(db, "SELECT dblink_close('rmt_foo_cursor')") == "OK"


def test_open_on_an_idle_connection_begins_and_last_close_commits(db, remote_dsn, foo):
    scalar(db, "SELECT dblink_connect('c', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_open('c', 'one', 'SELECT 1')")
    scalar(db, "SELECT dblink_open('c', 'two', 'SELECT 2')")
    assert in_remote_transaction(db, "c")
    scalar(db, "SELECT dblink_close('c', 'one')")
    assert in_remote_transaction(db, "c")
    scalar(db, "SELECT dblink_close('c', 'two')")
    assert not in_remote_transaction(db, "c")


def test_transaction_begun_by_the_user_is_never_committed_by_close(db, remote_dsn, foo):
    scalar(db, "SELECT dblink_connect('c', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_exec('c', 'BEGIN')")
    scalar(db, "SELECT dblink_open('c', 'cur', 'SELECT 1')")
    scalar(db, "SELECT dblink_close('c', 'cur')")
    assert in_remote_transaction(db, "c")
    assert scalar(db, "SELECT dblink_exec('c', 'COMMIT')") == "COMMIT"


def test_fetch_converts_rows_like_dblink(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('c', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_open('c', 'cur', 'SELECT false, ''\\x01''::bytea, ARRAY[[1,2],[3,4]]')")
    assert rows(db, "SELECT * FROM dblink_fetch('c', 'cur', 1) AS t(a bool, b bytea, c int[])") == [
        (False, b"\x01", [[1, 2], [3, 4]])
    ]


def test_open_error_names_the_cursor(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('c', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_open('c', 'bad', 'SELECT * FROM nowhere')")
    assert info.value.sqlstate == "42P01"
    assert 'while opening cursor "bad" on dblink connection named "c"' in info.value.diag.context


def test_open_error_without_fail_returns_error_and_a_notice(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_open('bad', 'SELECT * FROM nowhere', false)") == "ERROR"
    assert db.notices[-1].sqlstate == "42P01"
    assert scalar(db, "SELECT dblink_exec('ABORT')") == "ROLLBACK"


def test_fetch_error_names_the_cursor(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink_fetch('nocursor', 1) AS t(a int)")
    assert info.value.sqlstate == "34000"
    assert 'while fetching from cursor "nocursor" on unnamed dblink connection' in info.value.diag.context


def test_fetch_error_without_fail_returns_no_rows_and_a_notice(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    assert rows(db, "SELECT * FROM dblink_fetch('nocursor', 1, false) AS t(a int)") == []
    assert db.notices[-1].sqlstate == "34000"


def test_fetch_column_count_mismatch_is_an_error(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    scalar(db, "SELECT dblink_open('cur', 'SELECT 1, 2')")
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink_fetch('cur', 1) AS t(a int)")
    assert info.value.sqlstate == "22P02"
    assert info.value.diag.message_detail == "Too many columns."


def test_close_error_names_the_cursor(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('c', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_close('c', 'nocursor')")
    assert 'while closing cursor "nocursor" on dblink connection named "c"' in info.value.diag.context


def test_close_error_without_fail_returns_error(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_close('nocursor', false)") == "ERROR"
    assert db.notices[-1].sqlstate == "34000"


def test_cursor_functions_need_an_open_connection(db):
    for sql in (
        "SELECT dblink_open('c', 'SELECT 1')",
        "SELECT dblink_close('c')",
        "SELECT * FROM dblink_fetch('c', 1) AS t(a int)",
    ):
        with pytest.raises(psycopg.Error) as info:
            rows(db, sql)
        assert info.value.sqlstate == "08003"
        assert error_text(info.value) == "connection not available"


def test_named_cursor_functions_need_that_connection(db):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_open('nope', 'c', 'SELECT 1')")
    assert error_text(info.value) == 'connection "nope" not available'


def test_large_cursor_read_in_batches(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    scalar(db, "SELECT dblink_open('big', 'SELECT g FROM generate_series(1, 50000) g')")
    total = 0
    for _ in range(5):
        total += scalar(db, "SELECT count(*) FROM dblink_fetch('big', 10000) AS t(a int)")
    assert total == 50000
    assert scalar(db, "SELECT dblink_close('big')") == "OK"


def test_strict_null_arguments(db):
    assert rows(db, "SELECT dblink_open(NULL, 'SELECT 1')") == [(None,)]
    assert rows(db, "SELECT * FROM dblink_fetch(NULL, 1) AS t(a int)") == []
