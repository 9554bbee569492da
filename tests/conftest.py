"""Fixtures: the local and remote PostgreSQL servers and connections to them."""

from __future__ import annotations

import copy
import os
import re
import select
import time
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg import sql
from psycopg.errors import Diagnostic

from servers import EXTENSION, Server, ServerProvider, clean_client_env, Servers, free_port as _free_port, provider_from_env


class NoticeConnection(psycopg.Connection[Any]):
    """A psycopg connection that keeps every notice it receives in `notices`."""

    notices: list[Diagnostic]

    @classmethod
    def open(cls, conninfo: str, **kwargs: Any) -> NoticeConnection:
        conn = connect_when_ready(cls, conninfo, autocommit=True, **kwargs)
        conn.notices = []
        # The Diagnostic handed to the handler is valid only during the call: keep a copy.
        conn.add_notice_handler(lambda diag: conn.notices.append(copy.copy(diag)))
        return conn


# What the server answers while it restarts after a backend crashed (57P03).
NOT_READY = re.compile(r"not yet accepting connections|in recovery mode|is starting up")


C = TypeVar("C", bound=psycopg.Connection[Any])


def connect_when_ready(cls: type[C], conninfo: str, timeout: float = 30, **kwargs: Any) -> C:
    """cls.connect(conninfo), waiting while the server recovers from a crash of an earlier test."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return cls.connect(conninfo, **kwargs)
        except psycopg.OperationalError as e:
            if not NOT_READY.search(str(e)) or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def pytest_configure(config: pytest.Config) -> None:
    # The client side must not pick up a developer's PGHOST, PGPASSWORD, ~/.pgpass, ...
    clean_client_env()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # @pytest.mark.not_in_docker(reason): skipped with the docker provider only.
    if os.environ.get("DBLINK_PY_SERVERS", "local") != "docker":
        return
    for item in items:
        mark = item.get_closest_marker("not_in_docker")
        if mark is not None:
            reason = mark.args[0] if mark.args else mark.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"not with DBLINK_PY_SERVERS=docker: {reason}"))


@pytest.fixture(scope="session")
def server_provider() -> Iterator[ServerProvider]:
    """The provider DBLINK_PY_SERVERS selects (default: local)."""
    provider = provider_from_env()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def servers(server_provider: ServerProvider) -> Servers:
    """(local, remote): dblink_py runs in local and connects to remote."""
    return server_provider.start()


# A backend that dies this way takes every session of its server down with it.
CRASH = re.compile(r".*(terminated by signal|PANIC:).*")


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test during which a server process crashed (for tests that use the servers)."""
    if "servers" not in request.fixturenames:
        yield
        return
    pair: Servers = request.getfixturevalue("servers")
    offsets = [server.log_since(0)[0] for server in pair]
    yield
    crashes = []
    for server, offset in zip(pair, offsets):
        _, text = server.log_since(offset)
        crashes += [f"{server.name}: {line}" for line in CRASH.findall(text)]
    if crashes:
        pytest.fail("server process crashed during this test:\n" + "\n".join(crashes), pytrace=False)


@pytest.fixture(scope="session")
def local_server(servers: Servers) -> Server:
    return servers.local


@pytest.fixture(scope="session")
def remote_server(servers: Servers) -> Server:
    return servers.remote


@pytest.fixture(scope="session")
def remote_dsn(remote_server: Server) -> str:
    """Conninfo for remote_db as the superuser, with password, over 127.0.0.1."""
    return remote_server.dsn()


@pytest.fixture(scope="session")
def local_dsn(local_server: Server) -> str:
    """Conninfo for dblink_py_test on the local server as the superuser, over 127.0.0.1."""
    return local_server.dsn()


class AdminConnection:
    """A shared autocommit connection (used like a psycopg Connection), reopened once its server
    restarted or crashed."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn = connect_when_ready(psycopg.Connection, conninfo, autocommit=True)

    def live(self) -> psycopg.Connection[Any]:
        conn = self._conn
        # A server that ends the session leaves its last message or EOF to read.
        if conn.closed or conn.broken or select.select([conn.fileno()], [], [], 0)[0]:
            try:
                conn.execute("SELECT 1")
            except psycopg.OperationalError:
                conn.close()
                self._conn = connect_when_ready(psycopg.Connection, self._conninfo, autocommit=True)
        return self._conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self.live(), name)

    def close(self) -> None:
        self._conn.close()


@pytest.fixture(scope="session")
def remote_admin(remote_server: Server) -> Iterator[AdminConnection]:
    """An autocommit superuser connection to remote_db (shared: keep no session state in it)."""
    conn = AdminConnection(remote_server.dsn())
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def local_admin(local_server: Server) -> Iterator[AdminConnection]:
    """An autocommit superuser connection to dblink_py_test on the local server (shared: keep no session state in it)."""
    conn = AdminConnection(local_server.dsn(via_socket=True))
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def dblink_py_created(server_provider: ServerProvider, local_server: Server) -> None:
    """CREATE EXTENSION dblink_py (CASCADE) in the local test database, once."""
    problem = server_provider.extension_problem()
    if problem is not None:
        raise RuntimeError(f"the {EXTENSION} extension is not installed on the local server: {problem}")
    with connect_when_ready(psycopg.Connection, local_server.dsn(via_socket=True), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} CASCADE").format(sql.Identifier(EXTENSION)))


def _connections_to(server: Server) -> Iterator[Callable[..., NoticeConnection]]:
    """The body of local_connect and remote_connect: yields the connect
    function, then closes what it opened."""
    opened: list[NoticeConnection] = []

    def connect(user: str | None = None, dbname: str | None = None, password: str | None = None,
                **params: Any) -> NoticeConnection:
        conn = NoticeConnection.open(server.dsn(dbname, user, password, **params))
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


@pytest.fixture
def local_connect(local_server: Server) -> Iterator[Callable[..., NoticeConnection]]:
    """local_connect(user=None, dbname=None, password=None, **conninfo): a new autocommit
    connection to the local server (closed after the test)."""
    yield from _connections_to(local_server)


@pytest.fixture
def remote_connect(remote_server: Server) -> Iterator[Callable[..., NoticeConnection]]:
    """remote_connect(user=None, dbname=None, password=None, **conninfo): like local_connect, for remote."""
    yield from _connections_to(remote_server)


@pytest.fixture
def db(dblink_py_created: None, local_connect: Callable[..., NoticeConnection]) -> NoticeConnection:
    """A new backend per test: autocommit superuser connection to dblink_py_test, notices in db.notices."""
    return local_connect()


def _role_factory(server: Server) -> Iterator[Callable[..., str]]:
    made: list[str] = []

    def make(name: str, superuser: bool = False, password: str | None = None, login: bool = True) -> str:
        options: list[sql.Composable] = [sql.SQL("SUPERUSER" if superuser else "NOSUPERUSER"), sql.SQL("LOGIN" if login else "NOLOGIN")]
        if password is not None:
            options.append(sql.SQL("PASSWORD {}").format(sql.Literal(password)))
        with connect_when_ready(psycopg.Connection, server.dsn(via_socket=server.socket_dir is not None),
                                autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} {}").format(sql.Identifier(name), sql.SQL(" ").join(options)))
        made.append(name)
        return name

    yield make
    if made:
        with connect_when_ready(psycopg.Connection, server.dsn(via_socket=server.socket_dir is not None),
                                autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY(%s)", [made]
            )
            for name in reversed(made):
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture
def make_local_role(local_server: Server) -> Iterator[Callable[..., str]]:
    """make_local_role(name, superuser=False, password=None, login=True) -> name; dropped after the test
    (DROP OWNED in dblink_py_test first)."""
    yield from _role_factory(local_server)


@pytest.fixture
def make_remote_role(remote_server: Server) -> Iterator[Callable[..., str]]:
    """make_remote_role(name, superuser=False, password=None, login=True) -> name, on the remote
    server; dropped after the test (DROP OWNED in remote_db first)."""
    yield from _role_factory(remote_server)


@pytest.fixture
def hba(servers: Servers) -> Iterator[Callable[..., None]]:
    """hba(server, *lines): put pg_hba.conf lines ahead of the harness's own and reload; undone after the test."""
    changed: list[Server] = []

    def add(server: Server, *lines: str) -> None:
        server.add_hba(*lines)
        changed.append(server)

    yield add
    for server in changed:
        server.reset_hba()


@pytest.fixture
def free_port() -> int:
    """A loopback TCP port nothing listens on."""
    return _free_port()


@pytest.fixture
def extension_files(local_server: Server) -> Iterator[Callable[[str, str], Path]]:
    """extension_files(file_name, text): write a file into the extension directory of the local
    provider's private installation (removed after the test); its path."""
    install = getattr(local_server, "install", None)
    if install is None:
        pytest.fail("extension_files needs the local provider's private installation (mark the test not_in_docker)")
    written: list[Path] = []

    def write(file_name: str, text: str) -> Path:
        path = install.sharedir / "extension" / file_name
        assert not path.exists(), f"{path} exists already"
        path.write_text(text)
        written.append(path)
        return path

    yield write
    for path in written:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def remotes(servers: Servers, server_provider: ServerProvider) -> list[Server]:
    """Three servers set up like remote (remote and two more), for calls that use several."""
    return [servers.remote, *server_provider.more_remotes(2)]


@pytest.fixture
def remote_admins(remotes: list[Server]) -> Iterator[list[AdminConnection]]:
    """A superuser connection to remote_db on each of `remotes`."""
    conns = [AdminConnection(server.dsn()) for server in remotes]
    yield conns
    for conn in conns:
        conn.close()
