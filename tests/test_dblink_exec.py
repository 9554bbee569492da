"""dblink_exec(): commands on the remote server and their status text."""

from __future__ import annotations

import psycopg
import pytest

from helpers import error_text, rows, scalar


@pytest.fixture
def bar(remote_admin):
    remote_admin.execute("DROP TABLE IF EXISTS bar")
    remote_admin.execute("CREATE TABLE bar (id int PRIMARY KEY, v text)")
    remote_admin.execute("INSERT INTO bar VALUES (1, 'one'), (2, 'two')")
    return "bar"


def test_insert_returns_its_command_tag(db, remote_dsn, bar):
    assert scalar(db, "SELECT dblink_exec(%s, 'INSERT INTO bar VALUES (3, ''three'')')", [remote_dsn]) == "INSERT 0 1"


def test_update_returns_the_row_count(db, remote_dsn, bar):
    assert scalar(db, "SELECT dblink_exec(%s, 'UPDATE bar SET v = v || ''!''')", [remote_dsn]) == "UPDATE 2"


def test_delete_through_unnamed_connection(db, remote_dsn, bar):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_exec('DELETE FROM bar WHERE id = 1')") == "DELETE 1"


def test_set_through_named_connection_persists_in_its_session(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('s', %s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_exec('s', 'SET application_name = ''tagged''')") == "SET"
    assert rows(db, "SELECT * FROM dblink('s', 'SHOW application_name') AS t(v text)") == [("tagged",)]


def test_statement_returning_rows_is_refused(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_exec(%s, 'SELECT 1')", [remote_dsn])
    assert info.value.sqlstate == "2F003"
    assert error_text(info.value) == "statement returning results not allowed"


def test_statement_returning_rows_is_refused_even_without_fail_on_error(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_exec(%s, 'SELECT 1', false)", [remote_dsn])
    assert info.value.sqlstate == "2F003"


def test_last_statement_decides(db, remote_dsn, bar):
    sql = "SELECT 1; UPDATE bar SET v = 'x' WHERE id = 2"
    assert scalar(db, "SELECT dblink_exec(%s, %s)", [remote_dsn, sql]) == "UPDATE 1"


def test_remote_error_keeps_sqlstate_and_says_where(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('ex', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_exec('ex', 'INSERT INTO nowhere VALUES (1)')")
    assert info.value.sqlstate == "42P01"
    assert 'while executing command on dblink connection named "ex"' in info.value.diag.context


def test_fail_on_error_false_returns_error_text_and_a_notice(db, remote_dsn):
    assert scalar(db, "SELECT dblink_exec(%s, 'INSERT INTO nowhere VALUES (1)', false)", [remote_dsn]) == "ERROR"
    assert db.notices[-1].sqlstate == "42P01"


def test_unique_violation_keeps_detail(db, remote_dsn, bar):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_exec(%s, 'INSERT INTO bar VALUES (1, ''again'')')", [remote_dsn])
    assert info.value.sqlstate == "23505"
    assert info.value.diag.message_detail == "Key (id)=(1) already exists."


def test_remote_transaction_spans_calls_on_a_named_connection(db, remote_dsn, bar):
    scalar(db, "SELECT dblink_connect('tx', %s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_exec('tx', 'BEGIN')") == "BEGIN"
    scalar(db, "SELECT dblink_exec('tx', 'DELETE FROM bar')")
    assert scalar(db, "SELECT dblink_exec('tx', 'ROLLBACK')") == "ROLLBACK"
    assert rows(db, "SELECT * FROM dblink('tx', 'SELECT count(*) FROM bar') AS t(n int)") == [(2,)]


def test_unnamed_form_without_connection_fails(db):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_exec('SET x.y = 1')")
    assert info.value.sqlstate == "08003"


def test_strict_null_argument_returns_null(db):
    assert scalar(db, "SELECT dblink_exec(NULL, 'SELECT 1')") is None
    assert scalar(db, "SELECT dblink_exec(NULL::text)") is None


def test_copy_to_stdout_is_refused_and_the_connection_stays_usable(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('cp', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_exec('cp', 'COPY (SELECT g FROM generate_series(1, 50000) g) TO STDOUT')")
    assert info.value.sqlstate == "0A000"
    assert rows(db, "SELECT * FROM dblink('cp', 'SELECT 1') AS t(a int)") == [(1,)]


def test_copy_from_stdin_is_refused_and_the_connection_stays_usable(db, remote_dsn, bar):
    scalar(db, "SELECT dblink_connect('cp', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('cp', 'COPY bar FROM STDIN') AS t(a text)")
    assert info.value.sqlstate == "0A000"
    assert rows(db, "SELECT * FROM dblink('cp', 'SELECT count(*) FROM bar') AS t(n int)") == [(2,)]
