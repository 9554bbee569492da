"""The SQL-facing functions: one Python function behind each SQL function."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from . import backend, foreign_servers, links, queries
from .backend import sql_function, sql_set_function
from .errors import RemoteError
from .registry import Link, describe, session
from .remote import Remote

OK = "OK"


@contextmanager
def _target(target: str | None) -> Iterator[tuple[Remote, str]]:
    """The remote a dblink()/dblink_exec() argument names, and how errors call it.

    An open named connection is used as it is; anything else is connected
    for this call only and closed afterwards, also on error.
    """
    if target is None:
        link: Link | None = links.get(None)
    else:
        link = links.find_named(target)
    if link is not None:
        yield link.remote, link.where
        return
    remote = links.open_remote(links.resolve_target(target))
    try:
        yield remote, describe(None)
    finally:
        remote.close()


def _soften(err: RemoteError) -> None:
    """fail_on_error => false: the remote error becomes a NOTICE."""
    backend.notice(err.message, detail=err.detail, hint=err.hint, sqlstate=err.sqlstate)


@sql_function
def dblink_connect(name: str | None, target: str) -> str:
    links.connect(name, target)
    return OK


@sql_function
def dblink_disconnect(name: str | None) -> str:
    links.disconnect(name)
    return OK


@sql_set_function
def dblink(target: str | None, sql: str, fail_on_error: bool = True) -> Iterator[tuple]:
    with _target(target) as (remote, name):
        try:
            yield from queries.run_rows(remote, sql, f"while executing query on {name}")
        except RemoteError as err:
            if fail_on_error:
                raise
            _soften(err)


@sql_function
def dblink_exec(target: str | None, sql: str, fail_on_error: bool = True) -> str:
    with _target(target) as (remote, name):
        try:
            return queries.run_command(remote, sql, f"while executing command on {name}")
        except RemoteError as err:
            if fail_on_error:
                raise
            _soften(err)
            return "ERROR"


@sql_function
def dblink_get_connections() -> list[str] | None:
    return session.names() or None


@sql_function
def dblink_error_message(name: str) -> str:
    message = links.get(name).remote.error_message
    return message or OK


@sql_function
def dblink_current_query() -> str | None:
    return backend.current_query()


# -- Foreign servers ---------------------------------------------------------


@sql_function
def dblink_fdw_validator(options: list[str] | None, catalog: int) -> None:
    foreign_servers.validate(options, catalog)


@sql_function
def dblink_py_read_user_mapping(server_oid: int) -> None:
    backend.serve_mapping_request(server_oid)
