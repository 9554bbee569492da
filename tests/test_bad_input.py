"""Bad input: each gets a clear error with a proper SQLSTATE, never a crash, a hang or a wrong value."""

from __future__ import annotations

import psycopg
import pytest

from helpers import error_text, rows, scalar


def _dblink_py_functions(db) -> list[tuple[str, list[str], bool, bool]]:
    """(name, argument types, returns a set, has OUT parameters) of every function of the extension."""
    found = []
    for name, retset, argtypes, allargtypes in rows(
        db,
        "SELECT p.proname::text, p.proretset,"
        " ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t),"
        " p.proallargtypes IS NOT NULL"
        " FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass"
        " JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dblink_py'"
        " WHERE p.pronargs > 0 AND p.proname <> 'dblink_py_read_user_mapping'",
    ):
        found.append((name, argtypes, retset, allargtypes))
    return found


def test_null_in_every_argument_position_returns_null_or_nothing(db):
    checked = 0
    for name, argtypes, retset, has_out in _dblink_py_functions(db):
        for position in range(len(argtypes)):
            arguments = ", ".join(
                f"NULL::{t}" if i == position else ("'x'::text" if t == "text" else f"NULL::{t}")
                for i, t in enumerate(argtypes)
            )
            if retset and not has_out and name != "dblink_get_pkey":
                result = rows(db, f"SELECT * FROM {name}({arguments}) AS t(a text)")
                assert result == [], (name, argtypes, position)
            elif retset:
                assert rows(db, f"SELECT * FROM {name}({arguments})") == [], (name, argtypes, position)
            else:
                assert scalar(db, f"SELECT {name}({arguments})") is None, (name, argtypes, position)
            checked += 1
    assert checked > 50


@pytest.mark.parametrize(
    ("conninfo", "detail_part"),
    [
        ("host=127.0.0.1 port=abc", 'invalid integer value "abc" for connection option "port"'),
        ("nonsense=1", 'invalid connection option "nonsense"'),
        ("host='unterminated", "unterminated quoted string in connection info string"),
        ("postgresql://[::1", 'end of string reached when looking for matching "]"'),
        ("postgresql://127.0.0.1:99999999/db", "invalid port number"),
        ("sslmode=bogus", 'invalid sslmode value: "bogus"'),
        ("myconn", 'missing "=" after "myconn" in connection info string'),
    ],
)
def test_malformed_connection_strings_are_refused_with_libpq_reason(db, conninfo, detail_part):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_connect('bad', %s)", [conninfo])
    assert info.value.sqlstate == "08001"
    assert detail_part in info.value.diag.message_detail
    assert scalar(db, "SELECT dblink_get_connections()") is None


def test_empty_connection_string_needs_a_password_from_non_superusers(make_local_role, local_connect, dblink_py_created):
    make_local_role("empty_user")
    with pytest.raises(psycopg.Error) as info:
        scalar(local_connect(user="empty_user"), "SELECT dblink_connect('')")
    assert info.value.sqlstate == "2F003"


def test_remote_syntax_error_is_reported_with_its_sqlstate(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELEC 1') AS t(a int)", [remote_dsn])
    assert info.value.sqlstate == "42601"
    assert error_text(info.value) == 'syntax error at or near "SELEC"'


def test_mismatched_declared_type_is_the_input_functions_error(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT now()') AS t(a int)", [remote_dsn])
    assert info.value.sqlstate == "22P02"


def test_value_out_of_range_for_the_local_type(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT 3000000000::bigint') AS t(a int)", [remote_dsn])
    assert info.value.sqlstate == "22003"


def test_huge_value_arrives_whole(db, remote_dsn):
    size = 100 * 1024 * 1024
    result = rows(db, f"SELECT length(a), md5(a) = md5(repeat('x', {size})) FROM dblink(%s, 'SELECT repeat(''x'', {size})') AS t(a text)", [remote_dsn])
    assert result == [(size, True)]


def test_wide_row_of_a_thousand_columns(db, remote_dsn):
    select = ", ".join(f"{i} AS c{i}" for i in range(1, 1001))
    columns = ", ".join(f"c{i} int" for i in range(1, 1001))
    result = rows(db, f"SELECT c1, c500, c1000 FROM dblink(%s, %s) AS t({columns})", [remote_dsn, f"SELECT {select}"])
    assert result == [(1, 500, 1000)]


@pytest.fixture
def latin1_remote_db(remote_admin, remote_server):
    remote_admin.execute("DROP DATABASE IF EXISTS latin1_db")
    remote_admin.execute("CREATE DATABASE latin1_db ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    yield remote_server.dsn(dbname="latin1_db")
    remote_admin.execute("DROP DATABASE latin1_db WITH (FORCE)")


def test_latin1_remote_text_arrives_as_utf8(db, latin1_remote_db):
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT ''café'', length(''café'')') AS t(a text, n int)", [latin1_remote_db]) == [("café", 4)]


def test_character_the_remote_encoding_lacks_is_a_clear_error(db, latin1_remote_db):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT ''✓''') AS t(a text)", [latin1_remote_db])
    assert info.value.sqlstate == "22P05"


@pytest.fixture
def latin1_local(local_admin, local_connect, dblink_py_created):
    local_admin.execute("DROP DATABASE IF EXISTS latin1_local WITH (FORCE)")
    local_admin.execute("CREATE DATABASE latin1_local ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    conn = local_connect(dbname="latin1_local", client_encoding="UTF8")
    conn.execute("CREATE EXTENSION dblink_py CASCADE")
    yield conn
    conn.close()
    local_admin.execute("DROP DATABASE latin1_local WITH (FORCE)")


def test_local_latin1_database_receives_text_in_its_encoding(latin1_local, remote_dsn):
    assert rows(latin1_local, "SELECT * FROM dblink(%s, 'SELECT ''café''') AS t(a text)", [remote_dsn]) == [("café",)]


def test_remote_character_the_local_encoding_lacks_is_a_clear_error(latin1_local, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(latin1_local, "SELECT * FROM dblink(%s, 'SELECT ''✓''') AS t(a text)", [remote_dsn])
    assert info.value.sqlstate == "22P05"


# Inputs that made PostgreSQL 15's PL/Python crash the backend when dblink_py
# handed booleans to its truth-value conversion: each is now the declared
# type's own error, and the server's other sessions live on.
CRASHERS = [
    ("VALUES ('t','x'), ('xyz','{{1,2}}')", "a bool, b text", True),
    ("VALUES ('t','1'), ('xyz','{{1,2}}')", "a bool, b json", True),
    ("VALUES ('t','1'), ('xyz','2')", "a bool, b int", True),
    ("VALUES ('{t}','x'), ('{t,xyz}','y')", "a bool[], b text", True),
    ("VALUES ('t','x'), ('xyz','{{1,2}}')", "a bool, b text", False),
    ("SELECT CASE WHEN g = 65 THEN 'xyz' ELSE 't' END, '{{1,2}}' FROM generate_series(1, 100) g", "a bool, b text", True),
]


@pytest.mark.parametrize(("sql", "columns", "fail_on_error"), CRASHERS)
def test_values_that_crashed_the_backend_are_the_input_functions_error(db, local_connect, remote_dsn, sql, columns,
                                                                      fail_on_error):
    bystander = local_connect()
    with pytest.raises(psycopg.Error) as info:
        rows(db, f"SELECT * FROM dblink(%s, %s, %s) AS t({columns})", [remote_dsn, sql, fail_on_error])
    assert info.value.sqlstate == "22P02"
    assert info.value.diag.message_primary == 'invalid input syntax for type boolean: "xyz"'
    assert scalar(bystander, "SELECT 1") == 1
    assert scalar(db, "SELECT 1") == 1
