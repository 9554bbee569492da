"""Resources and load: nothing leaks over thousands of calls, and concurrent sessions all succeed."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from helpers import remote_pids

pytestmark = pytest.mark.slow

CYCLES = 10_000


def backend_usage(pid: int) -> tuple[int, int]:
    """(resident memory in kB, number of open sockets and pipes) of a local backend.

    Relation files are left out: PostgreSQL keeps a bounded cache of them
    open (max_files_per_process), which grows as catalogs are touched.
    """
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    fd_dir = Path(f"/proc/{pid}/fd")
    links = []
    for fd in fd_dir.iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            continue
    return rss, sum(1 for link in links if not link.startswith("/"))



def assert_no_leak(db, remote_admin, application_name: str, statements: str, what: str) -> None:
    """Run `statements` (PL/pgSQL, using DSN) CYCLES times in one session; the
    backend's memory and sockets end where they started, and no remote
    backend is left over."""
    pid = db.info.backend_pid
    loop = "DO $$ BEGIN FOR i IN 1..{n} LOOP " + statements + "; END LOOP; END $$"
    db.execute(loop.format(n=200))  # warm up: imports, caches, prepared plans
    rss_before, fds_before = backend_usage(pid)
    db.execute(loop.format(n=CYCLES))
    rss_after, fds_after = backend_usage(pid)
    print(f"\n{CYCLES} {what}: RSS {rss_before} -> {rss_after} kB,"
          f" sockets and pipes {fds_before} -> {fds_after}")
    assert fds_after == fds_before
    assert rss_after - rss_before < 20 * 1024, (rss_before, rss_after)
    assert remote_pids(remote_admin, application_name, wait=True) == []


def test_connect_query_disconnect_cycles_leak_nothing(db, remote_dsn, remote_admin):
    dsn = remote_dsn + " application_name=cycles"
    statements = (f"PERFORM dblink_connect('c', '{dsn}'); PERFORM * FROM dblink('c', 'SELECT 1') AS t(a int);"
                  " PERFORM dblink_disconnect('c')")
    assert_no_leak(db, remote_admin, "cycles", statements, "connect/query/disconnect cycles")


def test_ad_hoc_calls_leak_nothing(db, remote_dsn, remote_admin):
    dsn = remote_dsn + " application_name=adhoc_cycles"
    statements = f"PERFORM * FROM dblink('{dsn}', 'SELECT 1') AS t(a int)"
    assert_no_leak(db, remote_admin, "adhoc_cycles", statements, "ad-hoc dblink() calls")


PGBENCH_SCRIPT = """\\set r random(1, 1000000)
SELECT CASE WHEN dblink_get_connections() IS NULL THEN dblink_connect('c', '{dsn}') END;
SELECT CASE WHEN a = :r THEN 1 ELSE 1/(a - a) END FROM dblink('c', 'SELECT ' || :r) AS t(a int);
SELECT CASE WHEN a = :r + 1 THEN 1 ELSE 1/(a - a) END FROM dblink('{dsn}', 'SELECT ' || :r || ' + 1') AS t(a int);
SELECT CASE WHEN n = 10 THEN 1 ELSE 1/(n - n) END FROM dblink('c', 'SELECT count(*) FROM generate_series(1, 10)') AS t(n int);
"""


def test_sixteen_concurrent_sessions_finish_without_errors(local_server, remote_dsn, tmp_path, dblink_py_created, remote_admin):
    script = tmp_path / "dblink.sql"
    script.write_text(PGBENCH_SCRIPT.format(dsn=remote_dsn + " application_name=load"))
    pgbench = Path(local_server.install.bindir) / "pgbench" if hasattr(local_server, "install") else Path("pgbench")
    result = subprocess.run(
        [str(pgbench), "-n", "-c", "16", "-j", "2", "-T", "20", "-f", str(script), local_server.dsn()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    processed = int(re.search(r"number of transactions actually processed: (\d+)", result.stdout).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    assert processed > 0
    assert failed is None or int(failed.group(1)) == 0
    print(result.stdout)
    assert remote_pids(remote_admin, "load", wait=True) == []
