"""dblink_py against C dblink on the same servers: the same calls give the same rows and errors.

Every built-in and contrib type with a text form that the remote server
accepts sample values for, their arrays (one and two dimensions, other
lower bounds, NULL elements), user-defined enums, composites, domains and
ranges, values declared as other types, remote sessions with other
DateStyle, IntervalStyle, extra_float_digits, bytea_output and TimeZone, a
LATIN1 remote database and LATIN1 and SQL_ASCII local databases,
multi-statement strings, command status rows and empty queries; each at
row 1 and in a result of several chunks, through dblink(), dblink_fetch()
and dblink_get_result(). Outcomes must be equal, except for the differences
listed in KNOWN_DIFFERENCES (and in the README), each checked to be exactly
that difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import psycopg
import pytest
from psycopg import sql

from helpers import error_text
from differential import (
    CONTRIB,
    Outcome,
    Pair,
    Side,
    create_user_types,
    describe_difference,
    repeated,
    rows_query,
)

pytestmark = pytest.mark.c_dblink

# Rows in a result that spans several of dblink_py's chunks (1,000 rows each)
# and its read-ahead; row 1 alone is the other position.
MANY = 2500

# Text that the types' input functions are offered; what the remote server
# accepts for a type becomes that type's samples.
CANDIDATES = [
    "0", "1", "-1", "42", "-32768", "2147483647", "9223372036854775807", "3.14", "-0.5", "1e-7", "1.5e300",
    "NaN", "Infinity", "-Infinity", "12345678901234567890.123456789",
    "t", "f", "true", "off", "yes",
    "abc", "a b", "", "x\"y", "back\\slash", "h\u00e9llo \u2713", "{braces}", "(parens)", "comma,inside", " pad ",
    "line\nbreak", "tab\there",
    "2024-02-29", "epoch", "infinity", "-infinity", "4713-01-01 BC", "2024-02-29 13:14:15.123456",
    "2024-02-29 13:14:15+05:30", "13:14:15", "13:14:15.5+02", "allballs", "1 day 02:03:04", "-1 2:03:04",
    "P1Y2M3DT4H5M6S", "1 year -2 mons 3 days", "00:00:00.000001",
    "(1,2)", "(1.5,-2)", "((0,0),(1,1))", "(1,2),(3,4)", "<(1,2),3>", "{1,2,3}", "[(0,0),(1,1)]",
    "((0,0),(1,1),(2,0))", "[(0,0),(1,1),(2,0)]",
    "192.168.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "08:00:2b:01:02:03", "08:00:2b:01:02:03:04:05",
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\\x00ff10", "\\x", "\\001\\\\",
    "{\"a\": [1, 2, {\"b\": null}]}", "[1, 2.50, \"x\"]", "null", "\"str\"",
    "<a x=\"1\">b &amp; c</a>", "fat & rat", "'fat':1 'rat':2", "$.a[*] ? (@ > 1)",
    "[1,5)", "(,)", "empty", "[2024-01-01,2024-02-01)", "{[1,2), [5,7)}", "{}",
    "101", "B101", "X1F", "10:20:10,14,15", "0/16B3740", "(0,1)", "1 2 3",
    "$1,000.00", "pg_class", "integer", "=", "now", "english", "simple", "+(integer,integer)", "abs(integer)",
    "a=>1, b=>NULL", "\"k y\"=>\"v,w\"", "Top.Science.Astronomy", "Top.*{1,2}.Astronomy", "(1,2),(3,4)",
    "1.5 .. 2.5", "<0.5>", "978-0-393-04002-9", "0-393-04002-X", "9780393040029", "036000291452",
    "sad", "happy", "(1,x)", "(1,\"a,b\")", "(\"(2,y)\",\"{p,q}\",t)", "5",
]
# Types that have no text input worth testing (internal states, summaries).
UNTESTED_TYPES = {
    "pg_node_tree", "pg_ndistinct", "pg_dependencies", "pg_mcv_list", "pg_brin_bloom_summary",
    "pg_brin_minmax_multi_summary", "gtsvector", "ghstore", "gtrgm", "ltree_gist", "cstring",
}
SAMPLES_PER_TYPE = 4

SAMPLE_FUNCTION = """
CREATE OR REPLACE FUNCTION diff_samples(candidates text[], per_type int)
RETURNS TABLE (type_name text, sample text) LANGUAGE plpgsql AS $f$
DECLARE
    t record;
    c text;
    found int;
    shown text;
    seen text[];
BEGIN
    FOR t IN
        SELECT ty.oid, format_type(ty.oid, NULL) AS name FROM pg_type ty
        JOIN pg_namespace n ON n.oid = ty.typnamespace
        WHERE n.nspname IN ('pg_catalog', 'public') AND ty.typisdefined
          AND (ty.typtype IN ('b', 'r', 'm', 'e') AND ty.typcategory <> 'A' OR ty.typname IN ('int2vector', 'oidvector'))
          AND ty.typcategory <> 'P' AND ty.typrelid = 0
        ORDER BY 2
    LOOP
        found := 0;
        seen := '{}';
        FOREACH c IN ARRAY candidates LOOP
            EXIT WHEN found >= per_type;
            BEGIN
                EXECUTE format('SELECT %L::%s::text', c, t.name) INTO shown;
                IF NOT shown = ANY (seen) THEN
                    seen := seen || shown;
                    found := found + 1;
                    type_name := t.name;
                    sample := c;
                    RETURN NEXT;
                END IF;
            EXCEPTION WHEN OTHERS THEN
                NULL;
            END;
        END LOOP;
    END LOOP;
END
$f$
"""


def _recreate_database(admin: Any, name: str, encoding: str = "UTF8") -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE 'C' LC_CTYPE 'C'").format(
        sql.Identifier(name), sql.Literal(encoding)))


@pytest.fixture(scope="module")
def remote_db(remote_server, remote_admin) -> str:
    """A remote database with the cases' types; its connection string."""
    _recreate_database(remote_admin, "diff_remote")
    with psycopg.connect(remote_server.dsn("diff_remote"), autocommit=True) as conn:
        create_user_types(conn)
        conn.execute(SAMPLE_FUNCTION)
        conn.execute("CREATE TABLE boxes AS SELECT ARRAY[box(point(g, g), point(0, 0)), box(point(1, 1), point(2, 2))] AS b"
                     " FROM generate_series(1, 3) g")
    return remote_server.dsn("diff_remote")


def _side_pair(local_server, local_admin, remote_dsn: str, suffix: str, encoding: str) -> Pair:
    sides = []
    for extension in ("dblink", "dblink_py"):
        name = f"diff_{'c' if extension == 'dblink' else 'py'}{suffix}"
        _recreate_database(local_admin, name, encoding)
        with psycopg.connect(local_server.dsn(name, via_socket=True), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE EXTENSION {} CASCADE").format(sql.Identifier(extension)))
            if encoding == "UTF8":
                create_user_types(conn)
        sides.append(Side(extension, local_server.dsn(name, via_socket=True), remote_dsn))
    return Pair(*sides)


@pytest.fixture(scope="module")
def pair(dblink_py_created, local_server, local_admin, remote_db) -> Iterator[Pair]:
    """C dblink and dblink_py in two UTF8 local databases, each connected as "r" to the remote."""
    found = _side_pair(local_server, local_admin, remote_db, "", "UTF8")
    yield found
    found.both(Side.close)


@pytest.fixture(scope="module")
def samples(remote_db) -> list[tuple[str, str]]:
    """(type, sample text) for every type the remote server accepts samples of."""
    with psycopg.connect(remote_db, autocommit=True) as conn:
        found = conn.execute("SELECT * FROM diff_samples(%s, %s)", [CANDIDATES, SAMPLES_PER_TYPE]).fetchall()
    return [(t, s) for t, s in found if t not in UNTESTED_TYPES]


def _literal(text: str) -> str:
    return sql.Literal(text).as_string(None)


def _check(pair: Pair, cases: list[tuple[str, str, str]], *, known: Callable[[str, Outcome, Outcome], bool] | None = None
           ) -> None:
    """Each (label, remote query, column list) gives the same outcome both ways."""
    differences = []
    for label, remote_sql, columns in cases:
        query, params = rows_query(remote_sql, columns)
        c, py = pair.compare(query, params)
        if c != py and not (known is not None and known(label, c, py)):
            differences.append(describe_difference(f"{label}: {remote_sql!r} AS ({columns})", c, py))
    assert not differences, f"{len(differences)} of {len(cases)} cases differ:\n" + "\n".join(differences[:40])


def test_samples_cover_the_built_in_and_contrib_types(samples):
    types = {t for t, _ in samples}
    assert len(types) >= 80
    for expected in ("boolean", "bytea", "integer", "numeric", "timestamp with time zone", "interval", "jsonb",
                     "box", "int2vector", "tsvector", "hstore", "citext", "ltree", "cube", "isbn", "seg",
                     "diff_mood", "diff_floatrange", "int4multirange"):
        assert expected in types


@pytest.mark.parametrize("count", [1, MANY])
def test_each_type_declared_as_itself(pair, samples, count):
    _check(pair, [(t, repeated(f"{_literal(s)}::{t}", count), f"v {t}") for t, s in samples])


def test_each_type_declared_as_text(pair, samples):
    _check(pair, [(t, repeated(f"{_literal(s)}::{t}", 1), "v text") for t, s in samples])


@pytest.mark.parametrize("count", [1, MANY])
def test_arrays_with_null_elements(pair, samples, count):
    _check(pair, [(t, repeated(f"ARRAY[{_literal(s)}::{t}, NULL, {_literal(s)}::{t}]", count), f"v {t}[]")
                  for t, s in samples])


def test_two_dimensional_arrays(pair, samples):
    _check(pair, [(t, repeated(f"ARRAY[[{_literal(s)}::{t}, NULL], [{_literal(s)}::{t}, {_literal(s)}::{t}]]", 1),
                   f"v {t}[]") for t, s in samples])


@pytest.mark.parametrize("count", [1, MANY])
def test_arrays_with_other_lower_bounds(pair, samples, count):
    _check(pair, [(t, repeated(f"('[0:1]=' || ARRAY[{_literal(s)}::{t}, {_literal(s)}::{t}]::text)::{t}[]", count),
                   f"v {t}[]") for t, s in samples])


USER_TYPE_CASES = [
    ("'happy'::diff_mood", "diff_mood"),
    ("'angry'::text", "diff_mood"),
    ("ROW(1, 'x y')::diff_pair", "diff_pair"),
    ("ROW(NULL, '')::diff_pair", "diff_pair"),
    ("ROW(ROW(2, 'a,\"b\"')::diff_pair, ARRAY['p', NULL], true)::diff_nest", "diff_nest"),
    ("ARRAY[ROW(1, 'a')::diff_pair, ROW(2, NULL)::diff_pair]", "diff_pair[]"),
    ("'{{x}}'::text", "diff_pair"),
    ("'{{1,2},{3,4}}'::text", "diff_pair"),
    ("'(1,2,3)'::text", "diff_pair"),
    ("7", "diff_posint"),
    ("-7", "diff_posint"),
    ("'t'::text", "diff_truth"),
    ("'f'::text", "diff_truth"),
    ("'xyz'::text", "diff_truth"),
    ("ARRAY['a', 'b']", "diff_words"),
    ("ARRAY['a', 'b', 'c', 'd']", "diff_words"),
    ("NULL::text", "diff_nonnull"),
    ("''::text", "diff_nonnull"),
    ("'[1.5,2.5)'::diff_floatrange", "diff_floatrange"),
    ("'[2003-02-01,2003-02-05)'::daterange", "daterange"),
    ("'{[2003-02-01,2003-02-05), [2003-03-01,2003-03-02)}'::datemultirange", "datemultirange"),
    ("tstzrange('2003-02-01 10:00+00', '2003-02-05 11:30+00')", "tstzrange"),
]


@pytest.mark.parametrize("count", [1, MANY])
def test_enums_composites_domains_and_ranges(pair, count):
    _check(pair, [(f"as {t}", repeated(e, count), f"v {t}") for e, t in USER_TYPE_CASES])


CROSS_TYPE_CASES = [
    ("'42'::text", "int"), ("'abc'::text", "int"), ("' 42 '::text", "int"), ("'4.2'::text", "int"),
    ("'yes'::text", "boolean"), ("'off'::text", "boolean"), ("' t '::text", "boolean"), ("'maybe'::text", "boolean"),
    ("'12.03.2013 00:00:00+00'::text", "timestamptz"), ("'2013-03-12'::text", "timestamptz"),
    ("'{\"a\": 1, \"a\": 2}'::text", "json"), ("'{\"a\": 1, \"a\": 2}'::text", "jsonb"), ("'nope'::text", "json"),
    ("'{1,2}'::text", "int[]"), ("'{{1,2},{3,4}}'::text", "int[]"), ("'[2:3]={1,2}'::text", "int[]"),
    ("'{1,2'::text", "int[]"), ("'{a,,b}'::text", "text[]"), ("'{1,2}'::text", "int2vector"),
    ("'1 2'::text", "int2vector"), ("'{1,2}'::int4[]", "int2vector"), ("'3 4'::oidvector", "oidvector"),
    ("'(1,x)'::text", "diff_pair"), ("'(1)'::text", "diff_pair"),
    ("42", "text"), ("42", "numeric"), ("42", "numeric(5,2)"), ("12345", "numeric(5,2)"), ("42", "varchar(1)"),
    ("'abcdef'::text", "varchar(3)"), ("'abc'::text", "char(5)"), ("now()::date", "text"),
    ("ARRAY[box '(1,1),(0,0)', box '(3,3),(2,2)']", "text[]"), ("'{(1,1),(0,0);(3,3),(2,2)}'::text", "box[]"),
    ("'(1,1),(0,0)'::box", "point"), ("'\\x6869'::bytea", "text"), ("'\\x6869'::text", "bytea"),
    ("'\\x0b0c'::text", "bytea"), ("'\\x0g'::text", "bytea"), ("'ab\\\\'::text", "bytea"), ("'ab\\'::text", "bytea"),
    ("E'\\\\x 00 ff'::text", "bytea"), ("E'\\\\x\\v00'::text", "bytea"), ("'x'::text", "\"char\""),
    ("'-1'::text", "oid"), ("'pg_class'::text", "regclass"), ("'no_such_table'::text", "regclass"),
    ("1e400::text", "float8"), ("'0x1F'::text", "int"),
]


@pytest.mark.parametrize("count", [1, MANY])
def test_values_declared_as_other_types(pair, count):
    _check(pair, [(f"as {t}", repeated(e, count), f"v {t}") for e, t in CROSS_TYPE_CASES])


def test_every_row_position_of_an_error(pair):
    """A value the declared type refuses, first, around a chunk's end, and last."""
    cases = []
    for bad_row in (1, 64, 65, 1000, 1001, 2000, MANY):
        remote_sql = f"SELECT CASE WHEN g = {bad_row} THEN 'xyz' ELSE 't' END, g FROM generate_series(1, {MANY}) g"
        cases.append((f"bad boolean at row {bad_row}", remote_sql, "a boolean, b int"))
    _check(pair, cases)


STYLED_EXPRESSIONS = [
    ("'2013-03-12 00:00:00+00'::timestamptz", "timestamptz"),
    ("'2013-03-12 00:00:00+00'::timestamptz::text", "timestamptz"),
    ("'2013-03-12'::date", "date"),
    ("'2013-03-12'::date::text", "date"),
    ("'2013-03-12 14:15:16'::timestamp", "timestamp"),
    ("'-1 2:03:04'::interval", "interval"),
    ("'-1 2:03:04'::interval::text", "interval"),
    ("'1 year 2 mons -3 days 04:05:06.5'::interval", "interval"),
    ("'[2003-02-01,2003-02-05)'::daterange", "daterange"),
    ("'[2003-02-01,2003-02-05)'::daterange::text", "daterange"),
    ("'{[2003-02-01,2003-02-05)}'::datemultirange", "datemultirange"),
    ("tsrange('2003-02-01 10:00', '2003-02-05 11:30')", "tsrange"),
    ("ARRAY['2013-03-12'::date, '2013-12-03']", "date[]"),
    ("ARRAY['-1 2:03:04'::interval]", "interval[]"),
    ("'13:14:15+02'::timetz", "timetz"),
    ("1.1::float8", "float8"),
    ("0.1::float4", "float4"),
    ("'\\x00ff'::bytea", "bytea"),
    ("'\\x00ff'::bytea", "text"),
    ("'2013-03-12 00:00:00+00'::timestamptz", "text"),
]
REMOTE_SESSIONS = [
    "SET datestyle = GERMAN, DMY",
    "SET datestyle = SQL, DMY",
    "SET datestyle = ISO, DMY",
    "SET datestyle = Postgres, MDY",
    "SET intervalstyle = sql_standard",
    "SET intervalstyle = postgres_verbose",
    "SET intervalstyle = iso_8601",
    "SET extra_float_digits = -3",
    "SET bytea_output = escape",
    "SET timezone = 'America/New_York'",
]


@pytest.mark.parametrize("session", REMOTE_SESSIONS)
@pytest.mark.parametrize("count", [1, MANY])
def test_remote_session_settings(pair, session, count):
    pair.both(lambda side: side.remote_session(session))
    try:
        _check(pair, [(f"{session}: as {t}", repeated(e, count), f"v {t}") for e, t in STYLED_EXPRESSIONS])
        _check(pair, [("remote text under the style, declared date", "SELECT '01/02/2003'::text", "v date")])
    finally:
        pair.both(lambda side: side.remote_session("RESET ALL"))


def test_local_settings_are_unchanged_afterwards(pair):
    pair.both(lambda side: side.remote_session("SET datestyle = GERMAN, DMY"))
    try:
        for side in (pair.c, pair.py):
            side.outcome("SELECT * FROM dblink('r', 'SELECT now()::date') AS t(d date)")
            assert side.outcome("SHOW datestyle").rows == ("ISO, MDY",), side.name
    finally:
        pair.both(lambda side: side.remote_session("RESET ALL"))


@pytest.mark.parametrize("local", ["SET datestyle = SQL, DMY", "SET intervalstyle = postgres_verbose"])
def test_local_session_with_other_styles_and_remote_at_its_default(pair, local):
    pair.both(lambda side: side.conn.execute(local))
    try:
        _check(pair, [(f"local {local}: as {t}", repeated(e, 1), f"v {t}") for e, t in STYLED_EXPRESSIONS])
    finally:
        pair.both(Side.reset_local)


def test_a_connection_that_switches_its_datestyle_between_calls(pair):
    cases = []
    for style in ("GERMAN, DMY", "ISO, MDY", "SQL, DMY"):
        cases.append((f"after SET {style}", f"SET datestyle = {style}; SELECT '2013-03-12'::date", "d date"))
    _check(pair, cases)
    pair.both(lambda side: side.remote_session("RESET ALL"))


def _c_rowtype_error(c: Outcome) -> bool:
    return c.error is not None and c.error[0] == "42804"


# The differences the README lists under "Differences from dblink", each as
# exactly what is seen. PL/Python never shows a function its caller's column
# definition list: the list meets each row in record_in, so a list that does
# not fit is record_in's error and a command status converts by the declared
# type; and only the last statement's rows are converted.
KNOWN_DIFFERENCES: dict[str, Callable[[Outcome, Outcome], bool]] = {
    "status as varchar(2)": lambda c, py: c.rows == ("(SET)",) and py.error is not None and py.error[0] == "22001",
    "status as int": lambda c, py: _c_rowtype_error(c) and py.error is not None and py.error[0] == "22P02",
    "status as two columns": lambda c, py: _c_rowtype_error(c) and py.error is not None and py.error[0] == "22P02"
    and py.error[2] == "Too few columns.",
    "mismatch too many declared": lambda c, py: _c_rowtype_error(c) and py.error is not None
    and py.error[0] == "22P02" and py.error[2] == "Too few columns.",
    "mismatch too few declared": lambda c, py: _c_rowtype_error(c) and py.error is not None
    and py.error[0] == "22P02" and py.error[2] == "Too many columns.",
    "mismatch with a bad value first": lambda c, py: _c_rowtype_error(c) and py.error is not None
    and py.error[:2] == ("22P02", 'invalid input syntax for type integer: "x"'),
    "earlier statement converted": lambda c, py: c.error is not None and c.error[0] == "22P02" and py.rows == ("(1)",),
    "earlier statement's shape": lambda c, py: _c_rowtype_error(c) and py.rows == ("(SET)",),
    "several statements": lambda c, py: _c_rowtype_error(c) and py.rows == ("(2,3)",),
}


def _known(label: str, c: Outcome, py: Outcome) -> bool:
    check = KNOWN_DIFFERENCES.get(label)
    return check is not None and check(c, py)


STATEMENT_CASES = [
    ("several statements", "SELECT 1; SELECT 2, 3", "a int, b int"),
    ("several statements of one shape", "SELECT 1, 2; SELECT 3, 4", "a int, b int"),
    ("several statements ending in a command", "SELECT 1; SET application_name = 'x'", "s text"),
    ("command", "SET application_name = 'x'", "s text"),
    ("command", "CREATE TEMP TABLE IF NOT EXISTS diff_tmp (a int)", "s text"),
    ("command", "SELECT 1 WHERE false", "a int"),
    ("empty query", "", "a int"),
    ("empty query", "-- nothing", "a int"),
    ("empty query", " ; ", "a int"),
    ("syntax error", "SELECT 1 +", "a int"),
    ("syntax error", "SELEC 1", "a int"),
    ("remote error", "SELECT 1/0", "a int"),
    ("remote error after rows", "SELECT 1/(3-g) FROM generate_series(1, 5) g", "a int"),
    ("status as varchar", "SET application_name = 'x'", "s varchar(40)"),
    ("status as varchar(2)", "SET application_name = 'x'", "s varchar(2)"),
    ("status as int", "SET application_name = 'x'", "s int"),
    ("status as two columns", "SET application_name = 'x'", "s text, t text"),
    ("mismatch too many declared", "SELECT 1", "a int, b int"),
    ("mismatch too few declared", "SELECT 1, 2", "a int"),
    ("mismatch with a bad value first", "SELECT 'x', 2", "a int"),
    ("earlier statement converted", "SELECT 'abc'; SELECT 1", "a int"),
    ("earlier statement's shape", "SELECT 1, 2; SET application_name = 'x'", "s text"),
    ("zero columns", "SELECT FROM generate_series(1, 2)", "a int"),
    ("plain query with a comment", "SELECT 1 -- the end", "a int"),
    ("plain query with a semicolon", "SELECT 1;", "a int"),
    ("plain query, duplicate column names", "SELECT 1 AS a, 2 AS a", "a int, b int"),
    ("plain query, 1,600 columns", "SELECT " + ", ".join(str(i) for i in range(1600)), ", ".join(f"c{i} int" for i in range(1600))),
    ("values", "VALUES (1, 'a'), (2, NULL)", "a int, b text"),
    ("with", "WITH x AS (SELECT 2 AS a) SELECT a FROM x", "a int"),
    ("fetch-like statement", "SHOW datestyle", "d text"),
    ("box arrays", "SELECT b FROM boxes", "b box[]"),
    ("box arrays as text[]", "SELECT b FROM boxes", "b text[]"),
]


def test_statements_commands_and_empty_queries(pair):
    _check(pair, STATEMENT_CASES, known=_known)


def test_each_known_difference_is_still_a_difference(pair):
    """A listed difference that disappeared must leave the list (and the README)."""
    cases = {label: (remote_sql, columns) for label, remote_sql, columns in STATEMENT_CASES}
    for label in KNOWN_DIFFERENCES:
        query, params = rows_query(*cases[label])
        c, py = pair.compare(query, params)
        assert c != py and _known(label, c, py), label


def test_fail_on_error_false_gives_the_same_rows_and_notice(pair):
    cases = [("rows then error", "SELECT i, 1/(i-3) FROM generate_series(1, 5) i", "a int, b int"),
             ("error only", "SELECT 1/0", "a int"),
             ("bad query", "SELEC", "a int")]
    differences = []
    for label, remote_sql, columns in cases:
        query = f"SELECT t::text FROM dblink('r', %s, false) AS t({columns})"
        c, py = pair.compare(query, [remote_sql])
        if c != py:
            differences.append(describe_difference(label, c, py))
    assert not differences, "\n".join(differences)


# Remote errors that point into the query: dblink_error_message shows the line and a caret.
ERROR_POSITION_CASES = [
    "SELECT 1 +", "SELECT 1 +;", "SELECT 1 + -- the end\n", "SELECT 1 + /* a /* nested */ comment */ ;",
    "SELEC 1", "SELECT nosuch", "SELECT 1 FROM nosuch", "\tSELECT x\tFROM nosuch", "SELECT\r\n  1,\r\n  nosuch",
    "SELECT\n1\n\n, nosuch", "SELECT '\u00fc\u65e5\u672c' || nosuch", "SELECT 'e\u0301' || nosuch",
    "SELECT " + "1 + " * 30 + "nosuch", "SELECT nosuch, " + "1, " * 40 + "2",
    "SELECT " + "1, " * 40 + "nosuch" + ", 2" * 30, "SELECT '" + "\u65e5" * 40 + "', nosuch",
    "WITH x AS (SELECT nosuch) SELECT * FROM x", "VALUES (1), (nosuch)", "SELECT 1::nosuchtype",
    "SELECT (1", "  -- a leading comment\n  SELECT nosuch", "SELECT 1 WHERE", "SELECT 1 FROM pg_class WHERE",
]


def test_error_messages_point_into_the_query_as_c_dblink_s_do(pair):
    differences = []
    for remote_sql in ERROR_POSITION_CASES:
        query, params = rows_query(remote_sql, "a int")
        c, py = pair.compare(query, params)
        c_text, py_text = pair.compare("SELECT dblink_error_message('r')")
        if (c, c_text) != (py, py_text):
            differences.append(describe_difference(repr(remote_sql), c, py) +
                               f"\n    C dblink:  {c_text}\n    dblink_py: {py_text}")
    assert not differences, "\n".join(differences)


def test_through_cursors_and_asynchronous_results(pair, samples):
    differences = []
    for t, s in samples:
        remote_sql = f"SELECT {_literal(s)}::{t} FROM generate_series(1, 3)"
        for side in (pair.c, pair.py):
            side.outcome("SELECT dblink_open('r', 'cur', %s)", [remote_sql])
        c, py = pair.compare(f"SELECT t::text FROM dblink_fetch('r', 'cur', 5) AS t(v {t})")
        for side in (pair.c, pair.py):
            side.outcome("SELECT dblink_close('r', 'cur')")
        if c != py:
            differences.append(describe_difference(f"fetch {t}", c, py))
        for side in (pair.c, pair.py):
            side.outcome("SELECT dblink_send_query('r', %s)", [remote_sql])
        c, py = pair.compare(f"SELECT t::text FROM dblink_get_result('r') AS t(v {t})")
        pair.compare("SELECT t::text FROM dblink_get_result('r') AS t(v text)")
        if c != py:
            differences.append(describe_difference(f"get_result {t}", c, py))
    assert not differences, "\n".join(differences[:40])


def test_ad_hoc_connections(pair, remote_db):
    differences = []
    for expression, t in CROSS_TYPE_CASES[:12]:
        query = f"SELECT t::text FROM dblink(%s, %s) AS t(v {t})"
        c, py = pair.compare(query, [remote_db, f"SELECT {expression}"])
        if c != py:
            differences.append(describe_difference(f"ad hoc as {t}", c, py))
    assert not differences, "\n".join(differences)


ENCODING_CASES = [
    ("'h' || chr(233)", "text"), ("'h' || chr(233)", "bytea"), ("'h' || chr(233)", "varchar(2)"),
    ("chr(10003)", "text"), ("ARRAY[chr(233), 'x']", "text[]"), ("'caf' || chr(233)", "char(5)"),
    ("convert_from('\\x68c3a9', 'UTF8')", "text"),
]


@pytest.fixture(scope="module")
def latin1_remote(remote_server, remote_admin) -> str:
    _recreate_database(remote_admin, "diff_remote_latin1", "LATIN1")
    return remote_server.dsn("diff_remote_latin1")


def test_a_latin1_remote_database(pair, latin1_remote):
    differences = []
    for expression, t in ENCODING_CASES:
        c, py = pair.compare(f"SELECT t::text FROM dblink(%s, %s) AS t(v {t})", [latin1_remote, f"SELECT {expression}"])
        if c != py:
            differences.append(describe_difference(f"latin1 remote, as {t}", c, py))
    assert not differences, "\n".join(differences)


@pytest.fixture(scope="module")
def latin1_local_pair(dblink_py_created, local_server, local_admin, remote_db) -> Iterator[Pair]:
    found = _side_pair(local_server, local_admin, remote_db, "_latin1", "LATIN1")
    yield found
    found.both(Side.close)


@pytest.fixture(scope="module")
def sql_ascii_local_pair(dblink_py_created, local_server, local_admin, remote_db) -> Iterator[Pair]:
    found = _side_pair(local_server, local_admin, remote_db, "_ascii", "SQL_ASCII")
    yield found
    found.both(Side.close)


def _encoding_cases(pair: Pair, label: str) -> list[str]:
    differences = []
    for expression, t in ENCODING_CASES:
        for count in (1, MANY):
            query, params = rows_query(repeated(expression, count), f"v {t}")
            c, py = pair.compare(query, params)
            if c != py:
                differences.append(describe_difference(f"{label}, as {t}, {count} rows", c, py))
    c, py = pair.compare("SELECT t::text FROM dblink('r', 'SELECT ''query text: ' || chr(233) || ) AS t(v text)")
    if c != py:
        differences.append(describe_difference(f"{label}, non-ASCII query text", c, py))
    return differences


def test_a_latin1_local_database(latin1_local_pair):
    differences = _encoding_cases(latin1_local_pair, "latin1 local")
    assert not differences, "\n".join(differences)


def test_a_sql_ascii_local_database(sql_ascii_local_pair):
    differences = _encoding_cases(sql_ascii_local_pair, "SQL_ASCII local")
    assert not differences, "\n".join(differences)


def test_contrib_extensions_are_present_on_both_sides(pair):
    for side in (pair.c, pair.py):
        found = side.outcome("SELECT extname FROM pg_extension ORDER BY 1").rows or ()
        assert set(CONTRIB) <= set(found), side.name


def _error_with_hint(side: Side, statement: str) -> tuple[str | None, str, str | None]:
    try:
        side.conn.execute(statement)
    except psycopg.Error as exc:
        return exc.sqlstate, error_text(exc), exc.diag.message_hint
    return None, "", None


@pytest.mark.parametrize("statement", [
    "CREATE SERVER diff_bad FOREIGN DATA WRAPPER dblink_fdw OPTIONS (sslkeylogfile '/tmp/x')",
    "CREATE SERVER diff_bad FOREIGN DATA WRAPPER dblink_fdw OPTIONS (require_auth 'password')",
    "CREATE SERVER diff_bad FOREIGN DATA WRAPPER dblink_fdw OPTIONS (user 'x')",
    "CREATE SERVER diff_bad FOREIGN DATA WRAPPER dblink_fdw OPTIONS (client_encoding 'UTF8')",
    "CREATE SERVER diff_bad FOREIGN DATA WRAPPER dblink_fdw OPTIONS (hots 'x')",
    "ALTER FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host 'x')",
])
def test_the_validator_knows_the_options_of_the_servers_libpq(pair, statement):
    c, py = (_error_with_hint(side, statement) for side in (pair.c, pair.py))
    for side in (pair.c, pair.py):
        side.conn.execute("DROP SERVER IF EXISTS diff_bad")
    assert c == py


def test_sslrootcert_system_is_refused_as_the_servers_libpq_refuses_it(pair, tmp_path):
    from tlsserver import TlsServer

    server = TlsServer(tmp_path)
    try:
        conninfo = (f"host=127.0.0.1 port={server.port} sslmode=verify-full sslrootcert=system"
                    " dbname=x user=y password=z")
        c, py = pair.compare("SELECT t::text FROM dblink(%s, 'SELECT 1') AS t(a int)", [conninfo])
    finally:
        server.close()
    assert c == py
    assert c.error is not None and c.error[0] == "08001"
