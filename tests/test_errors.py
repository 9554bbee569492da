"""Errors and notices as a dblink user sees them: dblink's message after the one prefix
PL/Python forces, dblink's SQLSTATE, DETAIL and HINT, and a CONTEXT without Python internals."""

from __future__ import annotations

import psycopg
import pytest

from helpers import error_text, rows, scalar

PACKAGE_WORDS = ("dblink_py/", ".py", "Error:", "sql_function", "wrapper", "reporting", "queries", "links")


def context_lines(exc: psycopg.Error) -> list[str]:
    return [line.strip() for line in (exc.diag.context or "").splitlines()]


def assert_clean_context(exc: psycopg.Error, function: str, phrase: str | None) -> None:
    """CONTEXT: the function body's own line, dblink's phrase (if any), nothing of the package."""
    lines = context_lines(exc)
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].startswith(f'PL/Python function "{function}", line ') and lines[1].endswith("in <module>")
    assert lines[2].startswith("with f.boundary: return f.")
    shown = lines[3:-1]
    assert shown == ([f'PL/Python function "{function}", line 1, in {phrase}'] if phrase else [])
    assert lines[-1] == f'PL/Python function "{function}"'
    assert not any(word in line for line in lines[3:] for word in PACKAGE_WORDS)


def test_wrong_password(db, remote_server):
    dsn = remote_server.dsn(password="wrong")
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_connect('myconn', %s)", [dsn])
    assert info.value.sqlstate == "08001"
    assert error_text(info.value) == "could not establish connection"
    assert "password authentication failed" in info.value.diag.message_detail
    assert_clean_context(info.value, "dblink_connect", None)


def test_unreachable_host(db, free_port):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_connect('myconn', %s)", [f"host=127.0.0.1 port={free_port} dbname=x"])
    assert info.value.sqlstate == "08001"
    assert "Connection refused" in info.value.diag.message_detail
    assert_clean_context(info.value, "dblink_connect", None)


def test_typo_in_a_connection_name(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('myconn', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('mycon', 'SELECT 1') AS t(a int)")
    assert info.value.sqlstate == "08001"
    assert info.value.diag.message_detail == 'missing "=" after "mycon" in connection info string'
    assert_clean_context(info.value, "dblink", None)


def test_dblink_before_connecting(db):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('SELECT 1') AS t(a int)")
    assert (info.value.sqlstate, error_text(info.value)) == ("08003", "connection not available")
    assert_clean_context(info.value, "dblink", None)


@pytest.mark.parametrize(("target", "phrase"), [
    ("myconn", 'while executing query on dblink connection named "myconn"'),
    (None, "while executing query on unnamed dblink connection"),
])
def test_remote_syntax_error_names_the_connection(db, remote_dsn, target, phrase):
    scalar(db, "SELECT dblink_connect(%s)" if target is None else "SELECT dblink_connect('myconn', %s)", [remote_dsn])
    call = "dblink('SELEC 1')" if target is None else "dblink('myconn', 'SELEC 1')"
    with pytest.raises(psycopg.Error) as info:
        rows(db, f"SELECT * FROM {call} AS t(a int)")
    assert (info.value.sqlstate, error_text(info.value)) == ("42601", 'syntax error at or near "SELEC"')
    assert_clean_context(info.value, "dblink", phrase)


def test_remote_context_lines_come_before_the_phrase(db, remote_dsn, remote_admin):
    remote_admin.execute("CREATE OR REPLACE FUNCTION raises() RETURNS int LANGUAGE plpgsql"
                         " AS $$ BEGIN RAISE EXCEPTION 'nope' USING DETAIL = 'd', HINT = 'h'; END $$")
    scalar(db, "SELECT dblink_connect('myconn', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('myconn', 'SELECT raises()') AS t(a int)")
    assert (error_text(info.value), info.value.diag.message_detail, info.value.diag.message_hint) == ("nope", "d", "h")
    names = [line.split(", in ", 1)[1] for line in context_lines(info.value)[3:-1]]
    assert names == ["PL/pgSQL function raises() line 1 at RAISE",
                     'while executing query on dblink connection named "myconn"']


def test_missing_cursor(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('myconn', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink_fetch('myconn', 'nocur', 1) AS t(a int)")
    assert info.value.sqlstate == "34000"
    assert_clean_context(info.value, "dblink_fetch", 'while fetching from cursor "nocur" on dblink connection named "myconn"')


def test_a_wrong_column_list_is_record_ins_error_without_python(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT 1, 2') AS t(a int)", [remote_dsn])
    assert info.value.diag.message_primary == 'malformed record literal: "(1,2)"'
    assert context_lines(info.value) == ["while creating return value", 'PL/Python function "dblink"']


def test_a_bad_value_is_the_input_functions_own_error(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT ''xyz''') AS t(a boolean)", [remote_dsn])
    assert info.value.diag.message_primary == 'invalid input syntax for type boolean: "xyz"'


def test_a_remote_error_after_the_read_ahead_keeps_its_message_in_detail(db, remote_dsn):
    sql = "SELECT 1 / (g - 250000) FROM generate_series(1, 300000) g"
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT count(*) FROM dblink(%s, %s) AS t(a int)", [remote_dsn, sql])
    assert info.value.sqlstate == "22012"
    assert info.value.diag.message_primary == "error fetching next item from iterator"
    assert info.value.diag.message_detail == "dblink_py: division by zero"
    assert context_lines(info.value)[3:-1] == ['PL/Python function "dblink", line 1, in while executing query'
                                               ' on unnamed dblink connection']


def test_a_remote_error_within_the_read_ahead_is_its_own_message(db, remote_dsn):
    sql = "SELECT 1 / (g - 20000) FROM generate_series(1, 30000) g"
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT count(*) FROM dblink(%s, %s) AS t(a int)", [remote_dsn, sql])
    assert error_text(info.value) == "division by zero"


def test_the_notice_of_fail_on_error_false_has_dblinks_message(db, remote_dsn):
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT 1/0', false) AS t(a int)", [remote_dsn]) == []
    notice = db.notices[-1]
    assert (notice.severity, notice.message_primary, notice.sqlstate) == ("NOTICE", "division by zero", "22012")


def test_an_unexpected_failure_says_nothing_of_python(db, remote_dsn):
    # a parameter list that is not one: the Python API refuses it cleanly
    db.execute(
        "CREATE OR REPLACE FUNCTION pg_temp.api_with_int() RETURNS text LANGUAGE plpython3u AS $$\n"
        "plpy.execute('SELECT dblink_py_load()')\nimport dblink_py\n"
        f"return dblink_py.query({remote_dsn!r}, 'SELECT $1::int + 1', [41])[0][0]\n$$")
    assert scalar(db, "SELECT pg_temp.api_with_int()") == "42"


def test_the_python_api_refuses_a_value_without_text(db, remote_dsn):
    db.execute(
        "CREATE OR REPLACE FUNCTION pg_temp.api_with_object() RETURNS text LANGUAGE plpython3u AS $$\n"
        "plpy.execute('SELECT dblink_py_load()')\nimport dblink_py\n"
        "try:\n"
        f"    dblink_py.query({remote_dsn!r}, 'SELECT $1', [object()])\n"
        "except dblink_py.Error as e:\n"
        "    return e.sqlstate + ' ' + e.args[0]\n$$")
    assert scalar(db, "SELECT pg_temp.api_with_object()") == "22023 parameter $1 cannot be sent as text"


# -- settings --------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("reuse_connections", "banana", 'parameter "dblink_py.reuse_connections" requires a Boolean value'),
    ("remote_notices", "maybe", 'parameter "dblink_py.remote_notices" requires a Boolean value'),
    ("reuse_idle_timeout", "soon", 'invalid value for parameter "dblink_py.reuse_idle_timeout": "soon"'),
    ("reuse_idle_timeout", "-5", '-5 s is outside the valid range for parameter "dblink_py.reuse_idle_timeout"'
                                 " (0 .. 2147483647)"),
])
def test_an_invalid_setting_is_22023_at_the_first_call_that_reads_it(db, remote_dsn, setting, value, message):
    db.execute(f"SET dblink_py.{setting} = '{value}'")
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)", [remote_dsn])
    assert (info.value.sqlstate, error_text(info.value)) == ("22023", message)


@pytest.mark.parametrize("value", ["t", "y", "1", "TRUE", "on"])
def test_postgresql_spellings_of_true_turn_reuse_on(db, remote_dsn, value):
    db.execute(f"SET dblink_py.reuse_connections = '{value}'")
    rows(db, "SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)", [remote_dsn])
    assert rows(db, "SELECT pooled FROM dblink_connections") == [(True,)]


def test_a_mistyped_setting_draws_one_warning_naming_the_closest(db, remote_dsn):
    db.execute("SET dblink_py.reuse_conections = on")
    for _ in range(2):
        rows(db, "SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)", [remote_dsn])
    warnings = [n for n in db.notices if n.severity == "WARNING"]
    assert [w.message_primary for w in warnings] == ['unrecognized configuration parameter "dblink_py.reuse_conections"']
    assert warnings[0].message_hint == 'Perhaps you meant "dblink_py.reuse_connections".'


def test_the_settings_are_listed_from_the_start_of_a_session(db):
    found = {r[0]: r[1:3] for r in rows(db, "SELECT name, setting, source FROM dblink_py_settings()")}
    assert found == {"dblink_py.reuse_connections": ("off", "default"),
                     "dblink_py.reuse_idle_timeout": ("60", "default"),
                     "dblink_py.remote_notices": ("on", "default")}
    db.execute("SET dblink_py.remote_notices = off")
    assert rows(db, "SELECT setting, source FROM dblink_py_settings() WHERE name = 'dblink_py.remote_notices'") == \
        [("off", "set")]
