"""Remote values become exactly what the local column type's input function makes of their text."""

from __future__ import annotations

import psycopg
import pytest

from helpers import rows, scalar

# (remote expression, local column type): the local result must equal the
# same expression evaluated locally as that type.
SAME_AS_LOCAL = [
    ("42", "int"),
    ("'-12.50'::numeric", "numeric(10,2)"),
    ("'abc'", "text"),
    ("'ab '", "varchar(5)"),
    ("NULL::int", "int"),
    ("true", "boolean"),
    ("false", "boolean"),
    ("'f'::text", "boolean"),
    ("'off'::text", "boolean"),
    ("'  YES '::text", "boolean"),
    ("NULL::boolean", "boolean"),
    ("'\\x00ff10'::bytea", "bytea"),
    ("''::bytea", "bytea"),
    ("convert_to('a\\b''c', 'UTF8')", "bytea"),
    ("ARRAY[1, 2, NULL]", "int[]"),
    ("ARRAY['a,b', 'c\"d', 'e\\f', '', NULL, 'NULL']", "text[]"),
    ("ARRAY[true, false, NULL]", "boolean[]"),
    ("ARRAY['\\x01'::bytea, '\\x'::bytea, NULL]", "bytea[]"),
    ("'{}'::int[]", "int[]"),
    ("ARRAY[[1, 2], [3, 4]]", "int[]"),
    ("ARRAY[[[true], [false]], [[NULL::boolean], [true]]]", "boolean[]"),
    ("ARRAY[['a b', NULL], ['{x}', '\"']]", "text[]"),
    ("'{1,2}'::text", "int[]"),
    ("ARRAY[1, 2]", "text"),
    ("ARRAY[[1, 2], [3, 4]]", "text"),
    ("ROW(1, 'x y')", "pair"),
    ("ARRAY[ROW(1, 'a')::pair, ROW(2, NULL)::pair]", "pair[]"),
    ("7", "small_positive"),
    ("ARRAY[3, 4]", "small_positive[]"),
    ("'2024-02-29'::date", "date"),
    ("'2024-02-29 13:14:15.5'::timestamp", "timestamp"),
    ("'1 day 02:03:04'::interval", "interval"),
    ("'{\"a\": [1, 2]}'::jsonb", "jsonb"),
    ("'(1,2),(3,4)'::box", "box"),
    ("ARRAY['(1,2),(3,4)'::box, '(5,6),(7,8)'::box]", "box[]"),
    ("'héllo ✓'", "text"),
    ("'green'", "color"),
]


@pytest.fixture(scope="module")
def local_types(local_admin):
    for sql in (
        "DROP TYPE IF EXISTS pair CASCADE",
        "CREATE TYPE pair AS (a int, b text)",
        "DROP DOMAIN IF EXISTS small_positive CASCADE",
        "CREATE DOMAIN small_positive AS int CHECK (VALUE BETWEEN 1 AND 9)",
        "DROP TYPE IF EXISTS color CASCADE",
        "CREATE TYPE color AS ENUM ('red', 'green')",
    ):
        local_admin.execute(sql)


@pytest.fixture(scope="module")
def remote_types(remote_admin):
    remote_admin.execute("DROP TYPE IF EXISTS pair CASCADE")
    remote_admin.execute("CREATE TYPE pair AS (a int, b text)")


@pytest.mark.parametrize(("expression", "local_type"), SAME_AS_LOCAL)
def test_value_is_what_local_input_function_makes(db, remote_dsn, local_types, remote_types, expression, local_type):
    remote_sql = f"SELECT {expression}"
    got = rows(db, f"SELECT v::text FROM dblink(%s, %s) AS t(v {local_type})", [remote_dsn, remote_sql])
    # the remote text fed to the local input function, computed locally
    remote_text = rows(db, "SELECT * FROM dblink(%s, %s) AS t(v text)", [remote_dsn, remote_sql])[0][0]
    expected = scalar(db, f"SELECT (%s::{local_type})::text", [remote_text])
    assert got == [(expected,)]


def test_boolean_f_is_false(db, remote_dsn):
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT false, true') AS t(a boolean, b boolean)", [remote_dsn]) == [(False, True)]


def test_bytea_arrives_as_bytes(db, remote_dsn):
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT ''\\x00ff''::bytea') AS t(b bytea)", [remote_dsn]) == [(b"\x00\xff",)]


def test_text_array_arrives_as_elements(db, remote_dsn):
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT ARRAY[''a'', ''b'']') AS t(a text[])", [remote_dsn]) == [(["a", "b"],)]


def test_two_dimensional_array_keeps_its_shape(db, remote_dsn):
    result = rows(db, "SELECT array_dims(a) FROM dblink(%s, 'SELECT ARRAY[[1,2,3],[4,5,6]]') AS t(a int[])", [remote_dsn])
    assert result == [("[1:2][1:3]",)]


def test_varchar_overflow_errors_as_locally(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT ''abcd''') AS t(v varchar(3))", [remote_dsn])
    assert info.value.sqlstate == "22001"


def test_unparseable_integer_errors_as_locally(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT ''abc''') AS t(v int)", [remote_dsn])
    assert info.value.sqlstate == "22P02"
    assert 'invalid input syntax for type integer: "abc"' in info.value.diag.message_primary


def test_invalid_boolean_text_is_an_error_not_true(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT ''maybe''') AS t(v boolean)", [remote_dsn])
    assert info.value.sqlstate == "22P02"


def test_domain_check_applies(db, remote_dsn, local_types):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT 42') AS t(v small_positive)", [remote_dsn])
    assert info.value.sqlstate == "23514"


def test_remote_datestyle_is_read_correctly_and_local_setting_is_unchanged(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('ds', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_exec('ds', 'SET datestyle = GERMAN, DMY')")
    db.execute("SET datestyle = ISO, MDY")
    result = rows(db, "SELECT * FROM dblink('ds', 'SELECT ''2024-03-04''::date, ''2024-03-04 05:06:07''::timestamp') AS t(d date, ts timestamp)")
    assert [(str(d), str(ts)) for d, ts in result] == [("2024-03-04", "2024-03-04 05:06:07")]
    assert scalar(db, "SHOW datestyle") == "ISO, MDY"


def test_remote_intervalstyle_is_read_correctly_and_local_setting_is_unchanged(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('is', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_exec('is', 'SET intervalstyle = sql_standard')")
    sql = "SELECT make_interval(years => 1, months => 2, days => 3, hours => -4, mins => -5, secs => -6)"
    result = rows(db, "SELECT i::text FROM dblink('is', %s) AS t(i interval)", [sql])
    assert result == [("1 year 2 mons 3 days -04:05:06",)]
    assert scalar(db, "SHOW intervalstyle") == "postgres"


def test_local_settings_survive_a_conversion_error(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('ds2', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_exec('ds2', 'SET datestyle = GERMAN, DMY')")
    with pytest.raises(psycopg.Error):
        rows(db, "SELECT * FROM dblink('ds2', 'SELECT ''2024-03-04''::date, ''x''') AS t(d date, n int)")
    assert scalar(db, "SHOW datestyle") == "ISO, MDY"
