"""Beside C dblink and away from it: dblink_py in a database that has C dblink, and the move
to dblink_py without dropping the views, functions, servers and user mappings that use dblink."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from helpers import error_text, rows, scalar

pytestmark = pytest.mark.c_dblink


@pytest.fixture
def with_c_dblink(local_admin, local_connect, remote_server, remote_admin, make_local_role):
    """A database where C dblink is in use: a foreign server with user mappings, a view,
    a PL/pgSQL function and a table of data that depend on it."""
    remote_admin.execute("DROP TABLE IF EXISTS moved_rows")
    remote_admin.execute("CREATE TABLE moved_rows AS SELECT g AS id, 'r' || g AS label FROM generate_series(1, 3) g")
    local_admin.execute("DROP DATABASE IF EXISTS with_c_dblink WITH (FORCE)")
    local_admin.execute("CREATE DATABASE with_c_dblink")
    reader = make_local_role("moved_reader", password="pw")
    conn = local_connect(dbname="with_c_dblink")
    conn.execute("CREATE EXTENSION dblink")
    conn.execute("CREATE SERVER remote_fs FOREIGN DATA WRAPPER dblink_fdw OPTIONS"
                 f" (host '127.0.0.1', port '{remote_server.port}', dbname '{remote_server.dbname}')")
    conn.execute(f"CREATE USER MAPPING FOR CURRENT_USER SERVER remote_fs OPTIONS (user '{remote_server.superuser}',"
                 f" password '{remote_server.password}')")
    conn.execute(f"CREATE USER MAPPING FOR {reader} SERVER remote_fs OPTIONS (user '{remote_server.superuser}',"
                 f" password '{remote_server.password}')")
    conn.execute(f"GRANT USAGE ON FOREIGN SERVER remote_fs TO {reader}")
    conn.execute("CREATE VIEW remote_labels AS SELECT * FROM dblink('remote_fs', 'SELECT id, label FROM moved_rows')"
                 " AS t(id int, label text)")
    conn.execute(f"GRANT SELECT ON remote_labels TO {reader}")
    conn.execute("CREATE FUNCTION count_remote() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN"
                 " SELECT c INTO n FROM dblink('remote_fs', 'SELECT count(*) FROM moved_rows') AS t(c bigint);"
                 " RETURN n; END $$")
    conn.execute("CREATE TABLE kept (id int, note text)")
    conn.execute("INSERT INTO kept VALUES (1, 'local data')")
    yield conn, reader
    conn.close()
    local_admin.execute("DROP DATABASE IF EXISTS with_c_dblink WITH (FORCE)")
    local_admin.execute("DROP DATABASE IF EXISTS with_c_dblink_restored WITH (FORCE)")


def _languages(conn) -> set[str]:
    return {r[0] for r in rows(conn, "SELECT DISTINCT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
                                     " WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'dblink%'")}


def _server(conn, name: str, wrapper: str, remote_server) -> None:
    conn.execute(f"CREATE SERVER {name} FOREIGN DATA WRAPPER {wrapper} OPTIONS"
                 f" (host '127.0.0.1', port '{remote_server.port}', dbname '{remote_server.dbname}')")
    conn.execute(f"CREATE USER MAPPING FOR CURRENT_USER SERVER {name} OPTIONS (user '{remote_server.superuser}',"
                 f" password '{remote_server.password}')")


def _members(conn, extension: str) -> list[str]:
    return [r[0] for r in rows(conn, "SELECT pg_describe_object(d.classid, d.objid, 0) FROM pg_depend d"
                                     " JOIN pg_extension e ON e.oid = d.refobjid AND d.deptype = 'e'"
                                     " WHERE e.extname = %s ORDER BY 1", [extension])]


def _adopt(conn) -> list[tuple[str, str]]:
    report = scalar(conn, "SELECT py.dblink_py_adopt_dblink()")
    return [tuple(line.split(": ", 1)) for line in report.splitlines()]


def test_dblink_py_installs_beside_c_dblink(with_c_dblink, remote_server):
    conn, _reader = with_c_dblink
    before = rows(conn, "SELECT p.oid, p.prosrc FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1")
    conn.execute("CREATE SCHEMA py")
    conn.execute("CREATE EXTENSION dblink_py SCHEMA py CASCADE")
    assert rows(conn, "SELECT fdwname FROM pg_foreign_data_wrapper ORDER BY 1") == [("dblink_fdw",), ("dblink_py_fdw",)]
    # dblink_py's functions reach servers of either wrapper
    assert rows(conn, "SELECT * FROM py.dblink('remote_fs', 'SELECT 7') AS t(a int)") == [(7,)]
    _server(conn, "py_fs", "dblink_py_fdw", remote_server)
    assert rows(conn, "SELECT * FROM py.dblink('py_fs', 'SELECT 8') AS t(a int)") == [(8,)]
    # and nothing of C dblink's changed
    assert rows(conn, "SELECT p.oid, p.prosrc FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace"
                      " ORDER BY 1") == before
    assert _languages(conn) == {"c"}
    assert rows(conn, "SELECT count(*) FROM remote_labels") == [(3,)]


def test_a_database_moves_from_c_dblink_to_dblink_py_keeping_what_uses_it(with_c_dblink, local_connect, local_server):
    conn, reader = with_c_dblink
    view_oid = scalar(conn, "SELECT 'remote_labels'::regclass::oid")
    conn.execute("CREATE SCHEMA py")
    conn.execute("CREATE EXTENSION dblink_py SCHEMA py CASCADE")
    actions = _adopt(conn)
    assert ("extension dblink", "dropped, after its objects became dblink_py's") in actions
    assert ("foreign-data wrapper dblink_fdw",
            "kept with its servers and user mappings; dblink_py's, with dblink_py's validator") in actions
    assert ("extension dblink_py", "moved from schema py to schema public, where dblink was") in actions
    assert any(a[0] == "function public.dblink(text,text)" and a[1].startswith("now runs dblink_py") for a in actions)
    # C dblink is gone, its functions run dblink_py's code
    assert rows(conn, "SELECT extname FROM pg_extension WHERE extname = 'dblink'") == []
    assert _languages(conn) == {"plpython3u"}
    # the dependents are the same objects and work
    assert scalar(conn, "SELECT 'remote_labels'::regclass::oid") == view_oid
    assert rows(conn, "SELECT * FROM remote_labels ORDER BY id") == [(1, "r1"), (2, "r2"), (3, "r3")]
    assert scalar(conn, "SELECT count_remote()") == 3
    assert rows(conn, "SELECT * FROM kept") == [(1, "local data")]
    # the non-superuser's user mapping and privileges came along
    as_reader = local_connect(dbname="with_c_dblink", user=reader, password="pw")
    assert scalar(as_reader, "SELECT count(*) FROM remote_labels") == 3
    assert rows(conn, "SELECT fdwname FROM pg_foreign_data_wrapper") == [("dblink_fdw",)]
    assert scalar(conn, "SELECT fdwvalidator::regprocedure::text FROM pg_foreign_data_wrapper") == \
        "dblink_fdw_validator(text[],oid)"
    assert rows(conn, "SELECT e.extname, e.extnamespace::regnamespace::text FROM pg_extension e"
                      " WHERE e.extname LIKE 'dblink%'") == [("dblink_py", "public")]
    # and the database dumps and restores
    with psycopg.connect(local_server.dsn(via_socket=True), autocommit=True) as admin:
        admin.execute("CREATE DATABASE with_c_dblink_restored")
    bindir = local_server.install.bindir
    dump = subprocess.run([str(bindir / "pg_dump"), local_server.dsn("with_c_dblink", via_socket=True)],
                          check=True, capture_output=True, text=True).stdout
    subprocess.run([str(bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                    local_server.dsn("with_c_dblink_restored", via_socket=True)],
                   input=dump, check=True, capture_output=True, text=True)
    restored = local_connect(dbname="with_c_dblink_restored")
    assert rows(restored, "SELECT * FROM remote_labels ORDER BY id") == [(1, "r1"), (2, "r2"), (3, "r3")]


@pytest.mark.not_in_docker("writes a test extension into the local provider's private installation")
def test_moving_is_refused_while_an_extension_requires_dblink_by_name(with_c_dblink, extension_files):
    conn, _reader = with_c_dblink
    extension_files("needs_dblink_probe.control", "default_version = '1.0'\nrequires = 'dblink'\n")
    extension_files("needs_dblink_probe--1.0.sql", "CREATE TABLE needs_dblink_probe_log (id int);\n")
    conn.execute("CREATE EXTENSION needs_dblink_probe")
    conn.execute("CREATE SCHEMA py")
    conn.execute("CREATE EXTENSION dblink_py SCHEMA py CASCADE")
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT py.dblink_py_adopt_dblink()")
    assert info.value.sqlstate == "2BP01"
    assert error_text(info.value) == "extensions that require dblink by name are installed: needs_dblink_probe"
    assert "AS_DBLINK=1" in info.value.diag.message_hint
    assert _languages(conn) == {"c"}


def test_after_the_move_dblink_py_has_the_objects_of_a_fresh_install(with_c_dblink, local_admin, local_connect):
    conn, _reader = with_c_dblink
    conn.execute("CREATE SCHEMA py")
    conn.execute("CREATE EXTENSION dblink_py SCHEMA py CASCADE")
    _adopt(conn)
    local_admin.execute("DROP DATABASE IF EXISTS fresh_dblink_py WITH (FORCE)")
    local_admin.execute("CREATE DATABASE fresh_dblink_py")
    try:
        fresh = local_connect(dbname="fresh_dblink_py")
        fresh.execute("CREATE EXTENSION dblink_py CASCADE")
        assert _members(conn, "dblink_py") == _members(fresh, "dblink_py")
        fresh.close()
    finally:
        local_admin.execute("DROP DATABASE fresh_dblink_py WITH (FORCE)")


def test_moving_is_refused_while_objects_use_dblink_py_s_own_copies(with_c_dblink):
    conn, _reader = with_c_dblink
    conn.execute("CREATE SCHEMA py")
    conn.execute("CREATE EXTENSION dblink_py SCHEMA py CASCADE")
    conn.execute("CREATE VIEW on_the_copy AS SELECT * FROM py.dblink('remote_fs', 'SELECT 1') AS t(a int)")
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT py.dblink_py_adopt_dblink()")
    assert info.value.sqlstate == "2BP01"
    assert error_text(info.value) == "objects use dblink_py's own copies of dblink's functions: view public.on_the_copy"
    assert _languages(conn) == {"c"}


def test_moving_is_refused_while_servers_use_dblink_py_fdw(with_c_dblink, remote_server):
    conn, _reader = with_c_dblink
    conn.execute("CREATE SCHEMA py")
    conn.execute("CREATE EXTENSION dblink_py SCHEMA py CASCADE")
    _server(conn, "py_fs", "dblink_py_fdw", remote_server)
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT py.dblink_py_adopt_dblink()")
    assert info.value.sqlstate == "2BP01"
    assert error_text(info.value) == \
        "foreign servers use dblink_py_fdw, which goes when dblink_py takes over dblink_fdw: py_fs"
    assert _languages(conn) == {"c"}


def test_moving_without_c_dblink_is_an_error(local_admin, local_connect):
    local_admin.execute("DROP DATABASE IF EXISTS no_c_dblink WITH (FORCE)")
    local_admin.execute("CREATE DATABASE no_c_dblink")
    try:
        conn = local_connect(dbname="no_c_dblink")
        conn.execute("CREATE EXTENSION dblink_py CASCADE")
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT dblink_py_adopt_dblink()")
        conn.close()
    finally:
        local_admin.execute("DROP DATABASE no_c_dblink WITH (FORCE)")
    assert info.value.sqlstate == "42704"
    assert error_text(info.value) == "the C dblink extension is not installed in this database"


def test_moving_needs_a_superuser(with_c_dblink, local_connect):
    conn, reader = with_c_dblink
    conn.execute("CREATE SCHEMA py")
    conn.execute("CREATE EXTENSION dblink_py SCHEMA py CASCADE")
    conn.execute(f"GRANT USAGE ON SCHEMA py TO {reader}")
    conn.execute(f"GRANT EXECUTE ON FUNCTION py.dblink_py_adopt_dblink() TO {reader}")
    as_reader = local_connect(dbname="with_c_dblink", user=reader, password="pw")
    with pytest.raises(psycopg.Error) as info:
        as_reader.execute("SELECT py.dblink_py_adopt_dblink()")
    assert info.value.sqlstate == "42501"
    assert _languages(conn) == {"c"}
