"""The SQL-facing functions: one Python function behind each SQL function.

Each imports the modules it needs when first called: a backend that only
builds SQL statements never loads libpq, and one that only connects never
loads the builders (a backend's first call is part of its start-up time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from . import backend
from .reporting import boundary, sql_function, sql_rows_function, sql_set_function
from .errors import RemoteError
from .registry import session

if TYPE_CHECKING:
    from .queries import Chunk

__all__ = ["boundary"]  # used by every SQL function body: `with f.boundary: return f.<function>(...)`

OK = "OK"


class _remote_errors:
    """fail_on_error => false: a remote error becomes a NOTICE and the call
    goes on after the `with` block (returning `ERROR` or no rows)."""

    __slots__ = ("_fail_on_error",)

    def __init__(self, fail_on_error: bool) -> None:
        self._fail_on_error = fail_on_error

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, err: BaseException | None, tb: object) -> bool:
        if self._fail_on_error or not isinstance(err, RemoteError):
            return False
        backend.notice(err.message, detail=err.detail, hint=err.hint, sqlstate=err.sqlstate)
        return True


@sql_function
def dblink_connect(name: str | None, target: str) -> str:
    from . import links

    links.connect(name, target)
    return OK


@sql_function
def dblink_disconnect(name: str | None) -> str:
    from . import links

    links.disconnect(name)
    return OK


@sql_rows_function
def dblink(target: str | None, sql: str, fail_on_error: bool = True,
           params: list[str | None] | None = None) -> Iterator[Chunk]:
    from . import links, queries

    with links.target(target) as (remote, name), _remote_errors(fail_on_error):
        # fail_on_error => false: the rows that came before a remote error
        # are returned, as in dblink
        yield from queries.literal_chunks(remote, sql, f"while executing query on {name}", params=params,
                                          keep_partial=not fail_on_error)


@sql_function
def dblink_exec(target: str | None, sql: str, fail_on_error: bool = True,
                params: list[str | None] | None = None) -> str:
    from . import links, queries

    with links.target(target) as (remote, name), _remote_errors(fail_on_error):
        return queries.run_command(remote, sql, f"while executing command on {name}", params)
    return "ERROR"


# -- Cursors -----------------------------------------------------------------


@sql_function
def dblink_open(name: str | None, cursor: str, sql: str, fail_on_error: bool = True) -> str:
    from . import cursors, links

    link = links.get(name)
    with _remote_errors(fail_on_error):
        cursors.open_cursor(link, cursor, sql)
        return OK
    return "ERROR"


@sql_rows_function
def dblink_fetch(name: str | None, cursor: str, count: int, fail_on_error: bool = True) -> Iterator[Chunk]:
    from . import cursors, links

    link = links.get(name)
    with _remote_errors(fail_on_error):
        yield from cursors.fetch(link, cursor, count)


@sql_function
def dblink_close(name: str | None, cursor: str, fail_on_error: bool = True) -> str:
    from . import cursors, links

    link = links.get(name)
    with _remote_errors(fail_on_error):
        cursors.close_cursor(link, cursor)
        return OK
    return "ERROR"


# -- Asynchronous queries ----------------------------------------------------


@sql_function
def dblink_send_query(name: str, sql: str) -> int:
    from . import asynchronous, links

    return asynchronous.send_query(links.get(name), sql)


@sql_function
def dblink_is_busy(name: str) -> int:
    from . import asynchronous, links

    return asynchronous.is_busy(links.get(name))


@sql_rows_function
def dblink_get_result(name: str, fail_on_error: bool = True) -> Iterator[Chunk]:
    from . import asynchronous, links

    link = links.get(name)
    with _remote_errors(fail_on_error):
        yield from asynchronous.next_result(link)


@sql_function
def dblink_cancel_query(name: str) -> str:
    from . import asynchronous, links

    return asynchronous.cancel(links.get(name))


@sql_set_function
def dblink_get_notify(name: str | None) -> list[tuple[str, int, str]]:
    from . import asynchronous, links

    link = links.get(name) if name is not None else session.find(None)
    return asynchronous.notifications(link)


# -- Beyond dblink: descriptions and introspection ---------------------------


@sql_set_function
def dblink_describe(target: str | None, sql: str) -> list[tuple[int, str, str]]:
    from . import introspection, links

    with links.target(target) as (remote, name):
        columns = introspection.describe_columns(remote, sql, f"while describing query on {name}")
    return [column[:3] for column in columns]


@sql_function
def dblink_column_definitions(target: str | None, sql: str) -> str:
    from . import introspection, links

    with links.target(target) as (remote, name):
        columns = introspection.describe_columns(remote, sql, f"while describing query on {name}")
    return introspection.column_definitions(columns)


@sql_set_function
def dblink_connection_info() -> list[tuple]:
    from . import introspection

    return introspection.connection_rows(session.all())


@sql_set_function
def dblink_py_settings() -> list[tuple[str, str, str, str, str]]:
    from . import settings

    return settings.listing()


# -- Session information -----------------------------------------------------


@sql_function
def dblink_get_connections() -> list[str] | None:
    return session.names() or None


@sql_function
def dblink_error_message(name: str) -> str:
    from . import links

    message = links.get(name).remote.error_message
    return message or OK


@sql_function
def dblink_current_query() -> str | None:
    return backend.current_query()


# -- Foreign servers ---------------------------------------------------------


@sql_function
def dblink_fdw_validator(options: list[str] | None, catalog: int) -> None:
    from . import foreign_servers

    foreign_servers.validate(options, catalog)


@sql_function
def dblink_py_read_user_mapping(server_oid: int) -> None:
    backend.serve_mapping_request(server_oid)


# -- Primary keys and SQL builders -------------------------------------------


@sql_set_function
def dblink_get_pkey(relname: str) -> Iterator[tuple[int, str]]:
    from . import builders

    return builders.get_pkey(relname)


@sql_function
def dblink_build_sql_insert(relname: str, attnums: list[int], count: int, src: list, tgt: list) -> str:
    from . import builders

    return builders.build_insert(relname, attnums, count, src, tgt)


@sql_function
def dblink_build_sql_delete(relname: str, attnums: list[int], count: int, tgt: list) -> str:
    from . import builders

    return builders.build_delete(relname, attnums, count, tgt)


@sql_function
def dblink_build_sql_update(relname: str, attnums: list[int], count: int, src: list, tgt: list) -> str:
    from . import builders

    return builders.build_update(relname, attnums, count, src, tgt)


# -- Fan-out ---------------------------------------------------------------------


@sql_rows_function
def dblink_fanout(targets: list[str | None], sql: str, fail_on_error: bool = True) -> Iterator[Chunk]:
    from . import fanout

    return fanout.fanout_chunks(targets, sql, fail_on_error)


@sql_set_function
def dblink_fanout_exec(targets: list[str | None], sql: str, fail_on_error: bool = True) -> list[tuple[str, str]]:
    from . import fanout

    return fanout.fanout_exec(targets, sql, fail_on_error)


# -- Bulk copy -------------------------------------------------------------------


@sql_function
def dblink_copy_to(target: str, remote_table: str, local_query: str, columns: list[str | None] | None) -> int:
    from . import copying

    return copying.copy_to(target, remote_table, local_query, columns)


@sql_function
def dblink_copy_from(target: str, remote_query: str, local_table: str, columns: list[str | None] | None) -> int:
    from . import copying

    return copying.copy_from(target, remote_query, local_table, columns)


def dblink_py_record_rows(literals: list[str]) -> list[str]:
    """Each literal becomes a row of the caller's column definition list (record_in)."""
    return literals


# -- Moving from C dblink --------------------------------------------------------


@sql_function
def dblink_py_adopt_dblink() -> str:
    from . import migration

    return "\n".join(f"{what}: {done}" for what, done in migration.adopt_dblink())


# -- The Python API ----------------------------------------------------------


@sql_function
def dblink_py_load() -> None:
    """Nothing to do: calling it has put dblink_py into the session's sys.modules."""
    return None
