"""PostgreSQL servers for the tests: the ServerProvider protocol and the local provider."""

from __future__ import annotations

import atexit
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

REPO = Path(__file__).resolve().parent.parent
SUPERUSER = "postgres"
LOCAL_DB = "dblink_py_test"
REMOTE_DB = "remote_db"
# When the suite runs as root, the servers run as this OS user.
SERVER_OS_USER = "postgres"
EXTENSION = "dblink_py"
# An extension that exists only in the private copy: if the copied server lists
# it, it reads the copy's share directory and not the system's.
PROBE_EXTENSION = "dblink_py_relocation_probe"

# libpq ignores a password file it cannot stat, silently.
NO_PASSFILE = "/dev/null/pgpass"

LOCAL_HBA = (
    "local all all trust",
    "host all all 127.0.0.1/32 trust",
)
REMOTE_HBA = (
    f"local all {SUPERUSER} trust",
    "host all all 127.0.0.1/32 scram-sha-256",
)


class Server(Protocol):
    """A running PostgreSQL server the tests can reach over 127.0.0.1."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def socket_dir(self) -> str | None: ...
    @property
    def superuser(self) -> str: ...
    @property
    def password(self) -> str | None: ...
    @property
    def data_dir(self) -> str | None: ...
    @property
    def dbname(self) -> str: ...

    def dsn(
        self,
        dbname: str | None = None,
        user: str | None = None,
        password: str | None = None,
        *,
        via_socket: bool = False,
        **params: str | int,
    ) -> str: ...

    def add_hba(self, *lines: str, first: bool = True) -> None: ...

    def reset_hba(self) -> None: ...

    def stop(self) -> None: ...

    def restart(self) -> None: ...

    def log_since(self, offset: int) -> tuple[int, str]:
        """The server log written since offset (0: all of it), and the offset to pass next time."""
        ...


class Servers(NamedTuple):
    """The pair a provider starts: dblink_py runs in local and connects to remote."""

    local: Server
    remote: Server


class ServerProvider(Protocol):
    """Starts and stops the two servers; one per test session."""

    def start(self) -> Servers: ...

    def stop(self) -> None: ...

    def extension_problem(self) -> str | None:
        """Why dblink_py cannot be created on the local server, or None if it can."""
        ...

    def more_remotes(self, count: int) -> list[Server]:
        """`count` further servers set up like remote (remote_db, scram-sha-256, a
        password of their own), started on first request and kept for the session."""
        ...


def provider_from_env() -> ServerProvider:
    """The provider DBLINK_PY_SERVERS names (default: local)."""
    kind = os.environ.get("DBLINK_PY_SERVERS", "local")
    if kind == "local":
        return LocalProvider(keep=os.environ.get("DBLINK_PY_KEEP") == "1")
    if kind == "docker":
        from docker_servers import DockerProvider  # imports testcontainers only when asked for

        return DockerProvider(keep=os.environ.get("DBLINK_PY_KEEP") == "1")
    raise RuntimeError(f"DBLINK_PY_SERVERS={kind!r}: no such server provider (known: local, docker)")


def clean_client_env() -> None:
    """Keep the caller's PGHOST, PGPASSWORD, ~/.pgpass, ... away from psql and psycopg."""
    for key in [k for k in os.environ if k.startswith("PG") and not k.startswith("PG_")]:
        del os.environ[key]
    os.environ["PGPASSFILE"] = NO_PASSFILE
    os.environ["PGCONNECT_TIMEOUT"] = "10"


def free_port() -> int:
    """A loopback TCP port that nothing listens on when asked."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def running_as_root() -> bool:
    return os.geteuid() == 0


def as_server_user(argv: Sequence[str]) -> list[str]:
    """argv, run as the server's OS user when we are root (PostgreSQL refuses root)."""
    if running_as_root():
        return ["runuser", "-u", SERVER_OS_USER, "--", *argv]
    return list(argv)


def give_to_server_user(path: Path) -> None:
    if running_as_root():
        pw = pwd.getpwnam(SERVER_OS_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def run(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command; return its output, or raise with the output in the message."""
    proc = subprocess.run(
        list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}")
    return proc.stdout


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment for server processes: no PG*/PYTHON* settings of the caller leak in."""
    env = {k: v for k, v in os.environ.items()
           if k.startswith("PG_") or not k.startswith(("PG", "PYTHON"))}
    env["PYTHONNOUSERSITE"] = "1"  # the server user's ~/.local stays out of plpython's sys.path
    env["PGPASSFILE"] = NO_PASSFILE  # nor does its ~/.pgpass reach libpq inside the server
    env.update(extra)
    return env


@dataclass
class PgInstall:
    """A private copy of the PostgreSQL installation under root, with the same absolute layout."""

    root: Path
    pg_config: str
    bindir: Path = field(init=False)
    sharedir: Path = field(init=False)
    pkglibdir: Path = field(init=False)
    system_bindir: Path = field(init=False)

    def __post_init__(self) -> None:
        out = run([self.pg_config, "--bindir", "--sharedir", "--pkglibdir"]).split()
        system = [Path(p).resolve() for p in out]
        self.system_bindir = system[0]
        self.bindir, self.sharedir, self.pkglibdir = (self.inside(p) for p in system)

    def inside(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    def copy(self) -> None:
        """Copy bindir/.., sharedir and pkglibdir (those not inside another) below root."""
        sources = [self.system_bindir.parent, *(self.outside(p) for p in (self.sharedir, self.pkglibdir))]
        for src in sorted(set(sources), key=lambda p: len(p.parts)):
            dest = self.inside(src)
            if dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src, dest, symlinks=True)
        self._write_probe_extension()

    def outside(self, path: Path) -> Path:
        return Path("/") / path.relative_to(self.root)

    def _write_probe_extension(self) -> None:
        ext = self.sharedir / "extension"
        (ext / f"{PROBE_EXTENSION}.control").write_text(
            "comment = 'exists only in the test suite private PostgreSQL copy'\n"
            "default_version = '1.0'\nrelocatable = true\n"
        )
        (ext / f"{PROBE_EXTENSION}--1.0.sql").write_text("-- nothing\n")

    def make_install(self) -> str | None:
        """`make install DESTDIR=root` of the repository; None on success, else why not."""
        proc = subprocess.run(
            ["make", "-C", str(REPO), "install", f"DESTDIR={self.root}", f"PG_CONFIG={self.pg_config}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        if proc.returncode != 0:
            return f"`make install DESTDIR={self.root}` exited {proc.returncode}:\n{proc.stdout}"
        if not (self.sharedir / "extension" / f"{EXTENSION}.control").exists():
            return f"`make install DESTDIR={self.root}` installed no {EXTENSION}.control:\n{proc.stdout}"
        return None


@dataclass
class LocalServer:
    """One cluster of the private copy, run with its pg_ctl (as the postgres OS user when root)."""

    name: str
    install: PgInstall
    dbname: str
    default_hba: tuple[str, ...]
    password: str | None = None
    # Give the server PGHOST/PGPORT of itself, so that libpq defaults used
    # inside it (dblink('dbname=x'), ...) reach it, as in pg_regress.
    libpq_defaults_to_self: bool = False
    host: str = "127.0.0.1"
    superuser: str = SUPERUSER
    port: int = 0
    settings: dict[str, str] = field(default_factory=dict)
    extra_hba: list[str] = field(default_factory=list)
    trailing_hba: list[str] = field(default_factory=list)

    @property
    def base(self) -> Path:
        return self.install.root / self.name

    @property
    def data_dir(self) -> str:
        return str(self.base / "data")

    @property
    def socket_dir(self) -> str:
        return str(self.base / "socket")

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    def dsn(
        self,
        dbname: str | None = None,
        user: str | None = None,
        password: str | None = None,
        *,
        via_socket: bool = False,
        **params: str | int,
    ) -> str:
        """libpq key=value conninfo; the superuser's password is filled in for the superuser."""
        user = user or self.superuser
        if password is None and user == self.superuser:
            password = self.password
        kw: dict[str, str | int] = {
            "host": self.socket_dir if via_socket else self.host,
            "port": self.port,
            "dbname": dbname or self.dbname,
            "user": user,
        }
        if password is not None:
            kw["password"] = password
        kw.update(params)
        return make_conninfo("", **kw)

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        """An autocommit superuser connection over the unix socket (trusted on both servers)."""
        return psycopg.connect(self.dsn(dbname, via_socket=True), autocommit=True)

    def _env(self) -> dict[str, str]:
        if self.libpq_defaults_to_self and self.port:
            return server_env({"PGHOST": self.socket_dir, "PGPORT": str(self.port)})
        return server_env({})

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self.install.bindir / "pg_ctl"), "-D", self.data_dir, "-l", str(self.log_file),
                "-w", "-t", "60", *args]
        return subprocess.run(
            as_server_user(argv), env=self._env(), cwd=self.install.root, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    def _pg_ctl_ok(self, *args: str) -> None:
        proc = self._pg_ctl(*args)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{self.name}: pg_ctl {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}"
                f"--- {self.log_file} (tail) ---\n{self.log_tail()}"
            )

    def is_running(self) -> bool:
        return Path(self.data_dir).is_dir() and self._pg_ctl("status").returncode == 0

    def log_since(self, offset: int) -> tuple[int, str]:
        try:
            with self.log_file.open("rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return offset, ""
        return offset + len(data), data.decode(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError as e:
            return f"({e})"

    def init(self) -> None:
        """initdb (UTF8, C locale, superuser postgres) and write our settings and pg_hba.conf."""
        self.base.mkdir()
        give_to_server_user(self.base)
        initdb = [
            str(self.install.bindir / "initdb"), "-D", self.data_dir, "-U", self.superuser,
            "-E", "UTF8", "--locale=C", "--auth=trust", "--no-sync",
        ]
        run(as_server_user(initdb), env=self._env(), cwd=self.base)
        Path(self.socket_dir).mkdir()
        give_to_server_user(Path(self.socket_dir))
        conf = Path(self.data_dir) / "postgresql.conf"
        with conf.open("a") as f:
            f.write("\n# test harness\ninclude 'harness.conf'\n")
        self._write_hba()

    def _write_settings(self) -> None:
        settings = {
            "port": str(self.port),
            "listen_addresses": self.host,
            "unix_socket_directories": self.socket_dir,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "log_line_prefix": "%m [%p] %q%u@%d ",
            **self.settings,
        }
        text = "".join(f"{k} = '{v}'\n" for k, v in settings.items())
        path = Path(self.data_dir) / "harness.conf"
        path.write_text(text)
        give_to_server_user(path)

    def _write_hba(self) -> None:
        lines = [*self.extra_hba, *self.default_hba, *self.trailing_hba]
        (Path(self.data_dir) / "pg_hba.conf").write_text("".join(f"{line}\n" for line in lines))

    def start(self, attempts: int = 3) -> None:
        """Start on a fresh free port (retrying if another process takes it first)."""
        for attempt in range(attempts):
            self.port = free_port()
            self._write_settings()
            try:
                self._pg_ctl_ok("start")
                return
            except RuntimeError:
                if attempt == attempts - 1:
                    raise

    def stop(self) -> None:
        """Stop (fast shutdown) if running."""
        if self.is_running():
            self._pg_ctl_ok("stop", "-m", "fast")

    def restart(self) -> None:
        """Fast shutdown and start again, same port and settings."""
        self._pg_ctl_ok("restart", "-m", "fast")

    def add_hba(self, *lines: str, first: bool = True) -> None:
        """Add pg_hba.conf lines, by default ahead of the harness's own (first match wins), and reload."""
        (self.extra_hba if first else self.trailing_hba).extend(lines)
        self._write_hba()
        self.reload()

    def reset_hba(self) -> None:
        """Back to the harness's own pg_hba.conf lines, and reload."""
        self.extra_hba.clear()
        self.trailing_hba.clear()
        self._write_hba()
        self.reload()

    def reload(self, timeout: float = 10.0) -> None:
        """Reload the configuration; return once new backends see it."""
        with self.admin() as conn:
            bad = conn.execute(
                "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL"
            ).fetchall()
            if bad:
                raise ValueError(f"{self.name}: bad pg_hba.conf lines: {bad}")
            before = conn.execute("SELECT pg_conf_load_time()").fetchone()
            conn.execute("SELECT pg_reload_conf()")
        # The postmaster reloads pg_hba.conf and pg_conf_load_time together; a
        # backend forked after that has the new time.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.admin() as conn:
                if conn.execute("SELECT pg_conf_load_time()").fetchone() != before:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: configuration not reloaded after {timeout}s")


class LocalProvider:
    """Servers from a private copy of this machine's PostgreSQL, with dblink_py installed into it."""

    def __init__(self, keep: bool = False, pg_config: str | None = None) -> None:
        self.keep = keep
        self.pg_config = pg_config or os.environ.get("PG_CONFIG") or shutil.which("pg_config") or "pg_config"
        self.root: Path | None = None
        self.servers: list[LocalServer] = []
        self._install_problem: str | None = "servers not started"
        self._watchdog: subprocess.Popen[bytes] | None = None

    def start(self) -> Servers:
        self.root = Path(tempfile.mkdtemp(prefix="dblink_py-", dir="/tmp"))
        self.root.chmod(0o755)  # the server OS user must reach the copy
        atexit.register(self.stop)
        try:
            install = PgInstall(self.root, self.pg_config)
            self._watchdog = start_watchdog(self.root, install.bindir, self.keep)
            install.copy()
            self._install_problem = install.make_install()
            local = LocalServer("local", install, LOCAL_DB, LOCAL_HBA, libpq_defaults_to_self=True)
            remote = LocalServer("remote", install, REMOTE_DB, REMOTE_HBA, password=secrets.token_urlsafe(16),
                                 settings={"password_encryption": "scram-sha-256"})
            self.servers = [local, remote]
            for server in self.servers:
                server.init()
                server.start()
            create_test_databases(local, remote)
            verify_relocation(local, install)
        except BaseException:
            self.stop()
            raise
        return Servers(local, remote)

    def extension_problem(self) -> str | None:
        return self._install_problem

    def more_remotes(self, count: int) -> list[Server]:
        assert self.servers, "start() first"
        install = self.servers[0].install
        while len(self.servers) < 2 + count:
            extra = LocalServer(f"remote{len(self.servers)}", install, REMOTE_DB, REMOTE_HBA,
                                password=secrets.token_urlsafe(16), settings={"password_encryption": "scram-sha-256"})
            self.servers.append(extra)
            extra.init()
            extra.start()
            create_remote_database(extra)
        return list(self.servers[2:2 + count])

    def stop(self) -> None:
        """Stop the servers and remove the copy (kept with DBLINK_PY_KEEP=1); safe to repeat."""
        errors = stop_each(self.servers)
        self.servers = []
        root, self.root = self.root, None
        watchdog, self._watchdog = self._watchdog, None
        end_session(root, self.keep, watchdog)
        if errors:
            raise RuntimeError("\n".join(errors))


def stop_each(things: Iterable[Any]) -> list[str]:
    """Call stop() on each of `things`, going on past failures; what failed."""
    errors = []
    for thing in things:
        try:
            thing.stop()
        except Exception as e:  # still stop the others and clean up
            errors.append(f"{type(e).__name__}: {e}")
    return errors


def end_session(root: Path | None, keep: bool, watchdog: subprocess.Popen[bytes] | None) -> None:
    """Keep (DBLINK_PY_KEEP=1) or remove a provider's directory, and let its
    watchdog go: closing its stdin tells it the session ended normally."""
    if root is not None:
        if keep:
            print(f"\nDBLINK_PY_KEEP=1: kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if watchdog is not None:
        assert watchdog.stdin is not None
        watchdog.stdin.close()
        watchdog.wait(timeout=60)


def create_test_databases(local: LocalServer, remote: LocalServer) -> None:
    """The tests' databases on a fresh pair, and the remote superuser's password."""
    with local.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(LOCAL_DB)))
    create_remote_database(remote)


def create_remote_database(remote: LocalServer) -> None:
    """remote_db and the superuser's password on a server set up like remote."""
    with remote.admin() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(remote.superuser), sql.Literal(remote.password)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(REMOTE_DB)))


def verify_relocation(local: LocalServer, install: PgInstall) -> None:
    """Fail early unless the copy runs from its own files and PL/Python works in it."""
    with local.admin() as conn:
        paths: dict[str, str] = dict(conn.execute(
            "SELECT name, setting FROM pg_config WHERE name IN ('BINDIR', 'SHAREDIR', 'PKGLIBDIR')"
        ).fetchall())
        expected = {"BINDIR": install.bindir, "SHAREDIR": install.sharedir, "PKGLIBDIR": install.pkglibdir}
        wrong = {k: v for k, v in paths.items() if Path(v).resolve() != expected[k].resolve()}
        if wrong or len(paths) != 3:
            raise RuntimeError(f"the private PostgreSQL copy is not relocated: {paths}, expected {expected}")
        probe = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = %s", [PROBE_EXTENSION]
        ).fetchone()
        if probe != (1,):
            raise RuntimeError(f"the server in {install.root} does not read its own share directory")
        conn.execute("CREATE EXTENSION plpython3u")
        conn.execute("DO $$ plpy.notice('ok') $$ LANGUAGE plpython3u")
        conn.execute("DROP EXTENSION plpython3u")


def start_watchdog(root: Path, bindir: Path, keep: bool) -> subprocess.Popen[bytes]:
    """A process that stops the servers under root once this process dies, however it dies."""
    return subprocess.Popen(
        [sys.executable, __file__, "--watchdog", str(root), str(bindir), "keep" if keep else "remove"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def watchdog(root: Path, bindir: Path, keep: bool) -> None:
    """Wait for stdin to close (our parent is gone), then stop whatever still runs under root."""
    sys.stdin.buffer.read()
    for pidfile in root.glob("*/data/postmaster.pid"):
        subprocess.run(as_server_user([str(bindir / "pg_ctl"), "-D", str(pidfile.parent), "stop", "-m", "immediate"]),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")
    if not keep:
        shutil.rmtree(root, ignore_errors=True)


def _main(argv: Iterable[str]) -> None:
    args = list(argv)
    if len(args) == 4 and args[0] == "--watchdog":
        watchdog(Path(args[1]), Path(args[2]), args[3] == "keep")
    else:
        sys.exit("usage: servers.py --watchdog ROOT BINDIR keep|remove")


if __name__ == "__main__":
    _main(sys.argv[1:])
