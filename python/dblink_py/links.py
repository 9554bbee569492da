"""Opening dblink connections: resolve the target, check, connect, register."""

from __future__ import annotations

import time
from typing import Callable

from . import backend, foreign_servers, pool, security, settings
from .names import truncate_identifier, truncation_notice
from .registry import Link, describe, session
from .remote import Remote
from .security import Resolved


def connection_name(name: str, *, warn: bool) -> str:
    """A connection name as dblink keys it: cut to 63 bytes (NOTICE if `warn`)."""
    truncated = truncate_identifier(name, backend.python_codec())
    if warn and truncated != name:
        backend.notice(truncation_notice(name, truncated), sqlstate="42622")
    return truncated


def resolve_target(target: str) -> Resolved:
    """The connection string a dblink_connect / ad-hoc argument stands for:
    a foreign server's (with the user mapping), else the text itself."""
    return resolve_target_and_server(target)[0]


def resolve_target_and_server(target: str) -> tuple[Resolved, str | None]:
    """resolve_target, and the foreign server's name if `target` is one."""
    server = connection_name(target, warn=False)
    found = foreign_servers.connection_string(server)
    if found is None:
        options = security.option_names(target)
        return Resolved(security.without_server_certificate(target, options), options), None
    return found, server


def open_remote(resolved: Resolved) -> Remote:
    """Connect with dblink's checks; the caller owns the connection."""
    security.check_before_connect(resolved)
    conninfo = resolved.conninfo
    remote = Remote.connect(
        conninfo,
        client_encoding=backend.database_encoding(),
        codec=backend.python_codec(),
        check_interrupts=backend.check_interrupts,
    )
    security.check_after_connect(remote, conninfo)
    remote.on_notice(backend.forward_remote_notice)
    return remote


def connect(name: str | None, target: str) -> None:
    """dblink_connect: open a connection and keep it under `name`."""
    read_settings()
    if name is not None:
        name = connection_name(name, warn=True)
        session.check_name_free(name)
    remote = open_remote(resolve_target(target))
    link = Link(remote, name)
    remote.notice_source = link.where
    session.store(link)


def disconnect(name: str | None) -> None:
    if name is not None:
        name = connection_name(name, warn=False)
    session.remove(name).remote.close()


def find_named(name: str) -> Link | None:
    link = session.find(connection_name(name, warn=False))
    if link is not None:
        link.last_used_at = time.time()
    return link


def read_settings() -> None:
    """The settings a call on a connection goes by, checked at its start."""
    backend.remote_notices = bool(settings.value("dblink_py.remote_notices"))


def get(name: str | None) -> Link:
    """An open connection: the named one, or the unnamed one for None."""
    read_settings()
    if name is not None:
        name = connection_name(name, warn=False)
    link = session.get(name)
    link.last_used_at = time.time()
    return link


class target:
    """The remote a dblink()/dblink_exec() argument names, and how errors call
    it, as a context manager: `with target(arg) as (remote, where)`.

    None is the unnamed connection; an open named connection is used as it
    is; anything else (foreign server, connection string) is connected for
    this call only, with every check, and closed afterwards, also on error.
    (A class, not a generator: this runs on every call.)
    """

    __slots__ = ("_argument", "_release")

    def __init__(self, name_or_target: str | None) -> None:
        self._argument = name_or_target
        self._release: Callable[[], None] | None = None

    def __enter__(self) -> tuple[Remote, str]:
        argument = self._argument
        read_settings()
        link = get(None) if argument is None else find_named(argument)
        if link is not None:
            return link.remote, link.where
        assert argument is not None
        resolved = resolve_target(argument)
        reuse, idle_timeout = pool.settings()
        pool.close_expired(idle_timeout)
        if not reuse:
            remote = open_remote(resolved)
            self._release = remote.close
            return remote, describe(None)
        key = (resolved.conninfo, backend.current_user())
        security.check_before_connect(resolved)
        kept = pool.take(key)
        if kept is not None:
            try:
                security.check_after_connect(kept, resolved.conninfo)
            except BaseException:
                kept.close()
                raise
        remote = kept or open_remote(resolved)
        self._release = lambda: pool.give_back(key, remote)
        return remote, describe(None)

    def __exit__(self, *exc_info: object) -> None:
        if self._release is not None:
            self._release()
