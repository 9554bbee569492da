"""Versions: every released version updates to this one, and the SQL objects must match the
Python package's version."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from helpers import error_text, rows, scalar

REPO = Path(__file__).resolve().parent.parent
VERSION = re.search(r'^__version__ = "(.*)"', (REPO / "python/dblink_py/__init__.py").read_text(), re.M).group(1)
RELEASED = sorted(p.name.removeprefix("dblink_py--").removesuffix(".sql") for p in (REPO / "sql/versions").glob("*.sql"))

# What a database holds of the extension, object by object, as a user could tell it apart.
SNAPSHOT = """
SELECT pg_describe_object(d.classid, d.objid, 0) AS object,
       CASE WHEN d.classid = 'pg_proc'::regclass THEN
           (SELECT concat_ws(' | ', pg_get_function_result(p.oid), p.prosrc, p.proisstrict, p.proparallel,
                             p.provolatile, p.prosecdef, p.proconfig::text, p.proacl::text, l.lanname)
            FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = d.objid)
       WHEN d.classid = 'pg_class'::regclass THEN
           (SELECT concat_ws(' | ', c.relkind, pg_get_viewdef(c.oid), c.relacl::text) FROM pg_class c WHERE c.oid = d.objid)
       WHEN d.classid = 'pg_type'::regclass THEN
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
            FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid WHERE t.oid = d.objid)
       WHEN d.classid = 'pg_foreign_data_wrapper'::regclass THEN
           (SELECT concat_ws(' | ', w.fdwvalidator::regproc::text, w.fdwacl::text)
            FROM pg_foreign_data_wrapper w WHERE w.oid = d.objid)
       END AS definition
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND d.deptype = 'e'
WHERE e.extname = 'dblink_py' ORDER BY 1
"""


@pytest.fixture
def two_databases(local_admin, local_connect):
    """Two new empty databases on the local server, dropped afterwards."""
    names = ("versions_a", "versions_b")
    for name in names:
        local_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        local_admin.execute(f"CREATE DATABASE {name}")
    yield tuple(local_connect(dbname=name) for name in names)
    for name in names:
        local_admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_the_default_version_is_the_python_package_s():
    control = (REPO / "dblink_py.control").read_text()
    assert re.search(r"^default_version = '(.*)'", control, re.M).group(1) == VERSION
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'^version = "(.*)"', pyproject, re.M).group(1) == VERSION


def test_every_released_version_has_an_update_to_this_one(two_databases):
    conn, _ = two_databases
    conn.execute("CREATE EXTENSION plpython3u")
    paths = dict(rows(conn, "SELECT source, path FROM pg_extension_update_paths('dblink_py') WHERE target = %s",
                      [VERSION]))
    assert RELEASED and all(paths.get(version) for version in RELEASED), paths


@pytest.mark.parametrize("released", RELEASED)
def test_an_updated_database_has_the_objects_of_a_fresh_install(two_databases, released):
    updated, fresh = two_databases
    updated.execute("CREATE EXTENSION dblink_py VERSION %s CASCADE" % psycopg.sql.quote(released))
    updated.execute("ALTER EXTENSION dblink_py UPDATE")
    fresh.execute("CREATE EXTENSION dblink_py CASCADE")
    assert scalar(updated, "SELECT extversion FROM pg_extension WHERE extname = 'dblink_py'") == VERSION
    assert rows(updated, SNAPSHOT) == rows(fresh, SNAPSHOT)


@pytest.mark.parametrize("released", RELEASED)
def test_an_updated_database_keeps_what_uses_dblink(two_databases, remote_dsn, released):
    conn, _ = two_databases
    conn.execute("CREATE EXTENSION dblink_py VERSION %s CASCADE" % psycopg.sql.quote(released))
    conn.execute("CREATE VIEW over_dblink AS SELECT * FROM dblink(%s, 'SELECT 41 + 1') AS t(a int)"
                 % psycopg.sql.quote(remote_dsn))
    conn.execute("ALTER EXTENSION dblink_py UPDATE")
    assert rows(conn, "SELECT * FROM over_dblink") == [(42,)]


@pytest.mark.parametrize("released", RELEASED)
def test_objects_of_an_older_version_name_both_versions(two_databases, remote_dsn, released):
    conn, _ = two_databases
    conn.execute("CREATE EXTENSION dblink_py VERSION %s CASCADE" % psycopg.sql.quote(released))
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT dblink_connect(%s)", [remote_dsn])
    assert info.value.sqlstate == "55000"
    assert error_text(info.value) == (f"dblink_py's SQL objects in this database are version {released},"
                                      f" its Python package is version {VERSION}")
    assert "ALTER EXTENSION dblink_py UPDATE" in info.value.diag.message_hint
