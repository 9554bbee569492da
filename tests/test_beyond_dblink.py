"""Beyond dblink 1.2: bind parameters, result descriptions, introspection, the Python API, remote notices."""

from __future__ import annotations

import psycopg
import pytest

from helpers import rows, scalar


@pytest.fixture
def conn(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('c', %s)", [remote_dsn])
    return db


@pytest.fixture
def items(remote_admin):
    remote_admin.execute("DROP TABLE IF EXISTS items")
    remote_admin.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
    remote_admin.execute("INSERT INTO items VALUES (1, 'one'), (2, 'two')")


# -- bind parameters -----------------------------------------------------------------


def test_params_are_bound_on_a_named_connection(conn):
    assert rows(conn, "SELECT * FROM dblink_params('c', 'SELECT $1::int + 1, $2', ARRAY['41', 'x']) AS t(a int, b text)") == [(42, "x")]


def test_params_work_on_an_ad_hoc_connection(db, remote_dsn):
    assert rows(db, "SELECT * FROM dblink_params(%s, 'SELECT $1::int * 2', ARRAY['21']) AS t(a int)", [remote_dsn]) == [(42,)]


def test_params_work_on_the_unnamed_connection(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    assert rows(db, "SELECT * FROM dblink_params('SELECT $1', ARRAY['u']) AS t(a text)") == [("u",)]


def test_a_value_full_of_quotes_and_semicolons_arrives_as_one_value(conn, items):
    hostile = "x'); DELETE FROM items; --\"; $$ \\"
    assert rows(conn, "SELECT * FROM dblink_params('c', 'SELECT $1', ARRAY[%s]) AS t(a text)", [hostile]) == [(hostile,)]
    assert rows(conn, "SELECT * FROM dblink('c', 'SELECT count(*) FROM items') AS t(n int)") == [(2,)]


def test_null_params_are_sql_nulls(conn):
    assert rows(conn, "SELECT * FROM dblink_params('c', 'SELECT $1::int IS NULL', ARRAY[NULL]::text[]) AS t(b bool)") == [(True,)]


def test_exec_params_runs_a_command(conn, items):
    assert scalar(conn, "SELECT dblink_exec_params('c', 'INSERT INTO items VALUES ($1, $2)', ARRAY['3', 'it''s'])") == "INSERT 0 1"
    assert rows(conn, "SELECT * FROM dblink_params('c', 'SELECT label FROM items WHERE id = $1', ARRAY['3']) AS t(l text)") == [("it's",)]


def test_exec_params_on_the_unnamed_connection(db, remote_dsn, items):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    assert scalar(db, "SELECT dblink_exec_params('UPDATE items SET label = $1', ARRAY['z'])") == "UPDATE 2"


def test_params_refuse_several_statements(conn):
    with pytest.raises(psycopg.Error) as info:
        rows(conn, "SELECT * FROM dblink_params('c', 'SELECT $1; SELECT 2', ARRAY['1']) AS t(a text)")
    assert info.value.sqlstate == "42601"


def test_params_error_without_fail_is_a_notice(conn):
    assert rows(conn, "SELECT * FROM dblink_params('c', 'SELECT $1::int', ARRAY['x'], false) AS t(a int)") == []
    assert conn.notices[-1].sqlstate == "22P02"


def test_params_count_mismatch_is_the_remote_error(conn):
    with pytest.raises(psycopg.Error) as info:
        rows(conn, "SELECT * FROM dblink_params('c', 'SELECT $1, $2', ARRAY['1']) AS t(a text, b text)")
    assert info.value.sqlstate == "08P01"


# -- result description -----------------------------------------------------------------


def test_describe_lists_columns_with_format_type_names(conn):
    result = rows(conn, "SELECT * FROM dblink_describe('c', 'SELECT 1 AS one, ''x''::varchar(3) AS \"Two\", ARRAY[1.5]::numeric(5,2)[] AS three')")
    assert result == [(1, "one", "integer"), (2, "Two", "character varying(3)"), (3, "three", "numeric(5,2)[]")]


def test_describe_does_not_run_the_query(conn, items):
    rows(conn, "SELECT * FROM dblink_describe('c', 'DELETE FROM items RETURNING id')")
    assert rows(conn, "SELECT * FROM dblink('c', 'SELECT count(*) FROM items') AS t(n int)") == [(2,)]


def test_column_definitions_paste_after_as(conn):
    sql = "SELECT 1 AS one, 'x'::varchar(3) AS \"Two\", 2 AS select"
    definitions = scalar(conn, "SELECT dblink_column_definitions('c', %s)", [sql])
    assert definitions == 'one integer, "Two" character varying(3), "select" integer'
    assert rows(conn, f"SELECT * FROM dblink('c', %s) AS t({definitions})", [sql]) == [(1, "x", 2)]


def test_describe_reports_remote_errors(conn):
    with pytest.raises(psycopg.Error) as info:
        rows(conn, "SELECT * FROM dblink_describe('c', 'SELECT * FROM nowhere')")
    assert info.value.sqlstate == "42P01"


def test_describe_works_on_an_ad_hoc_connection(db, remote_dsn):
    assert rows(db, "SELECT name, type FROM dblink_describe(%s, 'SELECT now() AS t')", [remote_dsn]) == [("t", "timestamp with time zone")]


# -- connection introspection -----------------------------------------------------------


def test_connection_info_lists_every_open_connection(db, remote_dsn, remote_server):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    scalar(db, "SELECT dblink_connect('named', %s)", [remote_dsn])
    result = rows(db, "SELECT name, host, port, dbname, \"user\" FROM dblink_connections ORDER BY name NULLS FIRST")
    expected = ("127.0.0.1", remote_server.port, remote_server.dbname, remote_server.superuser)
    assert result == [(None, *expected), ("named", *expected)]


def test_connection_info_shows_the_remote_backend_and_version(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('v', %s)", [remote_dsn])
    pid, version = rows(db, "SELECT backend_pid, server_version FROM dblink_connections")[0]
    assert rows(db, "SELECT * FROM dblink('v', 'SELECT pg_backend_pid(), current_setting(''server_version'')') AS t(p int, v text)") == [(pid, version)]


def test_connection_info_shows_transaction_state_busy_and_cursors(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('t', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_open('t', 'cur', 'SELECT 1')")
    assert rows(db, "SELECT transaction_status, busy, open_cursors FROM dblink_connections") == [("in transaction", False, 1)]
    scalar(db, "SELECT dblink_close('t', 'cur')")
    scalar(db, "SELECT dblink_send_query('t', 'SELECT pg_sleep(0.3)')")
    assert rows(db, "SELECT transaction_status, busy, open_cursors FROM dblink_connections") == [("active", True, 0)]
    rows(db, "SELECT * FROM dblink_get_result('t') AS t(x text)")
    rows(db, "SELECT * FROM dblink_get_result('t') AS t(x text)")


def test_connection_info_times_opened_and_last_used(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('u', %s)", [remote_dsn])
    opened, used = rows(db, "SELECT opened_at, last_used_at FROM dblink_connections")[0]
    rows(db, "SELECT * FROM dblink('u', 'SELECT 1') AS t(a int)")
    opened2, used2 = rows(db, "SELECT opened_at, last_used_at FROM dblink_connections")[0]
    assert opened2 == opened and used2 > used


def test_connection_info_never_shows_a_password(db, remote_dsn, remote_server):
    scalar(db, "SELECT dblink_connect('p', %s)", [remote_dsn])
    text = str(rows(db, "SELECT * FROM dblink_connections"))
    assert remote_server.password not in text


def test_connection_info_is_empty_without_connections(db):
    assert rows(db, "SELECT * FROM dblink_connections") == []


# -- Python API -------------------------------------------------------------------------------


@pytest.fixture
def api_function(db):
    db.execute(
        "CREATE OR REPLACE FUNCTION api_demo(dsn text) RETURNS text LANGUAGE plpython3u AS $$\n"
        "plpy.execute('SELECT dblink_py_load()')\n"
        "import dblink_py\n"
        "dblink_py.connect(dsn, name='api')\n"
        "as_tuples = dblink_py.query('api', 'SELECT $1::int * 2 AS doubled, $2 AS label', ['21', None])\n"
        "as_dicts = dblink_py.query('api', 'SELECT $1::int * 2 AS doubled, $2 AS label', ['21', None], as_dicts=True)\n"
        "status = dblink_py.execute('api', 'SET work_mem = 4000')\n"
        "return repr((as_tuples, as_dicts, status, dblink_py.connections()))\n"
        "$$"
    )
    yield "api_demo"
    db.execute("DROP FUNCTION api_demo(text)")


def test_python_api_queries_and_executes_on_session_connections(db, api_function, remote_dsn):
    result = scalar(db, "SELECT api_demo(%s)", [remote_dsn])
    assert result == repr(([("42", None)], [{"doubled": "42", "label": None}], "SET", ["api"]))
    assert scalar(db, "SELECT dblink_get_connections()") == ["api"]


def test_python_api_applies_the_password_checks(db, api_function, make_local_role, local_connect, remote_server):
    make_local_role("api_user")
    user = local_connect(user="api_user")
    with pytest.raises(psycopg.Error) as info:
        scalar(user, "SELECT api_demo(%s)", [f"host=127.0.0.1 port={remote_server.port} user=postgres"])
    assert info.value.sqlstate == "2F003"


def test_python_api_errors_can_be_caught(db, remote_dsn):
    db.execute(
        "CREATE OR REPLACE FUNCTION api_catch() RETURNS text LANGUAGE plpython3u AS $$\n"
        "plpy.execute('SELECT dblink_py_load()')\n"
        "import dblink_py\n"
        "try:\n"
        "    dblink_py.disconnect('nope')\n"
        "except dblink_py.Error as e:\n"
        "    return e.sqlstate + ' ' + str(e)\n"
        "$$"
    )
    assert scalar(db, "SELECT api_catch()") == '08003 connection "nope" not available'


# -- remote notices ---------------------------------------------------------------------------


RAISE_NOTICES = "DO $$ BEGIN RAISE NOTICE 'hello' USING HINT = 'a hint'; RAISE WARNING 'careful'; END $$"


def test_remote_notices_reach_the_client_saying_where_from(conn):
    scalar(conn, "SELECT dblink_exec('c', %s)", [RAISE_NOTICES])
    forwarded = [(n.message_primary, n.message_hint) for n in conn.notices]
    assert ('NOTICE from dblink connection named "c": hello', "a hint") in forwarded
    assert ('WARNING from dblink connection named "c": careful', None) in forwarded


def test_remote_notices_can_be_turned_off(conn):
    conn.execute("SET dblink_py.remote_notices = off")
    scalar(conn, "SELECT dblink_exec('c', %s)", [RAISE_NOTICES])
    assert conn.notices == []


def test_remote_notices_from_ad_hoc_connections(db, remote_dsn):
    rows(db, "SELECT * FROM dblink(%s, %s) AS t(s text)", [remote_dsn, RAISE_NOTICES])
    assert any(n.message_primary == "NOTICE from unnamed dblink connection: hello" for n in db.notices)


# -- the row type error names the remote columns ---------------------------------------------
