"""dblink_get_pkey and dblink_build_sql_insert/update/delete: local-only, compared with C dblink.

Every named test runs its statements in dblink_py's test database and, when
the C dblink extension is available, in a scratch database of the same local
server that has C dblink (the two extensions cannot share a database: both
create dblink_fdw), and expects the same outcome from both. The property
tests feed awkward identifiers and values, parse what dblink_py generates
with pglast, and run it on the remote server against a copy of the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import psycopg
import pytest
from hypothesis import HealthCheck, event, example, given, settings, strategies as st
from pglast import ast, parse_sql
from pglast.enums import BoolExprType
from psycopg import sql

from helpers import error_text

C_DB = "dblink_py_builders_c"
SCHEMA = "bt"  # each test's own schema, first on the search_path of its connections

FOO = (
    "CREATE TABLE foo (f1 int, f2 text, f3 text[], PRIMARY KEY (f1, f2))",
    "INSERT INTO foo SELECT i, chr(97 + i), ARRAY['a' || i, 'b' || i, 'c' || i]"
    " FROM generate_series(0, 9) AS i",
)


@dataclass(frozen=True)
class Err:
    sqlstate: str
    message: str


def outcome(conn: psycopg.Connection, query: str, params: Sequence[Any] | None = None) -> Any:
    """The rows a statement returns, or Err(sqlstate, message without the dblink_py: prefix)."""
    try:
        return conn.execute(query, params).fetchall()
    except psycopg.Error as e:
        return Err(e.sqlstate or "", error_text(e))


def one(text: str | None) -> list[tuple[str | None]]:
    return [(text,)]


@dataclass
class Env:
    """Connections to dblink_py's database (py) and to C dblink's (c, None if unavailable)."""

    py: psycopg.Connection
    c: psycopg.Connection | None
    remote: Any
    connect: Callable[..., psycopg.Connection]
    c_database: str | None
    schemas: set[str] = field(default_factory=set)

    @property
    def conns(self) -> list[psycopg.Connection]:
        return [self.py] + ([self.c] if self.c is not None else [])

    def setup(self, *statements: str) -> None:
        for conn in self.conns:
            for statement in statements:
                conn.execute(statement)

    def schema(self, name: str) -> str:
        """CREATE SCHEMA name (any spelling) in both databases; dropped after the test."""
        self.schemas.add(name)
        self.setup(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)).as_string(self.py))
        return name

    def expect(self, query: str, expected: Any, params: Sequence[Any] | None = None) -> None:
        """dblink_py gives `expected`, and so does C dblink."""
        assert outcome(self.py, query, params) == expected
        if self.c is not None:
            assert outcome(self.c, query, params) == expected, "C dblink differs"

    def as_role(self, role: str) -> Env:
        """The same, connected as `role` (which gets USAGE on the test schema)."""
        self.setup(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {role}")
        py = self.connect(user=role)
        c = self.connect(user=role, dbname=self.c_database) if self.c is not None else None
        for conn in [py, c]:
            if conn is not None:
                conn.execute(f"SET search_path = {SCHEMA}, public")
        return Env(py, c, self.remote, self.connect, self.c_database)


def _reset_schema(conn: Any, name: str) -> None:
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def c_database(local_server: Any, local_admin: Any) -> Iterator[str | None]:
    """A scratch database with the C dblink extension, or None where contrib's dblink is missing."""
    if local_admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'dblink'").fetchone() is None:
        yield None
        return
    local_admin.execute(f"DROP DATABASE IF EXISTS {C_DB} WITH (FORCE)")
    local_admin.execute(f"CREATE DATABASE {C_DB}")
    with psycopg.connect(local_server.dsn(C_DB, via_socket=True), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION dblink")
    yield C_DB
    local_admin.execute(f"DROP DATABASE IF EXISTS {C_DB} WITH (FORCE)")


@pytest.fixture
def env(db: Any, c_database: str | None, local_connect: Any, make_local_role: Any,
        remote_admin: Any) -> Iterator[Env]:
    # Depends on make_local_role so that it is torn down first: roles made by a test can only
    # be dropped once the grants to them in the C database went with the test schema.
    c = local_connect(dbname=c_database) if c_database is not None else None
    environment = Env(db, c, remote_admin, local_connect, c_database)
    for conn in environment.conns:
        _reset_schema(conn, SCHEMA)
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"SET search_path = {SCHEMA}, public")
    _reset_schema(remote_admin, SCHEMA)
    remote_admin.execute(f"CREATE SCHEMA {SCHEMA}")
    yield environment
    for conn in environment.conns:
        conn.execute("RESET search_path")
        for name in [SCHEMA, *environment.schemas]:
            _reset_schema(conn, name)
    _reset_schema(remote_admin, SCHEMA)


@pytest.fixture
def foo(env: Env) -> Env:
    """dblink's regression table: foo(f1 int, f2 text, f3 text[], primary key (f1, f2)), rows 0..9."""
    env.setup(*FOO)
    return env


@pytest.fixture
def role(env: Env, make_local_role: Any) -> str:
    return make_local_role("builders_reader")


# -- the SQL objects -----------------------------------------------------------


def test_functions_are_strict_volatile_and_parallel_restricted(env):
    rows = env.py.execute(
        "SELECT p.proname, p.proisstrict, p.provolatile, p.proparallel FROM pg_proc p"
        " JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'"
        " JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dblink_py'"
        " WHERE p.proname IN ('dblink_get_pkey', 'dblink_build_sql_insert',"
        " 'dblink_build_sql_delete', 'dblink_build_sql_update') ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("dblink_build_sql_delete", True, "v", "r"),
        ("dblink_build_sql_insert", True, "v", "r"),
        ("dblink_build_sql_update", True, "v", "r"),
        ("dblink_get_pkey", True, "v", "r"),
    ]


def test_signatures_match_dblink(env):
    query = (
        "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '"
        " || pg_get_function_result(p.oid) FROM pg_proc p"
        " WHERE p.pronamespace = 'public'::regnamespace AND p.proname IN ('dblink_get_pkey',"
        " 'dblink_build_sql_insert', 'dblink_build_sql_delete', 'dblink_build_sql_update') ORDER BY 1"
    )
    env.expect(query, [
        ("dblink_build_sql_delete(text, int2vector, integer, text[]) text",),
        ("dblink_build_sql_insert(text, int2vector, integer, text[], text[]) text",),
        ("dblink_build_sql_update(text, int2vector, integer, text[], text[]) text",),
        ("dblink_get_pkey(text) SETOF dblink_pkey_results",),
    ])


def test_pkey_results_type_is_position_int_and_colname_text(env):
    env.expect(
        "SELECT attname, atttypid::regtype::text FROM pg_attribute"
        " WHERE attrelid = 'public.dblink_pkey_results'::regclass AND attnum > 0 ORDER BY attnum",
        [("position", "integer"), ("colname", "text")],
    )


def test_null_arguments_give_null_without_running(env):
    # STRICT: no relation named NULL is looked up, nothing is checked.
    env.expect("SELECT * FROM dblink_get_pkey(NULL)", [])
    env.expect("SELECT dblink_build_sql_insert('nowhere', NULL, 1, '{1}', '{1}')", one(None))
    env.expect("SELECT dblink_build_sql_update('nowhere', '1', 1, '{1}', NULL)", one(None))
    env.expect("SELECT dblink_build_sql_delete(NULL, '1', 1, '{1}')", one(None))


# -- dblink_get_pkey -------------------------------------------------------------


def test_get_pkey_lists_key_columns_in_key_order(env):
    env.setup("CREATE TABLE t (a int, b int, c int, PRIMARY KEY (c, a))")
    env.expect("SELECT * FROM dblink_get_pkey('t')", [(1, "c"), (2, "a")])


def test_get_pkey_of_foo(foo):
    foo.expect("SELECT * FROM dblink_get_pkey('foo')", [(1, "f1"), (2, "f2")])


def test_get_pkey_without_primary_key_returns_no_rows(env):
    env.setup("CREATE TABLE t (a int UNIQUE, b int)")
    env.expect("SELECT * FROM dblink_get_pkey('t')", [])


def test_get_pkey_leaves_out_include_columns(env):
    env.setup("CREATE TABLE t (a int, b int, c int, PRIMARY KEY (b) INCLUDE (a, c))")
    env.expect("SELECT * FROM dblink_get_pkey('t')", [(1, "b")])


def test_get_pkey_names_columns_that_follow_dropped_ones(env):
    env.setup("CREATE TABLE t (gone int, a int, b int)", "ALTER TABLE t DROP COLUMN gone",
              "ALTER TABLE t ADD PRIMARY KEY (b)")
    env.expect("SELECT * FROM dblink_get_pkey('t')", [(1, "b")])


def test_get_pkey_returns_column_names_unquoted(env):
    env.setup('CREATE TABLE t ("Mixed Case" int, "select" int, PRIMARY KEY ("Mixed Case", "select"))')
    env.expect("SELECT * FROM dblink_get_pkey('t')", [(1, "Mixed Case"), (2, "select")])


def test_get_pkey_of_partitioned_table(env):
    env.setup("CREATE TABLE t (a int, b int, PRIMARY KEY (a)) PARTITION BY RANGE (a)")
    env.expect("SELECT * FROM dblink_get_pkey('t')", [(1, "a")])


def test_get_pkey_result_columns_are_named(env):
    env.setup("CREATE TABLE t (a int PRIMARY KEY)")
    env.expect("SELECT p.position, p.colname FROM dblink_get_pkey('t') AS p", [(1, "a")])


# -- naming the relation ------------------------------------------------------------


def test_unquoted_relation_name_is_downcased(foo):
    foo.expect("SELECT * FROM dblink_get_pkey('FOO')", [(1, "f1"), (2, "f2")])


def test_quoted_relation_name_keeps_its_case(env):
    env.setup('CREATE TABLE "Foo" (a int PRIMARY KEY)', "CREATE TABLE foo (b int PRIMARY KEY)")
    env.expect("""SELECT * FROM dblink_get_pkey('"Foo"')""", [(1, "a")])


def test_schema_qualified_quoted_relation_name(env):
    env.schema("MySchema")
    env.setup('CREATE TABLE "MySchema"."Foo" (f1 int, f2 text, PRIMARY KEY (f1, f2))')
    env.expect("""SELECT * FROM dblink_get_pkey('"MySchema"."Foo"')""", [(1, "f1"), (2, "f2")])


def test_relation_name_may_have_surrounding_whitespace(foo):
    foo.expect("SELECT * FROM dblink_get_pkey(' bt . foo ')", [(1, "f1"), (2, "f2")])


def test_relation_name_may_name_the_current_database(foo):
    database = foo.py.info.dbname
    expected = [(1, "f1"), (2, "f2")]
    assert outcome(foo.py, f"SELECT * FROM dblink_get_pkey('{database}.bt.foo')") == expected
    if foo.c is not None:
        assert outcome(foo.c, f"SELECT * FROM dblink_get_pkey('{foo.c.info.dbname}.bt.foo')") == expected


def test_digits_are_a_relation_name_not_an_oid(env):
    oid = env.py.execute("SELECT 'pg_class'::regclass::oid::text").fetchone()[0]
    env.expect(f"SELECT * FROM dblink_get_pkey('{oid}')", Err("42P01", f'relation "{oid}" does not exist'))
    env.setup(f'CREATE TABLE "{oid}" (k int PRIMARY KEY)')
    env.expect(f"SELECT * FROM dblink_get_pkey('{oid}')", [(1, "k")])


def test_missing_relation_is_undefined_table(env):
    env.expect("SELECT * FROM dblink_get_pkey('nosuch')", Err("42P01", 'relation "nosuch" does not exist'))


def test_missing_qualified_relation_names_schema_and_relation(env):
    env.expect("SELECT * FROM dblink_get_pkey('bt.nosuch')", Err("42P01", 'relation "bt.nosuch" does not exist'))


def test_missing_schema_is_reported_as_such(env):
    env.expect("SELECT * FROM dblink_get_pkey('nosuch.foo')", Err("3F000", 'schema "nosuch" does not exist'))


@pytest.mark.parametrize("name", ["", "a..b", '"foo', "foo.", ".foo", "foo bar"], ids=repr)
def test_malformed_relation_name_is_invalid_name_syntax(env, name):
    env.expect("SELECT * FROM dblink_get_pkey(%s)", Err("42602", "invalid name syntax"), [name])


def test_four_part_relation_name_has_too_many_dots(env):
    env.expect("SELECT * FROM dblink_get_pkey('a.b.c.d')",
               Err("42601", "improper relation name (too many dotted names): a.b.c.d"))


def test_other_database_in_relation_name_is_refused(env):
    env.expect("SELECT * FROM dblink_get_pkey('otherdb.bt.foo')",
               Err("0A000", 'cross-database references are not implemented: "otherdb.bt.foo"'))


def test_index_is_not_a_table(foo):
    foo.expect("SELECT * FROM dblink_get_pkey('foo_pkey')", Err("42809", '"foo_pkey" is an index'))
    foo.expect("SELECT dblink_build_sql_delete('foo_pkey', '1', 1, '{1}')", Err("42809", '"foo_pkey" is an index'))


def test_partitioned_index_is_not_a_table(env):
    env.setup("CREATE TABLE t (a int PRIMARY KEY) PARTITION BY RANGE (a)")
    env.expect("SELECT * FROM dblink_get_pkey('t_pkey')", Err("42809", '"t_pkey" is an index'))


def test_composite_type_is_not_a_table(env):
    env.setup("CREATE TYPE pair AS (a int, b int)")
    env.expect("SELECT * FROM dblink_get_pkey('pair')", Err("42809", '"pair" is a composite type'))


def test_builders_accept_a_view(foo):
    foo.setup("CREATE VIEW v AS SELECT f1, f2 FROM foo")
    foo.expect("SELECT dblink_build_sql_insert('v', '1', 1, '{3}', '{30}')",
               one("INSERT INTO v(f1,f2) VALUES('30','d')"))


# -- privileges ------------------------------------------------------------------------


def test_get_pkey_needs_select_privilege(foo, role):
    reader = foo.as_role(role)
    reader.expect("SELECT * FROM dblink_get_pkey('foo')", Err("42501", "permission denied for table foo"))


@pytest.mark.parametrize("call", [
    "dblink_build_sql_insert('foo', '1', 1, '{0}', '{9}')",
    "dblink_build_sql_update('foo', '1', 1, '{0}', '{9}')",
    "dblink_build_sql_delete('foo', '1', 1, '{9}')",
], ids=["insert", "update", "delete"])
def test_builders_need_select_privilege(foo, role, call):
    foo.as_role(role).expect(f"SELECT {call}", Err("42501", "permission denied for table foo"))


def test_select_privilege_suffices(foo, role):
    foo.setup(f"GRANT SELECT ON foo TO {role}")
    foo.as_role(role).expect("SELECT dblink_build_sql_update('foo', '1 2', 2, '{1,b}', '{1,b}')",
                             one("UPDATE foo SET f1 = '1', f2 = 'b', f3 = '{a1,b1,c1}' WHERE f1 = '1' AND f2 = 'b'"))


def test_column_privileges_do_not_count_as_table_select(foo, role):
    foo.setup(f"GRANT SELECT (f1, f2, f3) ON foo TO {role}")
    foo.as_role(role).expect("SELECT * FROM dblink_get_pkey('foo')", Err("42501", "permission denied for table foo"))


def test_permission_error_names_a_view_a_view(foo, role):
    foo.setup("CREATE VIEW v AS SELECT * FROM foo")
    foo.as_role(role).expect("SELECT * FROM dblink_get_pkey('v')", Err("42501", "permission denied for view v"))


def test_permission_error_names_a_sequence_a_sequence(env, role):
    env.setup("CREATE SEQUENCE s")
    env.as_role(role).expect("SELECT * FROM dblink_get_pkey('s')", Err("42501", "permission denied for sequence s"))


def test_qualified_name_needs_usage_on_its_schema(env, role):
    env.schema("locked")
    env.setup("CREATE TABLE locked.t (a int PRIMARY KEY)", f"GRANT SELECT ON locked.t TO {role}")
    env.as_role(role).expect("SELECT * FROM dblink_get_pkey('locked.t')",
                             Err("42501", "permission denied for schema locked"))


# -- key attribute numbers ------------------------------------------------------------


@pytest.mark.parametrize("count", [0, -1])
def test_key_count_must_be_positive(foo, count):
    foo.expect(f"SELECT dblink_build_sql_delete('foo', '1 2', {count}, '{{}}')",
               Err("22023", "number of key attributes must be > 0"))


def test_empty_key_vector_counts_as_no_keys(foo):
    foo.expect("SELECT dblink_build_sql_insert('foo', '', 2, '{}', '{}')",
               Err("22023", "number of key attributes must be > 0"))


def test_key_count_beyond_the_vector_is_cut_to_its_length(foo):
    foo.expect("SELECT dblink_build_sql_delete('foo', '1 2', 5, '{1,b}')",
               one("DELETE FROM foo WHERE f1 = '1' AND f2 = 'b'"))


def test_key_count_below_the_vector_uses_its_leading_attnums(foo):
    foo.expect("SELECT dblink_build_sql_delete('foo', '2 1', 1, '{b}')", one("DELETE FROM foo WHERE f2 = 'b'"))


@pytest.mark.parametrize("attnum", [0, -3, 4, 1000])
def test_attribute_number_out_of_range_is_invalid(foo, attnum):
    foo.expect(f"SELECT dblink_build_sql_delete('foo', '1 {attnum}', 2, '{{1,2}}')",
               Err("22023", f"invalid attribute number {attnum}"))


def test_attribute_numbers_skip_dropped_columns(env):
    env.setup("CREATE TABLE t (gone int, a int, b text)", "ALTER TABLE t DROP COLUMN gone",
              "INSERT INTO t VALUES (1, 'x')")
    env.expect("SELECT dblink_build_sql_delete('t', '2', 1, '{y}')", one("DELETE FROM t WHERE b = 'y'"))
    env.expect("SELECT dblink_build_sql_update('t', '1', 1, '{1}', '{2}')",
               one("UPDATE t SET a = '2', b = 'x' WHERE a = '2'"))


def test_attribute_number_past_the_live_columns_is_invalid(env):
    env.setup("CREATE TABLE t (gone int, a int, b text)", "ALTER TABLE t DROP COLUMN gone")
    env.expect("SELECT dblink_build_sql_delete('t', '3', 1, '{y}')", Err("22023", "invalid attribute number 3"))


def test_attribute_numbers_are_checked_before_key_arrays(foo):
    foo.expect("SELECT dblink_build_sql_insert('foo', '7', 1, '{}', '{}')", Err("22023", "invalid attribute number 7"))


def test_repeated_attribute_number_uses_the_first_target_value(foo):
    foo.expect("SELECT dblink_build_sql_insert('foo', '1 1', 2, '{1,1}', '{5,6}')",
               one("INSERT INTO foo(f1,f2,f3) VALUES('5','b','{a1,b1,c1}')"))
    foo.expect("SELECT dblink_build_sql_delete('foo', '1 1', 2, '{5,6}')",
               one("DELETE FROM foo WHERE f1 = '5' AND f1 = '6'"))


def test_key_columns_need_not_be_the_primary_key(foo):
    foo.expect("SELECT dblink_build_sql_update('foo', '3', 1, '{\"{a4,b4,c4}\"}', '{\"{x}\"}')",
               one("UPDATE foo SET f1 = '4', f2 = 'e', f3 = '{x}' WHERE f3 = '{x}'"))


# -- key value arrays -------------------------------------------------------------------


@pytest.mark.parametrize("function", ["insert", "update"])
def test_source_array_must_have_one_value_per_key(foo, function):
    foo.expect(f"SELECT dblink_build_sql_{function}('foo', '1 2', 2, '{{0,a,extra}}', '{{0,a}}')",
               Err("2202E", "source key array length must match number of key attributes"))


@pytest.mark.parametrize("function", ["insert", "update"])
def test_target_array_must_have_one_value_per_key(foo, function):
    foo.expect(f"SELECT dblink_build_sql_{function}('foo', '1 2', 2, '{{0,a}}', '{{0}}')",
               Err("2202E", "target key array length must match number of key attributes"))


def test_delete_target_array_must_have_one_value_per_key(foo):
    foo.expect("SELECT dblink_build_sql_delete('foo', '1 2', 2, '{0,a,b}')",
               Err("2202E", "target key array length must match number of key attributes"))


def test_source_array_is_checked_before_target_array(foo):
    foo.expect("SELECT dblink_build_sql_update('foo', '1 2', 2, '{0}', '{0}')",
               Err("2202E", "source key array length must match number of key attributes"))


def test_multidimensional_key_arrays_count_every_element(foo):
    foo.expect("SELECT dblink_build_sql_insert('foo', '1 2', 2, '{{0,a}}', '[0:0][5:6]={{7,g}}')",
               one("INSERT INTO foo(f1,f2,f3) VALUES('7','g','{a0,b0,c0}')"))
    foo.expect("SELECT dblink_build_sql_delete('foo', '1 2', 2, '{{1},{x},{y}}')",
               Err("2202E", "target key array length must match number of key attributes"))


# -- finding the source row -----------------------------------------------------------


@pytest.mark.parametrize("function", ["insert", "update"])
def test_missing_source_row_is_an_error(foo, function):
    foo.expect(f"SELECT dblink_build_sql_{function}('foo', '1 2', 2, '{{0,b}}', '{{0,b}}')",
               Err("21000", "source row not found"))


@pytest.mark.parametrize("function", ["insert", "update"])
def test_several_source_rows_are_an_error(env, function):
    env.setup("CREATE TABLE t (a int, b text)", "INSERT INTO t VALUES (1, 'x'), (1, 'y')")
    env.expect(f"SELECT dblink_build_sql_{function}('t', '1', 1, '{{1}}', '{{2}}')",
               Err("21000", "source criteria matched more than one record"))


def test_null_source_key_finds_rows_whose_key_is_null(env):
    env.setup("CREATE TABLE t (a int, b text)", "INSERT INTO t VALUES (NULL, 'x'), (1, 'y')")
    env.expect("SELECT dblink_build_sql_insert('t', '1', 1, '{NULL}', '{3}')",
               one("INSERT INTO t(a,b) VALUES('3','x')"))


def test_source_key_of_the_wrong_type_is_an_input_error(foo):
    foo.expect("SELECT dblink_build_sql_insert('foo', '1 2', 2, '{zero,a}', '{1,a}')",
               Err("22P02", 'invalid input syntax for type integer: "zero"'))


def test_source_key_is_read_by_the_column_type(foo):
    foo.expect("SELECT dblink_build_sql_insert('foo', '1 2', 2, '{ 007 ,h}', '{70,h}')",
               one("INSERT INTO foo(f1,f2,f3) VALUES('70','h','{a7,b7,c7}')"))


def test_boolean_source_key_f_means_false(env):
    env.setup("CREATE TABLE t (flag boolean, v text)", "INSERT INTO t VALUES (false, 'no'), (true, 'yes')")
    env.expect("SELECT dblink_build_sql_update('t', '1', 1, '{f}', '{f}')",
               one("UPDATE t SET flag = 'f', v = 'no' WHERE flag = 'f'"))


def test_bytea_values_are_written_in_their_text_form(env):
    env.setup("CREATE TABLE t (k bytea, v bytea)", "INSERT INTO t VALUES ('\\x00ff', '\\x5c27')")
    env.expect("SELECT dblink_build_sql_insert('t', '1', 1, %s::text[], %s::text[])",
               one("INSERT INTO t(k,v) VALUES(E'\\\\x01',E'\\\\x5c27')"), [["\\x00ff"], ["\\x01"]])


def test_domain_key_is_compared_as_its_base_type(env):
    env.setup("CREATE DOMAIN short AS text CHECK (length(VALUE) < 3)", "CREATE TABLE t (k short, v int)",
              "INSERT INTO t VALUES ('ab', 1)")
    env.expect("SELECT dblink_build_sql_insert('t', '1', 1, '{ab}', '{cd}')",
               one("INSERT INTO t(k,v) VALUES('cd','1')"))
    env.expect("SELECT dblink_build_sql_insert('t', '1', 1, '{toolong}', '{cd}')", Err("21000", "source row not found"))


def test_key_uses_the_equality_of_its_types_schema(env, local_admin):
    if local_admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'citext'").fetchone() is None:
        pytest.skip("citext is not installed")
    env.setup(f"CREATE EXTENSION citext SCHEMA {SCHEMA}", "CREATE TABLE t (k citext, v int)",
              "INSERT INTO t VALUES ('MiXeD', 1)")
    env.expect("SELECT dblink_build_sql_insert('t', '1', 1, '{mixed}', '{other}')",
               one("INSERT INTO t(k,v) VALUES('other','1')"))


def test_row_level_security_hides_source_rows(foo, role):
    foo.setup("ALTER TABLE foo ENABLE ROW LEVEL SECURITY", "CREATE POLICY even ON foo USING (f1 % 2 = 0)",
              f"GRANT SELECT ON foo TO {role}")
    reader = foo.as_role(role)
    reader.expect("SELECT dblink_build_sql_insert('foo', '1 2', 2, '{1,b}', '{1,b}')",
                  Err("21000", "source row not found"))
    reader.expect("SELECT dblink_build_sql_insert('foo', '1 2', 2, '{2,c}', '{2,c}')",
                  one("INSERT INTO foo(f1,f2,f3) VALUES('2','c','{a2,b2,c2}')"))


# -- the statements -------------------------------------------------------------------


def test_insert_statement(foo):
    foo.expect("SELECT dblink_build_sql_insert('foo', '1 2', 2, '{0,a}', '{99,xyz}')",
               one("INSERT INTO foo(f1,f2,f3) VALUES('99','xyz','{a0,b0,c0}')"))


def test_insert_writes_null_column_values_as_null(env):
    env.setup("CREATE TABLE t (a int, b text, c date)", "INSERT INTO t VALUES (1, NULL, NULL)")
    env.expect("SELECT dblink_build_sql_insert('t', '1', 1, '{1}', '{2}')",
               one("INSERT INTO t(a,b,c) VALUES('2',NULL,NULL)"))


def test_insert_writes_null_target_key_as_null(foo):
    foo.expect("SELECT dblink_build_sql_insert('foo', '1 2', 2, '{0,a}', '{NULL,NULL}')",
               one("INSERT INTO foo(f1,f2,f3) VALUES(NULL,NULL,'{a0,b0,c0}')"))


def test_insert_leaves_out_dropped_columns(env):
    env.setup("CREATE TABLE t (a int, gone int, b text)", "ALTER TABLE t DROP COLUMN gone",
              "INSERT INTO t VALUES (1, 'x')")
    env.expect("SELECT dblink_build_sql_insert('t', '1', 1, '{1}', '{2}')", one("INSERT INTO t(a,b) VALUES('2','x')"))


def test_update_statement(foo):
    foo.expect("SELECT dblink_build_sql_update('foo', '1 2', 2, '{0,a}', '{99,xyz}')",
               one("UPDATE foo SET f1 = '99', f2 = 'xyz', f3 = '{a0,b0,c0}' WHERE f1 = '99' AND f2 = 'xyz'"))


def test_update_matches_null_target_key_with_is_null(foo):
    foo.expect("SELECT dblink_build_sql_update('foo', '1 2', 2, '{0,a}', '{1,NULL}')",
               one("UPDATE foo SET f1 = '1', f2 = NULL, f3 = '{a0,b0,c0}' WHERE f1 = '1' AND f2 IS NULL"))


def test_update_leaves_out_dropped_columns(env):
    env.setup("CREATE TABLE t (a int, b text, gone int)", "ALTER TABLE t DROP COLUMN gone",
              "INSERT INTO t VALUES (1, 'x')")
    env.expect("SELECT dblink_build_sql_update('t', '1', 1, '{1}', '{1}')",
               one("UPDATE t SET a = '1', b = 'x' WHERE a = '1'"))


def test_delete_statement(foo):
    foo.expect("SELECT dblink_build_sql_delete('foo', '1 2', 2, '{0,a}')",
               one("DELETE FROM foo WHERE f1 = '0' AND f2 = 'a'"))


def test_delete_needs_no_local_row(foo):
    foo.expect("SELECT dblink_build_sql_delete('foo', '1 2', 2, '{123,nothing}')",
               one("DELETE FROM foo WHERE f1 = '123' AND f2 = 'nothing'"))


def test_delete_matches_null_target_key_with_is_null(foo):
    foo.expect("SELECT dblink_build_sql_delete('foo', '2 1', 2, '{NULL,5}')",
               one("DELETE FROM foo WHERE f2 IS NULL AND f1 = '5'"))


def test_values_with_a_backslash_become_e_strings(foo):
    foo.expect("SELECT dblink_build_sql_delete('foo', '1 2', 2, %s::text[])",
               one("DELETE FROM foo WHERE f1 = '1' AND f2 = E'back\\\\slash'"), [["1", "back\\slash"]])


def test_single_quotes_are_doubled(foo):
    foo.expect("SELECT dblink_build_sql_delete('foo', '1 2', 2, %s::text[])",
               one("DELETE FROM foo WHERE f1 = '1' AND f2 = 'it''s'"), [["1", "it's"]])


def test_quote_and_backslash_together(foo):
    foo.expect("SELECT dblink_build_sql_delete('foo', '1 2', 2, %s::text[])",
               one("DELETE FROM foo WHERE f1 = '1' AND f2 = E'\\\\'''"), [["1", "\\'"]])


def test_identifiers_are_quoted_only_when_needed(env):
    env.setup('CREATE TABLE "Weird Table"'
              ' ("MixedCase" int, "select" int, name int, "with space" int, "a""b" int, ok_1 int)',
              """INSERT INTO "Weird Table" VALUES (1, 2, 3, 4, 5, 6)""")
    env.expect("""SELECT dblink_build_sql_insert('"Weird Table"', '1', 1, '{1}', '{1}')""",
               one('INSERT INTO "Weird Table"("MixedCase","select",name,"with space","a""b",ok_1)'
                   " VALUES('1','2','3','4','5','6')"))


def test_quote_all_identifiers_is_honoured(foo):
    for conn in foo.conns:
        conn.execute("SET quote_all_identifiers = on")
    foo.expect("SELECT dblink_build_sql_delete('foo', '1', 1, '{1}')", one('DELETE FROM "foo" WHERE "f1" = \'1\''))


def test_relation_is_qualified_when_not_on_the_search_path(env):
    env.schema("MySchema")
    env.setup('CREATE TABLE "MySchema"."Foo" (f1 int, f2 text, PRIMARY KEY (f1, f2))')
    env.expect("""SELECT dblink_build_sql_delete('"MySchema"."Foo"', '1 2', 2, '{0,a}')""",
               one("""DELETE FROM "MySchema"."Foo" WHERE f1 = '0' AND f2 = 'a'"""))


def test_relation_is_unqualified_when_visible(foo):
    foo.expect("SELECT dblink_build_sql_delete('bt.foo', '1', 1, '{0}')", one("DELETE FROM foo WHERE f1 = '0'"))


def test_relation_shadowed_on_the_search_path_is_qualified(foo):
    foo.schema("later")
    foo.setup("CREATE TABLE later.foo (x int)", "INSERT INTO later.foo VALUES (7)")
    for conn in foo.conns:
        conn.execute("SET search_path = bt, later, public")
    foo.expect("SELECT dblink_build_sql_insert('later.foo', '1', 1, '{7}', '{8}')",
               one("INSERT INTO later.foo(x) VALUES('8')"))


def test_temporary_table_is_unqualified(env):
    env.setup("CREATE TEMP TABLE tmp (a int)", "INSERT INTO tmp VALUES (1)")
    env.expect("SELECT dblink_build_sql_update('tmp', '1', 1, '{1}', '{2}')",
               one("UPDATE tmp SET a = '2' WHERE a = '2'"))


def test_hostile_search_path_cannot_hijack_the_lookups(foo):
    """Objects shadowing pg_catalog's are never used, even with pg_catalog last on the path."""
    foo.py.execute("DROP SCHEMA IF EXISTS evil CASCADE")
    foo.schemas.add("evil")
    foo.py.execute("CREATE SCHEMA evil")
    foo.py.execute("CREATE FUNCTION evil.trap() RETURNS boolean LANGUAGE plpgsql"
                   " AS $$ BEGIN RAISE EXCEPTION 'hijacked'; END $$")
    for left, right in [("oid", "oid"), ("int4", "int4"), ("text", "text"), ("name", "name"),
                        ("int2", "int4"), ('"char"', '"char"'), ("text[]", "text[]")]:
        foo.py.execute(f"CREATE FUNCTION evil.op(a {left}, b {right}) RETURNS boolean LANGUAGE sql"
                       " AS 'SELECT evil.trap()'")
        for op in ["=", ">", "<"]:
            foo.py.execute(f"CREATE OPERATOR evil.{op} (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = evil.op)")
    for signature in ["quote_ident(text)", "regclass(text)", "has_table_privilege(oid, text)",
                      "pg_table_is_visible(oid)", "format(text, text)", "format(text)"]:
        foo.py.execute(f"CREATE FUNCTION evil.{signature} RETURNS text LANGUAGE sql AS 'SELECT evil.trap()::text'")
    foo.py.execute("SET search_path = evil, bt, public, pg_catalog")
    assert outcome(foo.py, "SELECT * FROM public.dblink_get_pkey('foo')") == [(1, "f1"), (2, "f2")]
    assert outcome(foo.py, "SELECT public.dblink_build_sql_insert("
                           "'foo', '1 2 3', 3, '{1,b,\"{a1,b1,c1}\"}', '{2,x,\"{}\"}')") == \
        one("INSERT INTO foo(f1,f2,f3) VALUES('2','x','{}')")
    assert outcome(foo.py, "SELECT public.dblink_build_sql_update('foo', '1 2', 2, '{1,b}', '{2,x}')") == \
        one("UPDATE foo SET f1 = '2', f2 = 'x', f3 = '{a1,b1,c1}' WHERE f1 = '2' AND f2 = 'x'")
    assert outcome(foo.py, "SELECT public.dblink_build_sql_delete('foo', '1', 1, '{2}')") == \
        one("DELETE FROM foo WHERE f1 = '2'")


# -- properties: awkward names and values, parsed and run on the remote server --------

RESERVED = ["select", "user", "order", "from", "table", "Group", "all", "end", "NULL"]
UNRESERVED = ["name", "type", "key", "value", "position", "text"]
AWKWARD = ['a"b', "it's", "back\\slash", "Mixed", "with space", "dot.ted", "ünï", "日本", "x1", "_", "E'x'", "$1"]
SYSTEM_COLUMNS = {"tableoid", "cmax", "xmax", "cmin", "xmin", "ctid"}
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")

identifiers = st.one_of(st.sampled_from(RESERVED + UNRESERVED + AWKWARD), st.text(CHARS, min_size=1, max_size=10))
column_names = identifiers.filter(lambda s: s not in SYSTEM_COLUMNS)
schema_names = identifiers.filter(lambda s: not s.startswith("pg_") and s not in (SCHEMA, "public"))
texts = st.one_of(
    st.sampled_from(["'", "\\", "''", "\\'", "NULL", "E'x'", "é", "😀", "", " ", "a\nb", "{}", '"']),
    st.text(CHARS, max_size=12),
)

TYPES: dict[str, st.SearchStrategy[Any]] = {
    "integer": st.integers(-(2**31), 2**31 - 1),
    "numeric": st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**6, max_value=10**6),
    "text": texts,
    "text[]": st.lists(st.one_of(st.none(), texts), max_size=3),
    "boolean": st.booleans(),
    "bytea": st.binary(max_size=6),
}


@dataclass(frozen=True)
class Spec:
    schema: str
    table: str
    columns: tuple[tuple[str, str, bool], ...]  # (name, type, dropped) in physical order
    keys: tuple[int, ...]  # logical attribute numbers
    qualified_argument: bool
    row: tuple[Any, ...]  # a value per live column
    decoy: tuple[Any, ...]
    target: tuple[Any, ...]  # a value per key

    @property
    def live(self) -> list[tuple[str, str]]:
        return [(n, t) for n, t, dropped in self.columns if not dropped]


def _value(type_name: str, nullable: bool = True) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), TYPES[type_name]) if nullable else TYPES[type_name]


@st.composite
def specs(draw: Any) -> Spec:
    schema = draw(st.one_of(st.just(SCHEMA), schema_names))
    table = draw(identifiers.filter(lambda s: not s.startswith("pg_")))
    names = draw(st.lists(column_names, min_size=1, max_size=6, unique=True))
    kept = draw(st.sampled_from(names))  # at least one column stays
    columns = [(n, draw(st.sampled_from(sorted(TYPES))), n != kept and draw(st.booleans())) for n in names]
    live = [t for _, t, dropped in columns if not dropped]
    order = draw(st.permutations(range(1, len(live) + 1)))
    keys = tuple(order[: draw(st.integers(1, min(3, len(live))))])
    row = tuple(draw(_value(t)) for t in live)
    decoy = tuple(draw(_value(t)) for t in live)
    target = tuple(draw(_value(live[k - 1])) for k in keys)
    qualified = schema != SCHEMA or draw(st.booleans())
    return Spec(schema, table, tuple(columns), keys, qualified, row, decoy, target)


def _ident(*names: str) -> sql.Composable:
    return sql.Identifier(*names)


def _create(conn: Any, spec: Spec, physical: bool) -> None:
    """The table of spec in conn: with its dropped columns (physical) or only the live ones."""
    if spec.schema != SCHEMA:
        _reset_schema(conn, spec.schema)
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(_ident(spec.schema)))
    columns = spec.columns if physical else tuple(c for c in spec.columns if not c[2])
    definitions = sql.SQL(", ").join(sql.SQL("{} {}").format(_ident(n), sql.SQL(t)) for n, t, _ in columns)
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(_ident(spec.schema, spec.table), definitions))
    for name, _, dropped in columns:
        if dropped:
            conn.execute(sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(_ident(spec.schema, spec.table), _ident(name)))


def _insert(conn: Any, spec: Spec, values: Sequence[Any]) -> None:
    # Literals, not parameters: with parameters, a % in an identifier would be taken for a placeholder.
    live = spec.live
    conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            _ident(spec.schema, spec.table),
            sql.SQL(", ").join(_ident(n) for n, _ in live),
            sql.SQL(", ").join(
                sql.SQL("CAST({} AS {})").format(sql.Literal(v), sql.SQL(t)) for (_, t), v in zip(live, values)
            ),
        )
    )


def _as_text(conn: Any, type_name: str, value: Any) -> str | None:
    """value as its column type's output function writes it (NULL: None)."""
    if value is None:
        return None
    query = sql.SQL("SELECT format('%%s', CAST(%s AS {}))").format(sql.SQL(type_name))
    return conn.execute(query, [value]).fetchone()[0]


def _rows_as_text(conn: Any, spec: Spec) -> list[tuple[str | None, ...]]:
    live = spec.live
    columns = sql.SQL(", ").join(
        sql.SQL("CASE WHEN {c} IS NULL THEN NULL ELSE format('%s', {c}) END").format(c=_ident(n)) for n, _ in live
    )
    query = sql.SQL("SELECT {} FROM {}").format(columns, _ident(spec.schema, spec.table))
    return sorted(conn.execute(query).fetchall(), key=repr)


def _matching(conn: Any, spec: Spec, values: Sequence[str | None]) -> int:
    """How many rows a plain `k = 'v' AND k IS NULL ...` selects, as the caller's own SQL would."""
    live = spec.live
    conditions = [
        sql.SQL("{} IS NULL").format(_ident(live[k - 1][0])) if v is None
        else sql.SQL("{} = {}").format(_ident(live[k - 1][0]), sql.Literal(v))
        for k, v in zip(spec.keys, values)
    ]
    query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
        _ident(spec.schema, spec.table), sql.SQL(" AND ").join(conditions))
    return conn.execute(query).fetchone()[0]


@dataclass
class Prepared:
    spec: Spec
    relname: str  # the first argument of the builders
    src: list[str | None]
    tgt: list[str | None]
    row: list[str | None]  # the source row as text
    expected: list[str | None]  # what the remote row should hold afterwards
    matches: int

    def call(self, function: str) -> tuple[str, list[Any]]:
        attnums = " ".join(str(k) for k in self.spec.keys)
        if function == "delete":
            return ("SELECT dblink_build_sql_delete(%s, %s::int2vector, %s, %s::text[])",
                    [self.relname, attnums, len(self.spec.keys), self.tgt])
        return (f"SELECT dblink_build_sql_{function}(%s, %s::int2vector, %s, %s::text[], %s::text[])",
                [self.relname, attnums, len(self.spec.keys), self.src, self.tgt])


def _prepare(env: Env, spec: Spec) -> Prepared:
    for conn in env.conns:
        _create(conn, spec, physical=True)
        _insert(conn, spec, spec.row)
        _insert(conn, spec, spec.decoy)
    _create(env.remote, spec, physical=False)
    live = spec.live
    row = [_as_text(env.py, t, v) for (_, t), v in zip(live, spec.row)]
    src = [row[k - 1] for k in spec.keys]
    tgt = [_as_text(env.py, live[k - 1][1], v) for k, v in zip(spec.keys, spec.target)]
    expected = list(row)
    for position, k in reversed(list(enumerate(spec.keys))):
        expected[k - 1] = tgt[position]
    relname = _ident(spec.schema, spec.table) if spec.qualified_argument else _ident(spec.table)
    event(f"table schema on search_path: {spec.schema == SCHEMA}")
    event(f"dropped columns: {any(dropped for _, _, dropped in spec.columns)}")
    event(f"NULL among source keys: {None in src}; among target keys: {None in tgt}")
    event(f"backslash in a value: {any(chr(92) in v for v in row + tgt if v)}")
    return Prepared(spec, relname.as_string(env.py), src, tgt, row, expected, _matching(env.py, spec, src))


def _cleanup(env: Env, spec: Spec) -> None:
    for conn in [*env.conns, env.remote]:
        if spec.schema == SCHEMA:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_ident(spec.schema, spec.table)))
        else:
            _reset_schema(conn, spec.schema)


def _build(env: Env, prepared: Prepared, function: str) -> Any:
    """The statement dblink_py builds (or its error), after checking that C dblink builds the same."""
    query, params = prepared.call(function)
    got = outcome(env.py, query, params)
    if env.c is not None:
        assert outcome(env.c, query, params) == got, "C dblink differs"
    return got


def _build_from_one_source_row(env: Env, prepared: Prepared, function: str) -> str | None:
    """The statement insert or update builds; None when the source key
    matched several rows, after checking that this is dblink's error."""
    got = _build(env, prepared, function)
    event(f"source rows matching: {min(prepared.matches, 2)}")
    if prepared.matches > 1:
        assert got == Err("21000", "source criteria matched more than one record")
        return None
    [(statement,)] = got
    return statement


def _run_remote(env: Env, statement: str) -> str:
    with env.remote.transaction():
        env.remote.execute(f"SET LOCAL search_path = {SCHEMA}")
        cursor = env.remote.execute(statement)
        return cursor.statusmessage


def _parse_one(statement: str) -> Any:
    parsed = parse_sql(statement)
    assert len(parsed) == 1
    return parsed[0].stmt


def _const(node: Any) -> str | None:
    assert isinstance(node, ast.A_Const)
    return None if node.isnull else node.val.sval


def _conditions(where: Any) -> list[tuple[str, str | None]]:
    """(column, value or None for IS NULL) of each `col = 'v'` / `col IS NULL` in an AND chain."""
    if isinstance(where, ast.BoolExpr):
        assert where.boolop == BoolExprType.AND_EXPR
        parts = where.args
    else:
        parts = (where,)
    result = []
    for part in parts:
        if isinstance(part, ast.NullTest):
            result.append((part.arg.fields[-1].sval, None))
        else:
            assert isinstance(part, ast.A_Expr) and [n.sval for n in part.name] == ["="]
            result.append((part.lexpr.fields[-1].sval, _const(part.rexpr)))
    return result


def _relation_of(node: Any, env: Env, spec: Spec) -> None:
    """The statement names the table, schema-qualified exactly when it is not on the search path."""
    visible = env.py.execute("SELECT pg_table_is_visible(%s::regclass)",
                             [_ident(spec.schema, spec.table).as_string(env.py)]).fetchone()[0]
    assert (node.schemaname, node.relname) == (None if visible else spec.schema, spec.table)


PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.filter_too_much])


@PROPERTY
@given(spec=specs())
def test_generated_insert_parses_and_inserts_the_row(env, spec):
    prepared = _prepare(env, spec)
    try:
        statement = _build_from_one_source_row(env, prepared, "insert")
        if statement is None:
            return
        node = _parse_one(statement)
        assert isinstance(node, ast.InsertStmt)
        _relation_of(node.relation, env, spec)
        assert [c.name for c in node.cols] == [n for n, _ in spec.live]
        assert [_const(v) for v in node.selectStmt.valuesLists[0]] == prepared.expected
        assert _run_remote(env, statement) == "INSERT 0 1"
        assert _rows_as_text(env.remote, spec) == [tuple(prepared.expected)]
    finally:
        _cleanup(env, spec)


@PROPERTY
@given(spec=specs(), stale=st.data())
def test_generated_update_parses_and_updates_the_target_row(env, spec, stale):
    prepared = _prepare(env, spec)
    try:
        statement = _build_from_one_source_row(env, prepared, "update")
        if statement is None:
            return
        node = _parse_one(statement)
        assert isinstance(node, ast.UpdateStmt)
        _relation_of(node.relation, env, spec)
        names = [n for n, _ in spec.live]
        assert [(t.name, _const(t.val)) for t in node.targetList] == list(zip(names, prepared.expected))
        key_names = [spec.live[k - 1][0] for k in spec.keys]
        assert _conditions(node.whereClause) == list(zip(key_names, prepared.tgt))
        # The remote copy holds the target row with stale values in the other columns.
        old = [stale.draw(_value(t)) for _, t in spec.live]
        for k, v in zip(spec.keys, spec.target):
            old[k - 1] = v
        _insert(env.remote, spec, old)
        assert _run_remote(env, statement) == "UPDATE 1"
        assert _rows_as_text(env.remote, spec) == [tuple(prepared.expected)]
    finally:
        _cleanup(env, spec)


@PROPERTY
@given(spec=specs())
def test_generated_delete_parses_and_deletes_the_target_rows(env, spec):
    prepared = _prepare(env, spec)
    try:
        [(statement,)] = _build(env, prepared, "delete")
        node = _parse_one(statement)
        assert isinstance(node, ast.DeleteStmt)
        _relation_of(node.relation, env, spec)
        key_names = [spec.live[k - 1][0] for k in spec.keys]
        assert _conditions(node.whereClause) == list(zip(key_names, prepared.tgt))
        # The remote copy holds the target row and the decoy row.
        target_row = list(spec.row)
        for k, v in zip(spec.keys, spec.target):
            target_row[k - 1] = v
        _insert(env.remote, spec, target_row)
        _insert(env.remote, spec, spec.decoy)
        doomed = _matching(env.remote, spec, prepared.tgt)
        assert doomed >= 1
        assert _run_remote(env, statement) == f"DELETE {doomed}"
        assert _matching(env.remote, spec, prepared.tgt) == 0
        assert len(_rows_as_text(env.remote, spec)) == 2 - doomed
    finally:
        _cleanup(env, spec)


@PROPERTY
@given(value=st.one_of(st.none(), texts), column=column_names)
@example(value="\\'", column="Select")
@example(value=None, column="a b")
def test_target_values_are_quoted_like_quote_literal(env, value, column):
    table = sql.Identifier(SCHEMA, "q").as_string(env.py)
    for conn in env.conns:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, "q")))
        conn.execute(sql.SQL("CREATE TABLE {} ({} text)").format(sql.Identifier(SCHEMA, "q"), sql.Identifier(column)))
    quoted_column, literal = env.py.execute("SELECT quote_ident(%s), quote_literal(%s::text)",
                                            [column, value]).fetchone()
    condition = f"{quoted_column} IS NULL" if value is None else f"{quoted_column} = {literal}"
    env.expect("SELECT dblink_build_sql_delete(%s, '1', 1, %s::text[])",
               one(f"DELETE FROM q WHERE {condition}"), [table, [value]])


# -- code of another role -----------------------------------------------------


@pytest.fixture
def mallory(env: Env, make_local_role: Any) -> psycopg.Connection:
    """A non-superuser who owns schema evil, connected to dblink_py's database."""
    name = make_local_role("builders_mallory")
    env.py.execute("DROP SCHEMA IF EXISTS evil CASCADE")
    env.schemas.add("evil")
    env.py.execute(f"CREATE SCHEMA evil AUTHORIZATION {name}")
    conn = env.connect(user=name)
    conn.execute("CREATE FUNCTION evil.whoami() RETURNS boolean LANGUAGE plpgsql AS"
                 " $f$BEGIN RAISE NOTICE 'running as %', current_user; RETURN true; END$f$")
    return conn


def _evil_notices(conn: Any) -> list[str]:
    return [n.message_primary for n in conn.notices if (n.message_primary or "").startswith("running as")]


def test_an_operator_of_the_table_owners_type_is_not_run(env, mallory):
    mallory.execute("CREATE TYPE evil.e AS ENUM ('a', 'b')")
    mallory.execute("CREATE FUNCTION evil.e_eq(evil.e, evil.e) RETURNS boolean LANGUAGE plpgsql AS"
                    " $f$BEGIN PERFORM evil.whoami(); RETURN $1::text = $2::text; END$f$")
    mallory.execute("CREATE OPERATOR evil.= (LEFTARG = evil.e, RIGHTARG = evil.e, FUNCTION = evil.e_eq)")
    mallory.execute("CREATE TABLE evil.tab (k evil.e PRIMARY KEY, v text)")
    mallory.execute("INSERT INTO evil.tab VALUES ('a', 'x')")
    mallory.execute("GRANT USAGE ON SCHEMA evil TO PUBLIC")
    mallory.execute("GRANT SELECT ON evil.tab TO PUBLIC")
    for search_path in ("bt, public", "evil, bt, public"):
        env.py.execute(f"SET search_path = {search_path}")
        assert outcome(env.py, "SELECT dblink_build_sql_insert('evil.tab', '1', 1, ARRAY['a'], ARRAY['b'])") == \
            one("INSERT INTO evil.tab(k,v) VALUES('b','x')") if search_path.startswith("bt") else \
            one("INSERT INTO tab(k,v) VALUES('b','x')")
        assert outcome(env.py, "SELECT dblink_build_sql_update('evil.tab', '1', 1, ARRAY['a'], ARRAY['b'])") != []
    assert _evil_notices(env.py) == []


def test_a_cast_of_the_table_owner_is_not_run(env, mallory):
    mallory.execute("CREATE TYPE evil.e AS ENUM ('a', 'b')")
    mallory.execute("CREATE FUNCTION evil.to_e(text) RETURNS evil.e LANGUAGE plpgsql AS"
                    " $f$BEGIN PERFORM evil.whoami(); RETURN $1::cstring::evil.e; END$f$")
    mallory.execute("CREATE CAST (text AS evil.e) WITH FUNCTION evil.to_e(text) AS IMPLICIT")
    mallory.execute("CREATE FUNCTION evil.e_text(evil.e) RETURNS text LANGUAGE plpgsql AS"
                    " $f$BEGIN PERFORM evil.whoami(); RETURN 'a'; END$f$")
    mallory.execute("CREATE CAST (evil.e AS text) WITH FUNCTION evil.e_text(evil.e) AS IMPLICIT")
    mallory.execute("CREATE TABLE evil.tab (k evil.e PRIMARY KEY, v text)")
    mallory.execute("INSERT INTO evil.tab VALUES ('a', 'x')")
    mallory.execute("GRANT USAGE ON SCHEMA evil TO PUBLIC")
    mallory.execute("GRANT SELECT ON evil.tab TO PUBLIC")
    assert outcome(env.py, "SELECT dblink_build_sql_insert('evil.tab', '1', 1, ARRAY['a'], ARRAY['b'])") == \
        one("INSERT INTO evil.tab(k,v) VALUES('b','x')")
    assert _evil_notices(env.py) == []


def test_a_domain_check_of_another_role_inside_a_key_type_is_not_run(env, mallory):
    mallory.execute("CREATE DOMAIN evil.d AS int CHECK (evil.whoami())")
    mallory.execute("CREATE TYPE evil.c AS (x evil.d, y int)")
    mallory.execute("CREATE TABLE evil.tab (k evil.c, v text)")
    mallory.execute("INSERT INTO evil.tab VALUES (ROW(1, 2), 'x')")
    mallory.execute("GRANT USAGE ON SCHEMA evil TO PUBLIC")
    mallory.execute("GRANT SELECT ON evil.tab TO PUBLIC")
    mallory.notices.clear()
    assert outcome(env.py, "SELECT dblink_build_sql_insert('evil.tab', '1', 1, ARRAY['(1,2)'], ARRAY['(3,4)'])") == \
        one("INSERT INTO evil.tab(k,v) VALUES('(3,4)','x')")
    assert _evil_notices(env.py) == []


@pytest.mark.parametrize("setup", [
    "CREATE VIEW evil.tab AS SELECT k, v FROM evil.base WHERE evil.whoami()",
    "ALTER TABLE evil.base RENAME TO tab; ALTER TABLE evil.tab ENABLE ROW LEVEL SECURITY;"
    " CREATE POLICY p ON evil.tab USING (evil.whoami())",
])
def test_a_view_or_policy_of_another_role_is_not_read(env, mallory, make_local_role, setup):
    mallory.execute("CREATE TABLE evil.base (k int PRIMARY KEY, v text)")
    mallory.execute("INSERT INTO evil.base VALUES (1, 'x')")
    for statement in setup.split("; "):
        mallory.execute(statement)
    mallory.execute("GRANT USAGE ON SCHEMA evil TO PUBLIC")
    mallory.execute("GRANT SELECT ON ALL TABLES IN SCHEMA evil TO PUBLIC")
    victim = env.connect(user=make_local_role("builders_victim"))
    refused = [victim] if "POLICY" in setup else [env.py, victim]  # superusers bypass policies
    for conn in refused:
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT dblink_build_sql_insert('evil.tab', '1', 1, ARRAY['1'], ARRAY['2'])")
        assert info.value.sqlstate == "42501"
        assert error_text(info.value) == "dblink_py does not run another role's code to read a source row"
        assert "neither a superuser nor the current user" in (info.value.diag.message_detail or "")
        assert _evil_notices(conn) == []
    if "POLICY" in setup:
        assert outcome(env.py, "SELECT dblink_build_sql_insert('evil.tab', '1', 1, ARRAY['1'], ARRAY['2'])") == \
            one("INSERT INTO evil.tab(k,v) VALUES('2','x')")
        assert _evil_notices(env.py) == []
    # deleting builds no lookup: it needs no row
    assert outcome(victim, "SELECT dblink_build_sql_delete('evil.tab', '1', 1, ARRAY['2'])") == \
        one("DELETE FROM evil.tab WHERE k = '2'")
