"""dblink_py's Python dependencies are its own: other PL/Python code sees none of them, and
a live server keeps working while dblink_py is installed over itself."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest

from helpers import rows, scalar

REPO = Path(__file__).resolve().parent.parent

PROBE = """
CREATE OR REPLACE FUNCTION pg_temp.python_state() RETURNS text LANGUAGE plpython3u AS $$
import sys, json
found = {}
for name in ("psycopg", "psycopg_c", "typing_extensions"):
    try:
        module = __import__(name)
        found[name] = getattr(module, "__file__", None) or "?"
    except ImportError:
        found[name] = None
return json.dumps({"path": sys.path, "modules": sorted(m for m in sys.modules if m.partition(".")[0] in
                   ("psycopg", "psycopg_c", "typing_extensions")), "imports": found})
$$
"""


def _state(conn):
    import json

    conn.execute(PROBE)
    return json.loads(scalar(conn, "SELECT pg_temp.python_state()"))


def test_other_plpython_code_sees_none_of_dblink_pys_packages(db, remote_dsn, local_connect):
    untouched = _state(local_connect())
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)", [remote_dsn]) == [(1,)]
    after = _state(db)
    assert after["path"] == untouched["path"]
    assert after["imports"] == untouched["imports"]


@pytest.fixture
def users_site():
    """A directory the server's OS user can read, for a package of "the user's" own."""
    site = Path(tempfile.mkdtemp(prefix="dblink_py-users-site-", dir="/tmp"))
    site.chmod(0o755)
    yield site
    shutil.rmtree(site, ignore_errors=True)


@pytest.mark.not_in_docker("writes a Python package where the local server can read it")
def test_dblink_py_works_beside_a_psycopg_the_session_imported_first(db, remote_dsn, users_site):
    fake = users_site / "psycopg"
    fake.mkdir()
    fake.chmod(0o755)
    (fake / "__init__.py").write_text("WHO = 'the user'\n")
    (fake / "__init__.py").chmod(0o644)
    db.execute(
        "CREATE OR REPLACE FUNCTION pg_temp.users_psycopg() RETURNS text LANGUAGE plpython3u AS $$\n"
        f"import sys\nsys.path.insert(0, {str(fake.parent)!r})\nimport psycopg\nreturn psycopg.WHO\n$$")
    assert scalar(db, "SELECT pg_temp.users_psycopg()") == "the user"
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT 2') AS t(a int)", [remote_dsn]) == [(2,)]
    assert scalar(db, "SELECT pg_temp.users_psycopg()") == "the user"
    db.execute("CREATE OR REPLACE FUNCTION pg_temp.still() RETURNS text LANGUAGE plpython3u AS"
               " $$ import sys; return sys.modules['psycopg'].WHO $$")
    assert scalar(db, "SELECT pg_temp.still()") == "the user"


def test_the_python_api_is_importable_after_dblink_py_load(db, remote_dsn):
    db.execute(
        "CREATE OR REPLACE FUNCTION pg_temp.api() RETURNS text LANGUAGE plpython3u AS $$\n"
        "plpy.execute('SELECT dblink_py_load()')\nimport dblink_py\n"
        f"return dblink_py.query({remote_dsn!r}, 'SELECT 40 + 2')[0][0]\n$$")
    assert scalar(db, "SELECT pg_temp.api()") == "42"


@pytest.mark.not_in_docker("installs into the local provider's private copy of the installation")
def test_backends_starting_during_make_install_all_work(local_server, local_connect, remote_dsn, dblink_py_created):
    failures: list[str] = []
    calls = [0]
    stop = threading.Event()

    def first_calls() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(local_server.dsn(via_socket=True), autocommit=True) as conn:
                    conn.execute("SELECT dblink_connect('c', %s)", [remote_dsn])
                    conn.execute("SELECT * FROM dblink('c', 'SELECT 1') AS t(a int)")
                calls[0] += 1
            except psycopg.Error as exc:
                failures.append(str(exc))

    workers = [threading.Thread(target=first_calls) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        for _ in range(2):
            subprocess.run(["make", "-s", "-C", str(REPO), "install", f"DESTDIR={local_server.install.root}"],
                           check=True, capture_output=True)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert calls[0] > 10
    assert failures == []
