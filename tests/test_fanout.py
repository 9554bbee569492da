"""dblink_fanout and dblink_fanout_exec: one query on several servers at once, as one result."""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg
import pytest

from faultproxy import BLACKHOLE, SILENT, FaultProxy
from helpers import error_text, remote_pids, rows, scalar

SHARDS = ("s1", "s2", "s3")


@pytest.fixture
def shards(db, remotes, remote_admins):
    """Named connections s1, s2, s3 to three servers, each holding a table of its own rows."""
    for number, admin in enumerate(remote_admins, start=1):
        admin.execute("DROP TABLE IF EXISTS shard_rows")
        admin.execute(f"CREATE TABLE shard_rows AS SELECT g AS id, 's{number}-' || g AS label"
                      f" FROM generate_series(1, {number * 100}) g")
    for name, server in zip(SHARDS, remotes):
        db.execute("SELECT dblink_connect(%s, %s)", [name, server.dsn(application_name=f"fanout_{name}")])
    yield db
    for admin in remote_admins:
        admin.execute("DROP TABLE IF EXISTS shard_rows")


def _fanout(conn, sql: str, columns: str, *, targets=SHARDS, fail_on_error: bool = True):
    return rows(conn, f"SELECT * FROM dblink_fanout(%s, %s, %s) AS t(conn text, {columns})",
                [list(targets), sql, fail_on_error])


def test_each_server_s_rows_come_labelled_with_its_connection(shards):
    found = _fanout(shards, "SELECT count(*) FROM shard_rows", "n bigint")
    assert sorted(found) == [("s1", 100), ("s2", 200), ("s3", 300)]


def test_each_server_s_rows_keep_their_order(shards):
    found = _fanout(shards, "SELECT id FROM shard_rows ORDER BY id", "id int")
    for shard in SHARDS:
        ids = [i for conn, i in found if conn == shard]
        assert ids == sorted(ids) and len(ids) == 100 * (SHARDS.index(shard) + 1)


def test_values_convert_as_in_dblink(shards):
    sql = ("SELECT '{1,2}'::int[], '2024-02-29 13:14:15+00'::timestamptz, '1 day 02:03:04'::interval,"
           " 'x\"y'::text, NULL::int, '(1,2)'::point")
    columns = "a int[], b timestamptz, c interval, d text, e int, f point"
    single = rows(shards, f"SELECT * FROM dblink('s1', %s) AS t({columns})", [sql])
    found = _fanout(shards, sql, columns)
    assert [row[1:] for row in found] == single * 3


def test_foreign_servers_and_connection_strings_are_members_too(shards, remotes):
    server = remotes[1]
    shards.execute("CREATE SERVER IF NOT EXISTS fan_fs FOREIGN DATA WRAPPER dblink_fdw OPTIONS"
                   f" (host '127.0.0.1', port '{server.port}', dbname '{server.dbname}')")
    shards.execute("CREATE USER MAPPING IF NOT EXISTS FOR CURRENT_USER SERVER fan_fs OPTIONS"
                   f" (user '{server.superuser}', password '{server.password}')")
    try:
        adhoc = remotes[2].dsn()
        found = _fanout(shards, "SELECT count(*) FROM shard_rows", "n bigint", targets=("s1", "fan_fs", adhoc))
        labels = [conn for conn, _ in found]
        assert sorted(n for _, n in found) == [100, 200, 300]
        assert "s1" in labels and "fan_fs" in labels
        (label,) = [conn for conn in labels if conn not in ("s1", "fan_fs")]
        assert f"port={remotes[2].port}" in label and remotes[2].password not in label and "password" not in label
    finally:
        shards.execute("DROP SERVER fan_fs CASCADE")


def test_ad_hoc_connections_are_closed_at_the_end(shards, remotes, remote_admins):
    adhoc = [server.dsn(application_name="fanout_adhoc") for server in remotes]
    _fanout(shards, "SELECT 1", "a int", targets=adhoc)
    assert all(remote_pids(admin, "fanout_adhoc", wait=True) == [] for admin in remote_admins)
    assert scalar(shards, "SELECT dblink_get_connections()") is not None  # the named ones stay


def test_all_queries_run_at_the_same_time(shards, remote_admins, local_connect):
    """While the fan-out runs, every server is running its query at once."""
    seen_together = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not seen_together.is_set():
            if all(remote_pids(admin, f"fanout_{name}") and scalar(
                    admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                    " AND state = 'active'", [f"fanout_{name}"]) for admin, name in zip(remote_admins, SHARDS)):
                seen_together.set()
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    _fanout(shards, "SELECT pg_sleep(2)::text", "s text")
    watcher.join()
    assert seen_together.is_set()


def test_a_failing_server_s_error_names_it_and_cancels_the_others(shards, remote_admins):
    sql = "SELECT CASE WHEN current_setting('port')::int = %d THEN 1/(random()*0)::int ELSE length(pg_sleep(30)::text) END"
    failing_port = scalar(remote_admins[1], "SELECT current_setting('port')::int")
    with pytest.raises(psycopg.Error) as info:
        _fanout(shards, sql % failing_port, "a int")
    assert info.value.sqlstate == "22012"
    assert 'while executing query on dblink connection named "s2"' in info.value.diag.context
    for admin, name in zip(remote_admins, SHARDS):
        assert scalar(admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                             " AND state = 'active'", [f"fanout_{name}"]) == 0
    assert sorted(_fanout(shards, "SELECT 1", "a int")) == [("s1", 1), ("s2", 1), ("s3", 1)]


def test_without_fail_on_error_a_failing_server_is_a_notice_and_the_others_rows_come(shards, remote_admins):
    failing_port = scalar(remote_admins[0], "SELECT current_setting('port')::int")
    sql = f"SELECT CASE WHEN current_setting('port')::int = {failing_port} THEN 1/(random()*0)::int ELSE 7 END"
    found = _fanout(shards, sql, "a int", fail_on_error=False)
    assert sorted(found) == [("s2", 7), ("s3", 7)]
    (notice,) = shards.notices
    assert notice.sqlstate == "22012" and notice.message_primary == "division by zero"
    assert 'dblink connection named "s1"' in notice.message_detail


def test_statement_timeout_stops_it_and_cancels_every_remote_query(shards, remote_admins):
    shards.execute("SET statement_timeout = '1s'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        _fanout(shards, "SELECT pg_sleep(30)::text", "s text")
    shards.execute("RESET statement_timeout")
    for admin, name in zip(remote_admins, SHARDS):
        assert scalar(admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                             " AND state = 'active'", [f"fanout_{name}"]) == 0
    assert len(_fanout(shards, "SELECT 1", "a int")) == 3


def test_a_server_that_never_answers_is_stopped_by_statement_timeout(shards, remotes):
    proxy = FaultProxy(remotes[2].port)
    try:
        stuck = f"{proxy.dsn_params()} dbname={remotes[2].dbname} user={remotes[2].superuser}" \
                f" password={remotes[2].password}"
        shards.execute("SELECT dblink_connect('stuck', %s)", [stuck])
        proxy.mode = BLACKHOLE
        shards.execute("SET statement_timeout = '1s'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            _fanout(shards, "SELECT 1", "a int", targets=("s1", "s2", "stuck"))
        shards.execute("RESET statement_timeout")
        assert sorted(_fanout(shards, "SELECT 1", "a int", targets=("s1", "s2"))) == [("s1", 1), ("s2", 1)]
    finally:
        proxy.close()


def test_a_server_that_never_answers_the_connection_is_a_notice_after_connect_timeout(shards, remotes):
    proxy = FaultProxy(remotes[2].port)
    proxy.mode = SILENT
    try:
        silent = f"{proxy.dsn_params()} dbname=x user=y password=z connect_timeout=2"
        found = _fanout(shards, "SELECT 1", "a int", targets=("s1", silent), fail_on_error=False)
        assert found == [("s1", 1)]
        (notice,) = shards.notices
        assert notice.message_primary == "could not establish connection"
        assert "timeout expired" in notice.message_detail and f"port={proxy.port}" in notice.message_detail
    finally:
        proxy.close()


@pytest.mark.not_in_docker("stops one of the servers, which the Docker provider shares with the others")
@contextlib.contextmanager
def _stopped_after(server, seconds: float):
    """Stop `server` (immediate shutdown) `seconds` into the block; start it again after."""
    killer = threading.Timer(seconds, server._pg_ctl_ok, ["stop", "-m", "immediate"])
    killer.start()
    try:
        yield
    finally:
        killer.join()
        server._pg_ctl_ok("start")  # on the same port


def test_a_server_killed_mid_stream_is_an_error_that_names_it(shards, remotes):
    with _stopped_after(remotes[2], 1), pytest.raises(psycopg.Error) as info:
        _fanout(shards, "SELECT g, pg_sleep(0.01)::text FROM generate_series(1, 400) g", "g int, s text")
    assert info.value.sqlstate == "08006"
    assert 'dblink connection named "s3"' in info.value.diag.context


@pytest.mark.not_in_docker("stops one of the servers, which the Docker provider shares with the others")
def test_without_fail_on_error_a_server_killed_mid_stream_leaves_the_others_rows(shards, remotes):
    with _stopped_after(remotes[2], 1):
        found = _fanout(shards, "SELECT g, pg_sleep(0.005)::text FROM generate_series(1, 400) g", "g int, s text",
                        fail_on_error=False)
    assert [g for conn, g, _ in found if conn == "s1"] == list(range(1, 401))
    assert [g for conn, g, _ in found if conn == "s2"] == list(range(1, 401))
    assert any(n.sqlstate == "08006" and 'named "s3"' in (n.message_detail or "") for n in shards.notices)


def test_a_null_element_is_an_error(shards):
    with pytest.raises(psycopg.Error) as info:
        _fanout(shards, "SELECT 1", "a int", targets=("s1", None))
    assert info.value.sqlstate == "22004"
    assert error_text(info.value) == "element 2 of the connection array is NULL"


def test_a_connection_listed_twice_is_an_error(shards):
    with pytest.raises(psycopg.Error) as info:
        _fanout(shards, "SELECT 1", "a int", targets=("s1", "s1"))
    assert info.value.sqlstate == "42710"


def test_servers_with_different_datestyles_are_refused(shards):
    shards.execute("SELECT dblink_exec('s2', 'SET datestyle = German, DMY')")
    with pytest.raises(psycopg.Error) as info:
        _fanout(shards, "SELECT now()::date::text", "d date")
    assert info.value.sqlstate == "0A000"
    assert "DateStyle" in error_text(info.value)


def test_an_empty_array_gives_no_rows(shards):
    assert _fanout(shards, "SELECT 1", "a int", targets=()) == []


def test_a_label_with_quotes_and_commas_arrives_whole(shards, remotes):
    name = 'odd "name", with \\ comma'
    shards.execute("SELECT dblink_connect(%s, %s)", [name, remotes[0].dsn()])
    assert _fanout(shards, "SELECT 1", "a int", targets=(name,)) == [(name, 1)]


def test_non_superusers_need_a_password_for_each_member(shards, remotes, make_local_role, local_connect):
    role = make_local_role("fanout_user", password="pw")
    user = local_connect(user=role, password="pw")
    no_password = f"host=127.0.0.1 port={remotes[0].port} dbname={remotes[0].dbname} user={remotes[0].superuser}"
    with pytest.raises(psycopg.Error) as info:
        rows(user, "SELECT * FROM dblink_fanout(%s, 'SELECT 1') AS t(c text, a int)", [[remotes[1].dsn(), no_password]])
    assert info.value.sqlstate == "2F003"


def test_fanout_exec_gives_each_connection_s_status_in_the_array_s_order(shards):
    found = rows(shards, "SELECT * FROM dblink_fanout_exec(ARRAY['s3','s1','s2'], 'CREATE TEMP TABLE fx (a int)')")
    assert found == [("s3", "CREATE TABLE"), ("s1", "CREATE TABLE"), ("s2", "CREATE TABLE")]


def test_fanout_exec_without_fail_on_error_reports_error_for_a_failing_server(shards):
    shards.execute("SELECT dblink_exec('s2', 'CREATE TEMP TABLE only_here (a int)')")
    found = rows(shards, "SELECT * FROM dblink_fanout_exec(ARRAY['s1','s2'], 'INSERT INTO only_here VALUES (1)', false)")
    assert found == [("s1", "ERROR"), ("s2", "INSERT 0 1")]
    assert [n.sqlstate for n in shards.notices] == ["42P01"]


def test_fanout_exec_refuses_a_statement_that_returns_rows(shards):
    with pytest.raises(psycopg.Error) as info:
        rows(shards, "SELECT * FROM dblink_fanout_exec(ARRAY['s1','s2'], 'SELECT 1')")
    assert info.value.sqlstate == "2F003"
    assert "while executing command on" in info.value.diag.context
