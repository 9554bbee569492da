"""dblink_py installed under the name dblink (make install AS_DBLINK=1), for programs that find
dblink in the catalog by name or require it in their control files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from helpers import rows, scalar

REPO = Path(__file__).resolve().parent.parent
CONSUMER = Path(__file__).resolve().parent / "consumer"

pytestmark = pytest.mark.not_in_docker("installs into the local provider's private copy of the installation")


def _make(install, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", "-C", str(REPO), *args, f"DESTDIR={install.root}",
                           f"PG_CONFIG={install.pg_config}"], capture_output=True, text=True)


@pytest.fixture
def installed_as_dblink(local_server, local_admin, local_connect, extension_files):
    """The private installation without C dblink's files and with dblink_py as dblink, and a
    new database; everything put back afterwards."""
    install = local_server.install
    extension = install.sharedir / "extension"
    hidden = install.root / "c-dblink-hidden"
    hidden.mkdir(exist_ok=True)
    c_files = [p for p in extension.iterdir() if p.name == "dblink.control" or p.name.startswith("dblink--")]
    for path in c_files:
        path.rename(hidden / path.name)
    try:
        proc = _make(install, "install", "AS_DBLINK=1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for path in CONSUMER.iterdir():
            extension_files(path.name, path.read_text())
        local_admin.execute("DROP DATABASE IF EXISTS as_dblink WITH (FORCE)")
        local_admin.execute("CREATE DATABASE as_dblink")
        yield local_connect(dbname="as_dblink")
        local_admin.execute("DROP DATABASE as_dblink WITH (FORCE)")
    finally:
        proc = _make(install, "uninstall-as-dblink")
        for path in hidden.iterdir():
            path.rename(extension / path.name)
        hidden.rmdir()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in extension.iterdir() if p.name.startswith("dblink.") or p.name.startswith("dblink--")) \
        == sorted(p.name for p in c_files)  # C dblink's files, and none of dblink_py's under that name


def test_create_extension_dblink_installs_dblink_py(installed_as_dblink):
    conn = installed_as_dblink
    conn.execute("CREATE EXTENSION dblink CASCADE")
    assert rows(conn, "SELECT DISTINCT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
                      " JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'"
                      " JOIN pg_extension e ON e.oid = d.refobjid WHERE e.extname = 'dblink'") == [("plpython3u",)]
    assert scalar(conn, "SELECT extversion FROM pg_extension WHERE extname = 'dblink'") == \
        scalar(conn, "SELECT default_version FROM pg_available_extensions WHERE name = 'dblink_py'")


def test_the_dblink_named_extension_works_from_another_schema(installed_as_dblink, remote_dsn):
    conn = installed_as_dblink
    conn.execute("CREATE SCHEMA tools")
    conn.execute("CREATE EXTENSION dblink SCHEMA tools CASCADE")
    assert scalar(conn, "SELECT tools.dblink_connect('c', %s)", [remote_dsn]) == "OK"
    assert rows(conn, "SELECT * FROM tools.dblink('c', 'SELECT 5') AS t(a int)") == [(5,)]


def test_an_extension_that_requires_dblink_logs_in_autonomous_transactions(installed_as_dblink, local_server):
    conn = installed_as_dblink
    conn.execute("CREATE SCHEMA tools")
    conn.execute("CREATE EXTENSION dblink SCHEMA tools CASCADE")
    conn.execute("CREATE EXTENSION job_log_probe")
    conn.execute("INSERT INTO job_log_probe.config VALUES (%s)", [local_server.dsn("as_dblink", via_socket=True)])
    assert scalar(conn, "SELECT job_log_probe.dblink_schema()") == "tools"
    conn.execute("SELECT job_log_probe.run_job('nightly', false)")
    with pytest.raises(psycopg.errors.RaiseException):
        conn.execute("SELECT job_log_probe.run_job('broken', true)")
    # the failed job's log survived its rollback: it was written by another transaction
    assert rows(conn, "SELECT job, step FROM job_log_probe.job_log ORDER BY id") == [
        ("nightly", "start"), ("nightly", "end"), ("broken", "start")]


def test_dropping_a_consumer_leaves_dblink_in_place(installed_as_dblink):
    conn = installed_as_dblink
    conn.execute("CREATE EXTENSION job_log_probe CASCADE")
    assert {r[0] for r in rows(conn, "SELECT extname FROM pg_extension")} >= {"dblink", "job_log_probe"}
    conn.execute("DROP EXTENSION job_log_probe")
    assert scalar(conn, "SELECT count(*) FROM pg_extension WHERE extname = 'dblink'") == 1


def test_make_install_as_dblink_refuses_where_c_dblink_is_installed(local_server):
    install = local_server.install
    control = install.sharedir / "extension" / "dblink.control"
    before = control.read_text()
    proc = _make(install, "install", "AS_DBLINK=1")
    assert proc.returncode != 0
    assert "is not dblink_py's" in proc.stderr
    assert control.read_text() == before
