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


def peak_after(db, statement: str, params=None) -> tuple[int, int]:
    """(VmHWM before, VmHWM after) of the backend around one statement, in kB."""
    def hwm() -> int:
        status = Path(f"/proc/{db.info.backend_pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    before = hwm()
    db.execute(statement, params)
    return before, hwm()


@pytest.mark.parametrize("fail_on_error", [True, False])
def test_a_large_result_keeps_memory_flat_with_and_without_fail_on_error(db, remote_dsn, fail_on_error):
    db.execute("SELECT dblink_connect('big', %s)", [remote_dsn])
    rows_sql = "SELECT g, md5(g::text), ARRAY[g::text, 'x', 'y'] FROM generate_series(1, {n}) g"
    statement = "SELECT count(*) FROM dblink('big', %s, %s) AS t(a int, b text, c text[])"
    db.execute(statement, [rows_sql.format(n=20_000), fail_on_error])  # warm up
    before, after = peak_after(db, statement, [rows_sql.format(n=300_000), fail_on_error])
    print(f"\nfail_on_error={fail_on_error}: peak RSS {before} -> {after} kB")
    assert after - before < 30 * 1024


def test_builder_calls_with_many_key_lists_keep_no_plans(db):
    columns = ", ".join(f"c{i} int" for i in range(100))
    db.execute(f"CREATE TEMP TABLE wide (k int, {columns})")
    db.execute("INSERT INTO wide SELECT 1" + ", 1" * 100)
    call = "SELECT dblink_build_sql_insert('wide', %s::int2vector, %s, %s::text[], %s::text[])"

    def calls(start: int, stop: int) -> None:
        for n in range(start, stop):
            keys = [1] + [2 + (n + j) % 100 for j in range(n % 7 + 1)]
            db.execute(call, [" ".join(map(str, keys)), len(keys), ["1"] * len(keys), ["2"] * len(keys)])

    calls(0, 100)  # warm up
    rss_before, _ = backend_usage(db.info.backend_pid)
    calls(100, 1100)
    rss_after, _ = backend_usage(db.info.backend_pid)
    print(f"\n1,000 builder calls: RSS {rss_before} -> {rss_after} kB")
    assert rss_after - rss_before < 20 * 1024


def test_huge_query_texts_are_not_kept(db, remote_dsn):
    db.execute("SELECT dblink_connect('texts', %s)", [remote_dsn])
    query = "SELECT * FROM dblink('texts', %s) AS t(n int)"
    db.execute(query, ["SELECT 1; SELECT length('" + "x" * 1000 + "')"])  # warm up
    rss_before, _ = backend_usage(db.info.backend_pid)
    for i in range(15):
        db.execute(query, [f"SELECT {i}; SELECT length('" + "y" * (20 << 20) + "')"])
    rss_after, _ = backend_usage(db.info.backend_pid)
    print(f"\n15 queries of 20 MB: RSS {rss_before} -> {rss_after} kB")
    # what stays is libpq's buffers and the allocators' (C dblink keeps about
    # 97 MB here too), not the 300 MB of texts a cache of them would hold
    assert rss_after - rss_before < 120 * 1024
