"""Tests of the test harness itself: the two servers and the fixtures."""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from servers import LOCAL_DB, REMOTE_DB, SERVER_OS_USER, SUPERUSER, Server, Servers


def scalar(conn: psycopg.Connection[Any], query: str, params: list[Any] | None = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def test_local_server_has_plpython3u(local_connect: Callable[..., psycopg.Connection[Any]]) -> None:
    conn = local_connect(dbname="postgres")
    assert scalar(conn, "SELECT count(*) FROM pg_available_extensions WHERE name = 'plpython3u'") == 1
    conn.execute("BEGIN")
    conn.execute("CREATE EXTENSION plpython3u")
    conn.execute("CREATE FUNCTION pg_temp.py_add(a int, b int) RETURNS int LANGUAGE plpython3u AS 'return a + b'")
    assert scalar(conn, "SELECT pg_temp.py_add(2, 3)") == 5
    conn.execute("ROLLBACK")


def test_local_database_is_utf8(local_connect: Callable[..., psycopg.Connection[Any]]) -> None:
    conn = local_connect()
    assert scalar(conn, "SELECT current_database()") == LOCAL_DB
    assert scalar(conn, "SHOW server_encoding") == "UTF8"


@pytest.mark.not_in_docker("the containers run the image's own installation under /usr, not a private copy")
def test_servers_run_from_the_private_copy(servers: Servers) -> None:
    for server in servers:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            sharedir = scalar(conn, "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")
            assert not sharedir.startswith("/usr/"), sharedir


def test_remote_accepts_the_right_password_over_tcp(remote_server: Server) -> None:
    assert remote_server.host == "127.0.0.1"
    with psycopg.connect(remote_server.dsn()) as conn:
        assert scalar(conn, "SELECT current_database()") == REMOTE_DB
        assert scalar(conn, "SELECT current_user") == SUPERUSER
        assert scalar(conn, "SELECT host(inet_client_addr())") == "127.0.0.1"
        assert scalar(conn, "SHOW password_encryption") == "scram-sha-256"
        assert scalar(conn, "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = current_user") == "SCRAM-SHA-256$"


def test_remote_refuses_a_wrong_password(remote_server: Server) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(remote_server.dsn(password="wrong"))


def test_remote_refuses_no_password(remote_server: Server) -> None:
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(remote_server.dsn(password=""))


def test_remote_dsn_names_remote_db_with_a_password(remote_dsn: str, remote_admin: psycopg.Connection[Any]) -> None:
    params = psycopg.conninfo.conninfo_to_dict(remote_dsn)
    assert params["host"] == "127.0.0.1" and params["dbname"] == REMOTE_DB and params["password"]
    assert scalar(remote_admin, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is True


def test_servers_run_as_the_postgres_os_user_when_root(servers: Servers) -> None:
    expected = pwd.getpwnam(SERVER_OS_USER).pw_uid if os.geteuid() == 0 else os.geteuid()
    for server in servers:
        assert server.data_dir is not None
        pid = int((Path(server.data_dir) / "postmaster.pid").read_text().split()[0])
        assert os.stat(f"/proc/{pid}").st_uid == expected
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            backend = scalar(conn, "SELECT pg_backend_pid()")
            assert os.stat(f"/proc/{backend}").st_uid == expected


def test_notices_are_kept_after_the_statement(local_connect: Callable[..., Any]) -> None:
    conn = local_connect()
    conn.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 1 USING ERRCODE = '01000', DETAIL = 'd'; END $$")
    conn.execute("SELECT 1")
    assert [(n.severity, n.sqlstate, n.message_primary, n.message_detail) for n in conn.notices] == [
        ("NOTICE", "01000", "hello 1", "d")
    ]


def test_db_is_a_new_backend_per_test_first(db: Any, request: pytest.FixtureRequest) -> None:
    request.config.stash[_pid_key] = scalar(db, "SELECT pg_backend_pid()")
    assert db.autocommit and db.notices == []


def test_db_is_a_new_backend_per_test_second(db: Any, request: pytest.FixtureRequest) -> None:
    first = request.config.stash.get(_pid_key, None)
    assert scalar(db, "SELECT pg_backend_pid()") != first
    assert scalar(db, "SELECT count(*) FROM pg_extension WHERE extname = 'dblink_py'") == 1


_pid_key = pytest.StashKey[int]()


def test_make_local_role_is_dropped_after_the_test(
    make_local_role: Callable[..., str], local_connect: Callable[..., Any]
) -> None:
    name = make_local_role("harness_role")
    conn = local_connect(user=name)
    assert scalar(conn, "SELECT current_user") == name
    assert scalar(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False


def test_make_local_role_left_nothing(local_connect: Callable[..., Any]) -> None:
    assert scalar(local_connect(), "SELECT count(*) FROM pg_roles WHERE rolname = 'harness_role'") == 0


def test_hba_lines_go_ahead_of_the_defaults(
    remote_server: Server, make_remote_role: Callable[..., str], hba: Callable[..., None]
) -> None:
    name = make_remote_role("harness_trusted")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(remote_server.dsn(user=name))
    hba(remote_server, f"host all {name} 127.0.0.1/32 trust")
    with psycopg.connect(remote_server.dsn(user=name)) as conn:
        assert scalar(conn, "SELECT current_user") == name


def test_hba_is_reset_after_the_test(remote_server: Server) -> None:
    assert remote_server.data_dir is not None
    lines = (Path(remote_server.data_dir) / "pg_hba.conf").read_text().splitlines()
    assert lines == [f"local all {SUPERUSER} trust", "host all all 127.0.0.1/32 scram-sha-256"]


def test_local_server_libpq_defaults_reach_itself(local_server: Server, local_connect: Callable[..., Any]) -> None:
    """Inside the local server PGHOST/PGPORT name the server itself, as pg_regress arranges."""
    conn = local_connect(dbname="postgres")
    conn.execute("BEGIN")
    conn.execute("CREATE EXTENSION plpython3u")
    conn.execute(
        "CREATE FUNCTION pg_temp.env(k text) RETURNS text LANGUAGE plpython3u AS "
        "'import os; return os.environ.get(k)'"
    )
    assert scalar(conn, "SELECT pg_temp.env('PGHOST')") == local_server.socket_dir
    assert scalar(conn, "SELECT pg_temp.env('PGPORT')") == str(local_server.port)
    conn.execute("ROLLBACK")


def test_restart_keeps_port_and_settings(remote_server: Server, remote_admin: Any) -> None:
    port = remote_server.port
    before = scalar(remote_admin, "SELECT pg_backend_pid()")
    remote_server.restart()
    assert remote_server.port == port
    with psycopg.connect(remote_server.dsn()) as conn:
        assert scalar(conn, "SHOW password_encryption") == "scram-sha-256"
    # the shared admin connection reconnects by itself
    assert scalar(remote_admin, "SELECT pg_backend_pid()") != before


def test_admin_connection_survives_its_backend_being_terminated(local_admin: Any, local_connect: Any) -> None:
    pid = scalar(local_admin, "SELECT pg_backend_pid()")
    assert scalar(local_connect(), "SELECT pg_terminate_backend(%s, 5000)", [pid]) is True
    assert scalar(local_admin, "SELECT pg_backend_pid()") != pid
