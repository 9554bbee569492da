"""Conversion stays exact after the first row, where dblink_py switches to its fast path."""

from __future__ import annotations

import psycopg
import pytest

from helpers import rows

# (remote VALUES list of one column, local column type): every row must equal
# the remote text fed to the local type's input function.
CASES = [
    ("(1), (2), (NULL), (4)", "int"),
    ("('t'::bool), ('f'), (NULL), ('f'), ('t')", "boolean"),
    ("('f'::text), ('off'), ('yes'), ('0'), (' TRUE ')", "boolean"),
    ("(NULL::bool), ('f'), ('t')", "boolean"),
    ("('\\x00ff'::bytea), ('\\x'), (NULL), ('\\x0a0b0c')", "bytea"),
    ("(ARRAY['a', 'b']), (ARRAY['c', NULL]), ('{}'), (ARRAY['d e', 'x\"y', 'z,w', 'NULL']), (NULL)", "text[]"),
    ("(ARRAY[1, 2]), (ARRAY[[1, 2], [3, 4]]), (ARRAY[5])", "int[]"),
    ("(ARRAY[true, false]), (ARRAY[false, NULL]), (ARRAY[true])", "boolean[]"),
    ("(ARRAY['\\x01'::bytea]), (ARRAY['\\x02'::bytea, NULL])", "bytea[]"),
    ("(ARRAY['a', 'b']), (ARRAY['c'])", "text"),
    ("('{1,2}'::text), ('{3}'), ('{}')", "int[]"),
    ("(NULL::int[]), (ARRAY[1]), (ARRAY[[2]])", "int[]"),
    ("(ROW(1, 'a')::pair), (ROW(2, NULL)::pair)", "pair"),
    ("('2024-01-02'::date), ('2024-03-04')", "date"),
]


@pytest.fixture(scope="module")
def pair_types(local_admin, remote_admin):
    for conn in (local_admin, remote_admin):
        conn.execute("DROP TYPE IF EXISTS pair CASCADE")
        conn.execute("CREATE TYPE pair AS (a int, b text)")


@pytest.mark.parametrize(("values", "local_type"), CASES)
def test_every_row_is_what_the_local_input_function_makes(db, remote_dsn, pair_types, values, local_type):
    # repeated past the point where dblink_py starts learning from the first row
    remote_sql = f"SELECT x.v FROM generate_series(1, 40) g, (VALUES {values}) AS x(v) ORDER BY g"
    got = rows(db, f"SELECT v::text FROM dblink(%s, %s) AS t(v {local_type})", [remote_dsn, remote_sql])
    texts = [r[0] for r in rows(db, "SELECT * FROM dblink(%s, %s) AS t(v text)", [remote_dsn, remote_sql])]
    expected = rows(
        db, f"SELECT (u.t::{local_type})::text FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, i) ORDER BY u.i", [texts]
    )
    assert got == expected


def test_invalid_boolean_in_a_later_row_is_an_error(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT CASE WHEN g = 300 THEN ''maybe'' ELSE ''t'' END FROM generate_series(1, 500) g') AS t(v boolean)", [remote_dsn])
    assert info.value.sqlstate == "22P02"


def test_invalid_integer_in_a_later_row_is_an_error(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT CASE WHEN g = 300 THEN ''x'' ELSE g::text END FROM generate_series(1, 500) g') AS t(v int)", [remote_dsn])
    assert info.value.sqlstate == "22P02"


def test_non_default_array_bounds_in_a_later_row_are_refused(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT CASE WHEN g = 300 THEN ''[2:2]={5}''::int[] ELSE ARRAY[g] END FROM generate_series(1, 500) g') AS t(v int[])", [remote_dsn])
    assert info.value.sqlstate == "0A000"


def test_a_large_result_keeps_every_value(db, remote_dsn):
    result = rows(
        db,
        "SELECT count(*), sum(a), count(*) FILTER (WHERE b), sum(array_length(c, 1)), count(*) FILTER (WHERE d IS NULL)"
        " FROM dblink(%s, 'SELECT g, g %% 2 = 0, ARRAY[g::text, ''x''], CASE WHEN g %% 3 = 0 THEN NULL ELSE g END"
        " FROM generate_series(1, 20000) g') AS t(a int, b bool, c text[], d int)",
        [remote_dsn],
    )
    assert result == [(20000, 200010000, 10000, 40000, 6666)]
