"""Installation: make install/uninstall, CREATE EXTENSION, the SQL objects dblink 1.2 defines."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from helpers import error_text, rows, scalar

REPO = Path(__file__).resolve().parent.parent
VERSION = re.search(r'^__version__ = "(.*)"', (REPO / "python/dblink_py/__init__.py").read_text(), re.M).group(1)

# dblink 1.2's functions: (name, identity arguments, result, strict, parallel)
FUNCTIONS = [
    ("dblink", "text", "SETOF record", True, "r"),
    ("dblink", "text, boolean", "SETOF record", True, "r"),
    ("dblink", "text, text", "SETOF record", True, "r"),
    ("dblink", "text, text, boolean", "SETOF record", True, "r"),
    ("dblink_connect", "text", "text", True, "r"),
    ("dblink_connect", "text, text", "text", True, "r"),
    ("dblink_connect_u", "text", "text", True, "r"),
    ("dblink_connect_u", "text, text", "text", True, "r"),
    ("dblink_current_query", "", "text", False, "r"),
    ("dblink_disconnect", "", "text", True, "r"),
    ("dblink_disconnect", "text", "text", True, "r"),
    ("dblink_error_message", "text", "text", True, "r"),
    ("dblink_exec", "text", "text", True, "r"),
    ("dblink_exec", "text, boolean", "text", True, "r"),
    ("dblink_exec", "text, text", "text", True, "r"),
    ("dblink_exec", "text, text, boolean", "text", True, "r"),
    ("dblink_fdw_validator", "options text[], catalog oid", "void", True, "s"),
    ("dblink_get_connections", "", "text[]", False, "r"),
]


@pytest.fixture
def scratch_db(local_admin, local_connect):
    """A new empty database on the local server, dropped afterwards."""
    local_admin.execute("DROP DATABASE IF EXISTS scratch WITH (FORCE)")
    local_admin.execute("CREATE DATABASE scratch")
    yield local_connect(dbname="scratch")
    local_admin.execute("DROP DATABASE scratch WITH (FORCE)")


def test_create_extension_cascade_installs_plpython3u(scratch_db):
    scratch_db.execute("CREATE EXTENSION dblink_py CASCADE")
    names = {r[0] for r in rows(scratch_db, "SELECT extname FROM pg_extension")}
    assert {"dblink_py", "plpython3u"} <= names


def test_extension_is_relocatable(scratch_db, remote_dsn):
    scratch_db.execute("CREATE SCHEMA elsewhere")
    scratch_db.execute("CREATE EXTENSION dblink_py SCHEMA elsewhere CASCADE")
    assert scalar(scratch_db, "SELECT elsewhere.dblink_connect('c', %s)", [remote_dsn]) == "OK"
    assert rows(scratch_db, "SELECT * FROM elsewhere.dblink('c', 'SELECT 1') AS t(a int)") == [(1,)]


def test_foreign_servers_work_after_set_schema(scratch_db, remote_server):
    scratch_db.execute("CREATE EXTENSION dblink_py CASCADE")
    scratch_db.execute("CREATE SCHEMA moved")
    scratch_db.execute("ALTER EXTENSION dblink_py SET SCHEMA moved")
    scratch_db.execute(
        "CREATE SERVER fs FOREIGN DATA WRAPPER dblink_fdw OPTIONS"
        f" (host '127.0.0.1', port '{remote_server.port}', dbname '{remote_server.dbname}')"
    )
    scratch_db.execute(
        "CREATE USER MAPPING FOR CURRENT_USER SERVER fs OPTIONS"
        f" (user '{remote_server.superuser}', password '{remote_server.password}')"
    )
    assert rows(scratch_db, "SELECT * FROM moved.dblink('fs', 'SELECT 2') AS t(a int)") == [(2,)]


def test_functions_have_dblink_signatures_strictness_and_parallel_safety(db):
    found = rows(
        db,
        "SELECT p.proname::text, pg_get_function_identity_arguments(p.oid),"
        " pg_get_function_result(p.oid), p.proisstrict, p.proparallel::text"
        " FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass"
        " JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dblink_py'"
        " WHERE p.proname = ANY(%s) ORDER BY 1, 2",
        [sorted({f[0] for f in FUNCTIONS})],
    )
    assert found == sorted(FUNCTIONS)


def test_functions_are_volatile(db):
    assert rows(
        db,
        "SELECT DISTINCT p.provolatile::text FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid"
        " JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dblink_py'",
    ) == [("v",)]


def test_dblink_fdw_uses_the_validator(db):
    assert rows(
        db,
        "SELECT w.fdwvalidator::regproc::text, w.fdwhandler FROM pg_foreign_data_wrapper w WHERE w.fdwname = 'dblink_fdw'",
    ) == [("dblink_fdw_validator", 0)]


def test_connect_u_is_revoked_from_public(db):
    assert rows(
        db,
        "SELECT DISTINCT has_function_privilege('public', p.oid, 'EXECUTE') FROM pg_proc p WHERE p.proname = 'dblink_connect_u'",
    ) == [(False,)]


def _installed_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _pg_config(option: str) -> str:
    return subprocess.run(["pg_config", option], check=True, capture_output=True, text=True).stdout.strip()


def _make(*args: str) -> None:
    subprocess.run(["make", "-s", "-C", str(REPO), *args], check=True, capture_output=True)


def test_make_uninstall_removes_what_make_install_put_down(tmp_path):
    _make("install", f"DESTDIR={tmp_path}")
    installed = _installed_files(tmp_path)
    assert any(p.name == "dblink_py.control" for p in installed)
    assert any(p.name == "dblink_py--1.2.sql" for p in installed)
    assert any("psycopg" in p.parts for p in installed)
    _make("uninstall", f"DESTDIR={tmp_path}")
    assert _installed_files(tmp_path) == []


def _extension_dir(root: Path) -> Path:
    return root / Path(_pg_config("--sharedir")).relative_to("/") / "extension"


def test_make_install_puts_down_this_version_every_update_and_1_2(tmp_path):
    _make("install", f"DESTDIR={tmp_path}")
    names = {p.name for p in _extension_dir(tmp_path).iterdir()}
    assert {"dblink_py.control", f"dblink_py--{VERSION}.sql", "dblink_py--1.2.sql",
            f"dblink_py--1.2--{VERSION}.sql"} <= names
    assert not any(name.startswith("dblink.") or name.startswith("dblink--") for name in names)


def test_make_install_as_dblink_adds_the_extension_under_the_name_dblink(tmp_path):
    _make("install", "AS_DBLINK=1", f"DESTDIR={tmp_path}")
    extension = _extension_dir(tmp_path)
    control = (extension / "dblink.control").read_text()
    assert control.startswith("# installed by dblink_py")
    assert f"default_version = '{VERSION}'" in control
    assert "CREATE EXTENSION dblink\"" in (extension / f"dblink--{VERSION}.sql").read_text()
    _make("uninstall", f"DESTDIR={tmp_path}")
    assert _installed_files(tmp_path) == []


def test_make_install_as_dblink_refuses_to_replace_another_dblink(tmp_path):
    extension = _extension_dir(tmp_path)
    extension.mkdir(parents=True)
    (extension / "dblink.control").write_text("comment = 'the C one'\n")
    proc = subprocess.run(["make", "-s", "-C", str(REPO), "install", "AS_DBLINK=1", f"DESTDIR={tmp_path}"],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "exists and is not dblink_py's" in proc.stderr
    assert (extension / "dblink.control").read_text() == "comment = 'the C one'\n"
    assert not (extension / "dblink_py.control").exists()


def test_make_uninstall_leaves_another_dblink_alone(tmp_path):
    _make("install", f"DESTDIR={tmp_path}")
    extension = _extension_dir(tmp_path)
    (extension / "dblink.control").write_text("comment = 'the C one'\n")
    (extension / f"dblink--{VERSION}.sql").write_text("-- the C one\n")
    _make("uninstall", f"DESTDIR={tmp_path}")
    assert sorted(p.name for p in _installed_files(tmp_path)) == ["dblink--" + VERSION + ".sql", "dblink.control"]


def test_install_writes_only_the_extension_dir_and_its_own_python_dirs(tmp_path):
    _make("install", f"DESTDIR={tmp_path}")
    extension = Path(_pg_config("--sharedir")) / "extension"
    pkglibdir = Path(_pg_config("--pkglibdir"))

    def allowed(path: Path) -> bool:
        if path.is_relative_to(extension):
            return True
        return path.is_relative_to(pkglibdir) and path.relative_to(pkglibdir).parts[0].startswith("dblink_py")

    assert [p for p in _installed_files(tmp_path) if not allowed(Path("/", p.relative_to(tmp_path)))] == []


def _python_dir(root: Path) -> Path:
    return root / Path(_pg_config("--pkglibdir")).relative_to("/") / "dblink_py"


def test_install_switches_a_link_to_a_complete_new_directory(tmp_path):
    _make("install", f"DESTDIR={tmp_path}")
    link = _python_dir(tmp_path)
    first = link.resolve()
    assert link.is_symlink() and (first / "dblink_py" / "__init__.py").is_file()
    _make("install", f"DESTDIR={tmp_path}")
    second = link.resolve()
    assert second != first and (second / "psycopg_c").is_dir()
    assert first.is_dir()  # kept for backends that started before the switch
    _make("install", f"DESTDIR={tmp_path}")
    assert not first.exists()  # older versions go
    assert sorted(p.name for p in link.parent.glob("dblink_py-*")) == sorted([second.name, link.resolve().name])
    _make("uninstall", f"DESTDIR={tmp_path}")
    assert list(link.parent.glob("dblink_py*")) == []


def test_psycopg_is_compiled_against_the_servers_libpq_and_bundles_nothing(tmp_path):
    _make("install", f"DESTDIR={tmp_path}")
    home = _python_dir(tmp_path).resolve()
    assert not list(home.glob("psycopg_binary*"))
    libdir = Path(_pg_config("--libdir")).resolve()
    shared = list(home.rglob("*.so"))
    assert shared
    for library in shared:
        lines = subprocess.run(["ldd", str(library)], check=True, capture_output=True, text=True).stdout.splitlines()
        resolved = {line.split()[0]: line.split("=>")[1].split()[0] for line in lines if "=>" in line}
        assert all(not path.startswith(str(home)) for path in resolved.values()), library
        if "libpq.so.5" in resolved:
            assert Path(resolved["libpq.so.5"]).resolve().parent == libdir, library
        for name in ("libssl.so.3", "libcrypto.so.3"):
            if name in resolved:
                assert not resolved[name].startswith(str(tmp_path)), library


@pytest.mark.not_in_docker("renames the server's installed files from the test process, which does not see the container's")
def test_missing_dependency_is_named_with_how_to_install_it(local_admin, local_connect, dblink_py_created):
    pkglibdir = scalar(local_admin, "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")
    psycopg_dir = (Path(pkglibdir) / "dblink_py").resolve() / "psycopg_c"
    hidden = psycopg_dir.with_name("psycopg_c.hidden")
    psycopg_dir.rename(hidden)
    try:
        fresh = local_connect()
        with pytest.raises(psycopg.Error) as info:
            scalar(fresh, "SELECT dblink_connect('x')")
    finally:
        hidden.rename(psycopg_dir)
    assert error_text(info.value).startswith("dblink_py cannot load psycopg's C implementation")
    assert "make install" in info.value.diag.message_hint
    assert info.value.sqlstate == "58P01"
