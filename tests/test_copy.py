"""dblink_copy_to and dblink_copy_from: bulk copy between local and remote tables over COPY."""

from __future__ import annotations

import psycopg
import pytest

from helpers import error_text, rows, scalar

# Columns of many kinds, and values that need quoting, escaping or care.
COLUMNS = ("id int, t text, arr text[], b bool, n numeric, j jsonb, raw bytea, ts timestamptz, d date,"
           " i interval, p point, c varchar(5)")
VALUES = [
    "(1, 'plain', '{a,b}', true, 1.5, '{\"k\": [1, 2]}', '\\x00ff', '2024-02-29 13:14:15+00', '2024-02-29',"
    " '1 day 02:03:04', '(1,2)', 'abc')",
    "(2, E'tab\\there\\nnew \"line\" \\\\ back, comma', '{\"x,y\",\"q\\\"uote\",NULL,\"\"}', false, 'NaN',"
    " '\"str\"', '\\x', 'infinity', '-infinity', '-1 2:03:04', '(0,0)', '')",
    "(3, '', '{}', NULL, NULL, 'null', NULL, NULL, NULL, NULL, NULL, NULL)",
    "(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "(5, '\\.', '{\"\\\\.\"}', true, -0.0001, '[]', '\\x5c2e', '1999-12-31 23:59:59.999999+05:30', '0001-01-01 BC',"
    " '-178000000 years', '(-1.5,1e300)', 'x')",
]


@pytest.fixture
def linked(db, remote_dsn, remote_admin):
    """A named connection "r", and an empty table copy_target(COLUMNS) on both sides."""
    remote_admin.execute("DROP TABLE IF EXISTS copy_target")
    remote_admin.execute(f"CREATE TABLE copy_target ({COLUMNS})")
    db.execute("DROP TABLE IF EXISTS copy_source, copy_target")
    db.execute(f"CREATE TABLE copy_source ({COLUMNS})")
    db.execute(f"CREATE TABLE copy_target ({COLUMNS})")
    db.execute("INSERT INTO copy_source VALUES " + ", ".join(VALUES))
    db.execute("SELECT dblink_connect('r', %s)", [remote_dsn])
    yield db
    remote_admin.execute("DROP TABLE IF EXISTS copy_target")
    db.execute("DROP TABLE IF EXISTS copy_source, copy_target")


def _remote_rows(conn, table: str = "copy_target") -> list[tuple]:
    return rows(conn, f"SELECT t::text FROM dblink('r', 'SELECT * FROM {table} ORDER BY id') AS t({COLUMNS})")


def _local_rows(conn, table: str) -> list[tuple]:
    return rows(conn, f"SELECT t::text FROM {table} t ORDER BY id")


def test_copy_to_stores_what_insert_select_would(linked):
    assert scalar(linked, "SELECT dblink_copy_to('r', 'copy_target', 'SELECT * FROM copy_source')") == len(VALUES)
    assert _remote_rows(linked) == _local_rows(linked, "copy_source")


def test_copy_from_stores_what_insert_select_would(linked, remote_admin):
    remote_admin.execute("INSERT INTO copy_target VALUES " + ", ".join(VALUES))
    assert scalar(linked, "SELECT dblink_copy_from('r', 'SELECT * FROM copy_target', 'copy_target')") == len(VALUES)
    assert _local_rows(linked, "copy_target") == _remote_rows(linked)


def test_copy_to_and_back_give_the_same_rows_under_other_datestyles(linked):
    linked.execute("SELECT dblink_exec('r', 'SET datestyle = German, DMY')")
    linked.execute("SELECT dblink_exec('r', 'SET intervalstyle = sql_standard')")
    linked.execute("SET datestyle = SQL, MDY")
    linked.execute("SELECT dblink_copy_to('r', 'copy_target', 'SELECT * FROM copy_source')")
    linked.execute("SELECT dblink_copy_from('r', 'SELECT * FROM copy_target', 'copy_target')")
    assert _local_rows(linked, "copy_target") == _local_rows(linked, "copy_source")
    assert scalar(linked, "SHOW datestyle") == "SQL, MDY"


def test_copy_to_fills_the_columns_named(linked):
    count = scalar(linked, "SELECT dblink_copy_to('r', 'copy_target', 'SELECT t, id FROM copy_source', ARRAY['t', 'id'])")
    assert count == len(VALUES)
    assert rows(linked, "SELECT * FROM dblink('r', 'SELECT id, t, b FROM copy_target ORDER BY id')"
                        " AS t(id int, t text, b bool)") == rows(linked, "SELECT id, t, NULL::bool FROM copy_source ORDER BY id")


def test_copy_from_fills_the_columns_named_and_leaves_defaults_to_the_rest(linked, remote_admin):
    remote_admin.execute("INSERT INTO copy_target VALUES " + ", ".join(VALUES))
    linked.execute("CREATE TABLE with_defaults (id int, note text DEFAULT 'dflt', twice int GENERATED ALWAYS AS (id * 2) STORED)")
    try:
        assert scalar(linked, "SELECT dblink_copy_from('r', 'SELECT id FROM copy_target', 'with_defaults', ARRAY['id'])") == 5
        assert rows(linked, "SELECT * FROM with_defaults ORDER BY id") == [(i, "dflt", 2 * i) for i in range(1, 6)]
    finally:
        linked.execute("DROP TABLE with_defaults")


def test_names_are_quoted_as_postgresql_reads_them(linked, remote_admin):
    remote_admin.execute('CREATE SCHEMA IF NOT EXISTS "Odd Schema"')
    remote_admin.execute('CREATE TABLE "Odd Schema"."Odd ""Table""" ("Odd Column" int)')
    try:
        count = scalar(linked, "SELECT dblink_copy_to('r', %s, 'SELECT 7', ARRAY['Odd Column'])",
                       ['"Odd Schema"."Odd ""Table"""'])
        assert count == 1
        assert scalar(remote_admin, 'SELECT "Odd Column" FROM "Odd Schema"."Odd ""Table"""') == 7
    finally:
        remote_admin.execute('DROP SCHEMA "Odd Schema" CASCADE')


def test_a_table_name_is_never_pasted_into_sql(linked, remote_admin):
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_to('r', 'copy_target (id) FROM STDIN; DROP TABLE copy_target; --', 'SELECT 1')")
    assert info.value.sqlstate == "22023"
    assert scalar(remote_admin, "SELECT count(*) FROM pg_tables WHERE tablename = 'copy_target'") == 1


def test_a_remote_copy_that_fails_at_row_500000_stops_cleanly(linked, remote_admin):
    remote_admin.execute("ALTER TABLE copy_target ADD CHECK (id <> 500000)")
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_to('r', 'copy_target', 'SELECT g, ''x'' FROM generate_series(1, 600000) g',"
                       " ARRAY['id', 't'])")
    assert info.value.sqlstate == "23514"
    assert "while copying to dblink connection named" in info.value.diag.context
    assert scalar(remote_admin, "SELECT count(*) FROM copy_target") == 0
    assert rows(linked, "SELECT * FROM dblink('r', 'SELECT 1') AS t(a int)") == [(1,)]


def test_a_local_query_that_fails_aborts_the_remote_copy(linked, remote_admin):
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_to('r', 'copy_target', 'SELECT 1 / (g - 30000) FROM generate_series(1, 50000) g',"
                       " ARRAY['id'])")
    assert info.value.sqlstate == "22012"
    assert scalar(remote_admin, "SELECT count(*) FROM copy_target") == 0
    assert rows(linked, "SELECT * FROM dblink('r', 'SELECT 1') AS t(a int)") == [(1,)]


def test_statement_timeout_stops_copy_to(linked, remote_admin):
    linked.execute("SET statement_timeout = '1s'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        linked.execute("SELECT dblink_copy_to('r', 'copy_target', 'SELECT g FROM generate_series(1, 100) g"
                       " WHERE pg_sleep(0.05) IS NOT NULL', ARRAY['id'])")
    linked.execute("RESET statement_timeout")
    assert scalar(remote_admin, "SELECT count(*) FROM copy_target") == 0
    assert rows(linked, "SELECT * FROM dblink('r', 'SELECT 1') AS t(a int)") == [(1,)]


def test_a_remote_error_mid_stream_leaves_the_local_table_as_it_was(linked):
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_from('r', 'SELECT 1 / (g - 30000) FROM generate_series(1, 50000) g',"
                       " 'copy_target', ARRAY['id'])")
    assert info.value.sqlstate == "22012"
    assert "while copying from dblink connection named" in info.value.diag.context
    assert scalar(linked, "SELECT count(*) FROM copy_target") == 0
    assert rows(linked, "SELECT * FROM dblink('r', 'SELECT 1') AS t(a int)") == [(1,)]


def test_a_local_insert_that_fails_stops_the_remote_copy(linked, remote_admin):
    linked.execute("ALTER TABLE copy_target ADD CHECK (id <> 30000)")
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_from('r', 'SELECT g FROM generate_series(1, 200000) g', 'copy_target',"
                       " ARRAY['id'])")
    assert info.value.sqlstate == "23514"
    assert scalar(linked, "SELECT count(*) FROM copy_target") == 0
    assert rows(linked, "SELECT * FROM dblink('r', 'SELECT 1') AS t(a int)") == [(1,)]


def test_statement_timeout_stops_copy_from(linked):
    linked.execute("SET statement_timeout = '1s'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        linked.execute("SELECT dblink_copy_from('r', 'SELECT g FROM generate_series(1, 100) g WHERE pg_sleep(0.05) IS NOT NULL',"
                       " 'copy_target', ARRAY['id'])")
    linked.execute("RESET statement_timeout")
    assert rows(linked, "SELECT * FROM dblink('r', 'SELECT 1') AS t(a int)") == [(1,)]


def test_a_value_the_local_type_refuses_is_its_input_function_s_error(linked):
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_from('r', 'SELECT ''abcdef''', 'copy_target', ARRAY['c'])")
    assert info.value.sqlstate == "22001"


def test_the_local_side_runs_with_the_caller_s_privileges(linked, make_local_role, local_connect, remote_server):
    role = make_local_role("copy_user", password="pw")
    user = local_connect(user=role, password="pw")
    user.execute("SELECT dblink_connect('r', %s)", [remote_server.dsn()])
    with pytest.raises(psycopg.Error) as info:
        user.execute("SELECT dblink_copy_to('r', 'copy_target', 'SELECT * FROM copy_source')")
    assert info.value.sqlstate == "42501"
    with pytest.raises(psycopg.Error) as info:
        user.execute("SELECT dblink_copy_from('r', 'SELECT 1', 'copy_target', ARRAY['id'])")
    assert info.value.sqlstate == "42501"


def test_copy_from_takes_one_remote_query(linked):
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_from('r', 'SELECT 1; SELECT 2', 'copy_target', ARRAY['id'])")
    assert info.value.sqlstate == "42601"
    assert error_text(info.value) == "dblink_copy_from takes exactly one remote query"


def test_a_local_query_s_syntax_error_is_told_in_its_own_words(linked):
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_to('r', 'copy_target', 'copy_source')")
    assert info.value.sqlstate == "42601"
    assert error_text(info.value) == 'syntax error at or near "copy_source"'


def test_a_local_query_that_cannot_be_a_subquery_is_refused_as_such(linked):
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_to('r', 'copy_target',"
                       " 'INSERT INTO copy_source (id) VALUES (9) RETURNING *')")
    assert info.value.sqlstate == "42601"
    assert error_text(info.value) == "the local query of dblink_copy_to must be one that can be read as a subquery"
    assert scalar(linked, "SELECT count(*) FROM copy_source WHERE id = 9") == 0


def test_another_number_of_columns_is_an_error(linked):
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_from('r', 'SELECT 1, 2', 'copy_target', ARRAY['id'])")
    assert info.value.sqlstate == "42804"


def test_null_arguments_give_null(linked):
    assert scalar(linked, "SELECT dblink_copy_to('r', NULL, 'SELECT 1')") is None
    assert scalar(linked, "SELECT dblink_copy_from(NULL, 'SELECT 1', 'copy_target')") is None
    assert scalar(linked, "SELECT dblink_copy_to('r', 'copy_target', 'SELECT 1', NULL)") is None


def test_a_null_column_name_is_an_error(linked):
    with pytest.raises(psycopg.Error) as info:
        linked.execute("SELECT dblink_copy_to('r', 'copy_target', 'SELECT 1', ARRAY[NULL])")
    assert info.value.sqlstate == "22004"


def test_ad_hoc_connection_strings_work_and_are_closed(linked, remote_server, remote_admin):
    dsn = remote_server.dsn(application_name="copy_adhoc")
    assert scalar(linked, "SELECT dblink_copy_to(%s, 'copy_target', 'SELECT * FROM copy_source')", [dsn]) == len(VALUES)
    assert scalar(remote_admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'copy_adhoc'") == 0
