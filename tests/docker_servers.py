"""The Docker server provider (DBLINK_PY_SERVERS=docker): both servers as containers.

The local server (with dblink_py) and the remote server run in two containers
of the dblink_py image (docker/Dockerfile, `make docker-image`; DBLINK_PY_IMAGE
names another tag), started with testcontainers. Everything else is as with
the local provider, so the same tests run against either:

- host networking: each server listens on its own free port of 127.0.0.1 and
  all test traffic stays on loopback;
- one host directory (/tmp/dblink_py-docker-*) is bind-mounted into both
  containers at the same path and holds each server's data directory, unix
  socket directory and log, so data_dir, socket_dir, the log and pg_hba.conf
  are the same paths for the tests as inside the containers;
- the servers are initdb'ed and run with pg_ctl through `docker exec`, by the
  image's postgres user given the uid/gid the local provider's servers run as
  (the host's postgres user when root, else the caller), and in the host's pid
  namespace, so that postmaster.pid names a process the tests can look at;
- local trusts everyone (unix socket and 127.0.0.1), remote wants a
  scram-sha-256 password over 127.0.0.1 (LocalServer's settings and pg_hba.conf
  handling, inherited).

Neither the image's entrypoint nor a registry is used: the containers run
`sleep infinity` and testcontainers' reaper (Ryuk, an image to pull) is off; a
watchdog process removes the containers if the test process dies without
doing so.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servers import (
    EXTENSION,
    LOCAL_DB,
    LOCAL_HBA,
    NO_PASSFILE,
    REMOTE_DB,
    REMOTE_HBA,
    SERVER_OS_USER,
    LocalServer,
    Servers,
    create_test_databases, create_remote_database,
    end_session,
    running_as_root,
    stop_each,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_IMAGE = "dblink_py:pg15"
# Containers of this provider carry this label (value: the test process's pid).
CONTAINER_LABEL = "org.dblink-py.test-servers"


def _context_module() -> Any:
    """docker/context.py (the image's sources and their hash), loaded by path."""
    spec = importlib.util.spec_from_file_location("dblink_py_docker_context", REPO / "docker" / "context.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def server_ids() -> tuple[int, int] | None:
    """The uid and gid the servers run as: those of the local provider's servers (None: the image's own)."""
    if running_as_root():
        try:
            pw = pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            return None
        return pw.pw_uid, pw.pw_gid
    return os.geteuid(), os.getegid()


@dataclass
class SharedDir:
    """Stands in for PgInstall where servers and tests use it: `root` is the host directory that
    is bind-mounted at the same path into the containers; `bindir` has the host's PostgreSQL
    client programs (pgbench, psql, ...) for tests that run them against the servers."""

    root: Path
    bindir: Path = field(default_factory=lambda: host_bindir())


def host_bindir() -> Path:
    """The host's `pg_config --bindir` (PG_CONFIG as for the local provider), else where pgbench is."""
    pg_config = os.environ.get("PG_CONFIG") or shutil.which("pg_config")
    if pg_config:
        proc = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode == 0 and proc.stdout.strip():
            return Path(proc.stdout.strip())
    pgbench = shutil.which("pgbench")
    return Path(pgbench).parent if pgbench else Path("/usr/bin")


@dataclass
class DockerServer(LocalServer):
    """A LocalServer whose initdb and pg_ctl run in a container, on files in the shared directory."""

    container: Any = None  # testcontainers DockerContainer
    ids: tuple[int, int] = (0, 0)  # uid, gid of the server's OS user (set by adopt_ids)

    def exec(self, argv: list[str], *, user: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
        """Run argv in the container (as the server's OS user unless user is given): (exit code, output)."""
        if self.container is None:
            return -1, f"{self.name}: no container"
        import docker.errors

        try:
            result = self.container.get_wrapped_container().exec_run(
                argv, user=user or f"{self.ids[0]}:{self.ids[1]}", environment=env or {}, workdir="/",
            )
        except docker.errors.APIError as e:  # the container is gone or stopped
            return -1, f"{self.name}: docker exec {' '.join(argv)}: {e}"
        return result.exit_code, result.output.decode(errors="replace")

    def _exec_ok(self, argv: list[str], **kwargs: Any) -> str:
        code, out = self.exec(argv, **kwargs)
        if code != 0:
            raise RuntimeError(f"{self.name}: {' '.join(argv)} exited {code} in the container:\n{out}")
        return out

    def _server_env(self) -> dict[str, str]:
        """What LocalServer's server_env() adds, for processes in the container (whose own
        environment is the image's)."""
        env = {"PYTHONNOUSERSITE": "1", "PGPASSFILE": NO_PASSFILE}
        if self.libpq_defaults_to_self and self.port:
            env.update(PGHOST=self.socket_dir, PGPORT=str(self.port))
        return env

    def _give(self, path: Path) -> None:
        os.chown(path, *self.ids)

    def init(self) -> None:
        """initdb (UTF8, C locale, superuser postgres) and write our settings and pg_hba.conf."""
        self.base.mkdir()
        self._give(self.base)
        self._exec_ok(
            ["initdb", "-D", self.data_dir, "-U", self.superuser, "-E", "UTF8", "--locale=C",
             "--auth=trust", "--no-sync"],
            env=self._server_env(),
        )
        Path(self.socket_dir).mkdir()
        self._give(Path(self.socket_dir))
        with (Path(self.data_dir) / "postgresql.conf").open("a") as f:
            f.write("\n# test harness\ninclude 'harness.conf'\n")
        self._write_hba()

    def _write_settings(self) -> None:
        super()._write_settings()
        self._give(Path(self.data_dir) / "harness.conf")

    def _write_hba(self) -> None:
        path = Path(self.data_dir) / "pg_hba.conf"
        super()._write_hba()
        self._give(path)

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = ["pg_ctl", "-D", self.data_dir, "-l", str(self.log_file), "-w", "-t", "60", *args]
        code, out = self.exec(argv, env=self._server_env())
        return subprocess.CompletedProcess(argv, code, out)


class DockerProvider:
    """The local and the remote server in two containers of the dblink_py image."""

    def __init__(self, image: str | None = None, keep: bool = False) -> None:
        self.image = image or os.environ.get("DBLINK_PY_IMAGE") or DEFAULT_IMAGE
        self.keep = keep
        self.root: Path | None = None
        self.servers: list[DockerServer] = []
        self.containers: list[Any] = []
        self._install_problem: str | None = "servers not started"
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _check_image(self) -> None:
        import docker
        import docker.errors

        hint = "`make docker-image` builds it (BASE=local where no image registry answers)"
        try:
            client = docker.from_env()
            client.ping()
        except docker.errors.DockerException as e:
            raise RuntimeError(
                f"DBLINK_PY_SERVERS=docker: no Docker engine answers ({e}); start one with "
                "scripts/docker-engine start, or run the whole thing with `make test-docker`"
            ) from e
        try:
            image = client.images.get(self.image)
        except docker.errors.ImageNotFound:
            raise RuntimeError(f"DBLINK_PY_SERVERS=docker: there is no image {self.image}; {hint}") from None
        finally:
            client.close()
        context = _context_module()
        built_from = (image.labels or {}).get(context.LABEL)
        current = context.source_hash()
        if built_from != current and os.environ.get("DBLINK_PY_DOCKER_STALE_OK") != "1":
            raise RuntimeError(
                f"DBLINK_PY_SERVERS=docker: image {self.image} was built from other sources than the working "
                f"tree's ({context.LABEL} {built_from}, working tree {current}); {hint}, or set "
                "DBLINK_PY_DOCKER_STALE_OK=1 to test the image as it is"
            )

    def _container(self, name: str) -> Any:
        from testcontainers.core.container import DockerContainer

        assert self.root is not None
        return (
            DockerContainer(
                self.image,
                name=f"dblink_py-test-{os.getpid()}-{name}",
                entrypoint=["sleep", "infinity"],
                network_mode="host",
                pid_mode="host",
                labels={CONTAINER_LABEL: str(os.getpid())},
            )
            .with_volume_mapping(str(self.root), str(self.root), "rw")
        )

    def _start_containers(self, names: list[str]) -> list[Any]:
        """Create and start one container per name, concurrently (each is a copy of the image
        with the vfs storage driver)."""
        containers = [self._container(name) for name in names]
        errors: list[BaseException] = []

        def start(c: Any) -> None:
            try:
                c.start()
            except BaseException as e:  # noqa: BLE001 - re-raised below
                errors.append(e)
            finally:
                created = c._container  # None if not even created (get_wrapped_container() raises)
                if created is not None:
                    with self._lock:
                        self.containers.append(c)
                        self._watch(created.id)

        threads = [threading.Thread(target=start, args=(c,)) for c in containers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return containers

    def _watch(self, container_id: str) -> None:
        if self._watchdog is not None and self._watchdog.stdin is not None:
            self._watchdog.stdin.write(f"{container_id}\n".encode())
            self._watchdog.stdin.flush()

    def start(self) -> Servers:
        from testcontainers.core.config import testcontainers_config

        # Ryuk, testcontainers' reaper, is an image to pull; the watchdog does its job here.
        testcontainers_config.ryuk_disabled = True
        self._check_image()
        self.root = Path(tempfile.mkdtemp(prefix="dblink_py-docker-", dir="/tmp"))
        self.root.chmod(0o755)  # the server OS user must reach it
        atexit.register(self.stop)
        try:
            self._watchdog = start_watchdog(self.root, self.keep)
            local_c, remote_c = self._start_containers(["local", "remote"])
            ids = server_ids()
            shared = SharedDir(self.root)
            local = DockerServer("local", shared, LOCAL_DB, LOCAL_HBA,  # type: ignore[arg-type]
                                 libpq_defaults_to_self=True, container=local_c)
            remote = DockerServer("remote", shared, REMOTE_DB, REMOTE_HBA,  # type: ignore[arg-type]
                                  password=secrets.token_urlsafe(16),
                                  settings={"password_encryption": "scram-sha-256"}, container=remote_c)
            self.servers = [local, remote]
            for server in self.servers:
                server.ids = adopt_ids(server, ids)
                server.init()
                server.start()
            create_test_databases(local, remote)
            self._install_problem = self._verify(local)
        except BaseException:
            self.stop()
            raise
        return Servers(local, remote)

    def _verify(self, local: DockerServer) -> str | None:
        """Fail early unless PL/Python works in the local server; return why dblink_py cannot be
        created there, or None."""
        with local.admin() as conn:
            conn.execute("CREATE EXTENSION plpython3u")
            conn.execute("DO $$ plpy.notice('ok') $$ LANGUAGE plpython3u")
            conn.execute("DROP EXTENSION plpython3u")
            found = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = %s", [EXTENSION]).fetchone()
        if found != (1,):
            return f"the image {self.image} has no {EXTENSION} extension: rebuild it with `make docker-image`"
        return None

    def extension_problem(self) -> str | None:
        return self._install_problem

    def more_remotes(self, count: int) -> list[DockerServer]:
        """Further servers set up like remote, each its own cluster and postmaster
        in the remote's container (a container per server would copy the image
        each time)."""
        assert len(self.servers) >= 2, "start() first"
        remote = self.servers[1]
        while len(self.servers) < 2 + count:
            extra = DockerServer(f"remote{len(self.servers)}", remote.install, REMOTE_DB, REMOTE_HBA,
                                 password=secrets.token_urlsafe(16),
                                 settings={"password_encryption": "scram-sha-256"}, container=remote.container)
            extra.ids = remote.ids
            self.servers.append(extra)
            extra.init()
            extra.start()
            create_remote_database(extra)
        return list(self.servers[2:2 + count])

    def stop(self) -> None:
        """Stop the servers, remove the containers and the directory (kept with DBLINK_PY_KEEP=1);
        safe to repeat."""
        errors = stop_each(self.servers)
        self.servers = []
        errors += stop_each(self.containers)  # remove, with their anonymous volumes
        self.containers = []
        root, self.root = self.root, None
        watchdog, self._watchdog = self._watchdog, None
        end_session(root, self.keep, watchdog)
        if errors:
            raise RuntimeError("\n".join(errors))


def adopt_ids(server: DockerServer, ids: tuple[int, int] | None) -> tuple[int, int]:
    """Give the container's postgres user uid/gid ids (None: keep its own); return them."""
    if ids is not None:
        uid, gid = ids
        server._exec_ok(["sh", "-euc", (
            f'[ "$(id -g {SERVER_OS_USER})" = {gid} ] || groupmod -o -g {gid} {SERVER_OS_USER}\n'
            f'[ "$(id -u {SERVER_OS_USER})" = {uid} ] || usermod -o -u {uid} -g {gid} {SERVER_OS_USER}\n'
        )], user="root")
    out = server._exec_ok(["sh", "-c", f"id -u {SERVER_OS_USER}; id -g {SERVER_OS_USER}"], user="root").split()
    return int(out[0]), int(out[1])


def start_watchdog(root: Path, keep: bool) -> subprocess.Popen[bytes]:
    """A process that removes the containers whose ids it is sent (one a line) and root, once
    its stdin closes: when this process is done with them or dies, however it dies."""
    return subprocess.Popen(
        [sys.executable, __file__, "--watchdog", str(root), "keep" if keep else "remove"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def watchdog(root: Path, keep: bool) -> None:
    ids = sys.stdin.read().split()
    if ids:
        import docker
        import docker.errors

        client = docker.from_env()
        for container_id in ids:
            try:
                client.containers.get(container_id).remove(force=True, v=True)
            except docker.errors.NotFound:
                pass  # removed already (the normal case)
    if not keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--watchdog":
        watchdog(Path(sys.argv[2]), sys.argv[3] == "keep")
    else:
        sys.exit("usage: docker_servers.py --watchdog ROOT keep|remove")
