"""The local server as seen from the backend's Python: every use of plpy."""

from __future__ import annotations

import functools
import itertools
import os
import select
import socket
from typing import Any, Callable, Iterator, TypeVar

import plpy  # provided by PL/Python inside the backend

from .errors import ClientGone, DblinkError, Interrupted, VersionMismatch

# Plans of dblink_py's own fixed statements; a bound that a statement built
# per call would meet (builders use query_once).
_PLAN_LIMIT = 128
_plans: dict[str, Any] = {}

F = TypeVar("F", bound=Callable[..., Any])


def _spi_errors_reported(func: F) -> F:
    """`func` with the SPI errors it raises turned into DblinkError (error_from_spi)."""

    @functools.wraps(func)
    def call(*args: Any) -> Any:
        try:
            return func(*args)
        except plpy.SPIError as exc:
            raise error_from_spi(exc) from None

    return call  # type: ignore[return-value]


def _plan(sql: str, types: tuple[str, ...] = ()) -> Any:
    """A prepared local statement, kept for the life of the session.

    Parameter types must be schema-qualified: they are looked up once, on
    the search_path of the moment, and the plan is then reused by every role
    (a type from a hostile schema would run its code as a later caller).
    """
    if not all(t.startswith("pg_catalog.") for t in types):
        raise ValueError(f"parameter types must be schema-qualified: {types}")
    key = sql + "\0" + ",".join(types)
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) >= _PLAN_LIMIT:
            _plans.pop(next(iter(_plans)))
        plan = _plans[key] = plpy.prepare(sql, list(types))
    return plan


@_spi_errors_reported
def query(sql: str, types: tuple[str, ...] = (), values: tuple[Any, ...] = ()) -> Any:
    """Run one schema-qualified local statement; SPI errors become DblinkError."""
    return plpy.execute(_plan(sql, types), list(values))


@_spi_errors_reported
def query_once(sql: str) -> Any:
    """Run a local statement built for one call (no parameters, not kept as a plan)."""
    return plpy.execute(sql)


@_spi_errors_reported
def plan_once(sql: str, types: list[str]) -> Any:
    """A plan for a local statement built for one call (not kept)."""
    return plpy.prepare(sql, types)


@_spi_errors_reported
def run_plan(plan: Any, values: list[Any]) -> Any:
    return plpy.execute(plan, values)


def rows_of(sql: str, batch: int) -> Iterator[Any]:
    """The rows of a local query, fetched `batch` at a time through a cursor
    (memory stays flat); each batch a sequence of dicts."""
    try:
        cursor = plpy.cursor(sql)
        while True:
            rows = cursor.fetch(batch)
            if not rows:
                return
            yield rows
    except plpy.SPIError as exc:
        raise error_from_spi(exc) from None


def error_from_spi(exc: Exception) -> DblinkError:
    sqlstate = getattr(exc, "sqlstate", None) or "XX000"
    message = exc.args[0] if exc.args else str(exc)
    cls = Interrupted if sqlstate == "57014" else DblinkError
    return cls(
        str(message),
        sqlstate=sqlstate,
        detail=getattr(exc, "detail", None),
        hint=getattr(exc, "hint", None),
    )


def check_interrupts() -> None:
    """Let the backend act on statement_timeout, pg_cancel_backend, Ctrl-C,
    and stop when the client has gone away.

    PostgreSQL only notices a pending interrupt when control re-enters its
    own code; a trivial prepared statement does that and raises
    QueryCanceled (as Interrupted) when the statement must stop.
    """
    query("SELECT 1")
    if client_socket.gone():
        raise ClientGone("connection to client lost")


class _ClientSocket:
    """The backend's socket to its client, found once, polled for hang-up.

    PostgreSQL 15 notices a vanished client only when it next talks to it,
    so a backend waiting on a remote server would wait the remote query out;
    polling the socket for a hang-up lets the wait end (and cancel the
    remote query) at once. The socket is the one whose local address is this
    server's listening port (TCP) or socket file (Unix); if it cannot be told
    apart, the check is skipped.
    """

    def __init__(self) -> None:
        self._fd: int | None = None
        self._searched = False

    def _find(self) -> int | None:
        port = query("SELECT pg_catalog.current_setting('port') AS p")[0]["p"]
        unix_name = f".s.PGSQL.{port}"
        found = []
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            try:
                copy = os.dup(fd)
            except OSError:
                continue
            try:
                sock = socket.socket(fileno=copy)
            except OSError:  # not a socket
                os.close(copy)
                continue
            with sock:
                try:
                    if sock.type != socket.SOCK_STREAM:
                        continue
                    local = sock.getsockname()
                except OSError:
                    continue
            if (isinstance(local, tuple) and str(local[1]) == port) or (
                isinstance(local, str) and local.endswith(unix_name)
            ):
                found.append(fd)
        return found[0] if len(found) == 1 else None

    def gone(self) -> bool:
        if not self._searched:
            self._searched = True
            try:
                self._fd = self._find()
            except Exception:  # noqa: BLE001 - no /proc, odd sockets: skip the check
                self._fd = None
        if self._fd is None:
            return False
        poller = select.poll()
        poller.register(self._fd, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        events = poller.poll(0)
        return bool(events and events[0][1] & (select.POLLRDHUP | select.POLLHUP | select.POLLERR))


client_socket = _ClientSocket()


@functools.lru_cache(maxsize=None)
def database_encoding() -> str:
    return query("SELECT pg_catalog.getdatabaseencoding() AS e")[0]["e"]


def current_user_is_superuser() -> bool:
    """Whether the *current* user (a SECURITY DEFINER owner counts) is superuser."""
    rows = query(
        "SELECT r.rolsuper AS s FROM pg_catalog.pg_roles r"
        " WHERE r.rolname OPERATOR(pg_catalog.=) pg_catalog.current_user()"
    )
    return bool(rows and rows[0]["s"])


def current_user() -> str:
    return query("SELECT pg_catalog.current_user() AS u")[0]["u"]


def quote_ident(name: str) -> str:
    return plpy.quote_ident(name)


def quote_literal(value: str) -> str:
    """PostgreSQL's quote_literal (E'' when the value holds a backslash)."""
    return plpy.quote_literal(value)


def quote_nullable(value: str | None) -> str:
    """PostgreSQL's quote_nullable: NULL, or quote_literal."""
    return plpy.quote_nullable(value)


def current_query() -> str | None:
    return query("SELECT pg_catalog.current_query() AS q")[0]["q"]


@functools.lru_cache(maxsize=1)
def _config_option() -> Any:
    """The server's GetConfigOption(name, missing_ok, restrict_privileged),
    through ctypes; None where it cannot be found (then SPI is used).

    Reading a setting is needed on every call that returns rows (DateStyle,
    IntervalStyle), and a SPI query costs more than the rest of a point
    query's Python work; this reads the same value in well under a
    microsecond, and cannot fail (missing_ok: NULL for an unknown name).
    """
    try:
        import ctypes

        function = ctypes.CDLL(None).GetConfigOption
    except (ImportError, OSError, AttributeError):  # pragma: no cover - not a PostgreSQL backend
        return None
    function.restype = ctypes.c_char_p
    function.argtypes = (ctypes.c_char_p, ctypes.c_bool, ctypes.c_bool)
    return function


def settings(*names: str, missing_ok: bool = False) -> tuple[str | None, ...]:
    """Current values of local settings, in order; with `missing_ok`, None
    for a custom setting that was never set."""
    read = _config_option()
    if read is not None:
        values = tuple(read(name.encode(), True, False) for name in names)
        if missing_ok or None not in values:
            return tuple(None if v is None else v.decode(python_codec(), "replace") for v in values)
    flag = ", true" if missing_ok else ""
    sql = "SELECT " + ", ".join(
        "pg_catalog.current_setting($%d%s) AS s%d" % (i + 1, flag, i) for i in range(len(names))
    )
    row = query(sql, ("pg_catalog.text",) * len(names), names)[0]
    return tuple(row["s%d" % i] for i in range(len(names)))


def optional_settings(*names: str) -> tuple[str | None, ...]:
    """Values of custom settings that may not be set at all (None then)."""
    return settings(*names, missing_ok=True)


def set_for_transaction(name: str, value: str) -> None:
    """SET LOCAL name = value: reverts by itself if the transaction aborts."""
    query(
        "SELECT pg_catalog.set_config($1, $2, true) AS v", ("pg_catalog.text", "pg_catalog.text"),
        (name, value),
    )


def _given(**fields: str | None) -> dict[str, str]:
    """The message fields that have a value, as keyword arguments for plpy."""
    return {name: value for name, value in fields.items() if value is not None}


def warning(message: str, *, detail: str | None = None, hint: str | None = None,
            sqlstate: str | None = None) -> None:
    plpy.warning(message, **_given(detail=detail, hint=hint, sqlstate=sqlstate))


def notice(message: str, *, detail: str | None = None, hint: str | None = None,
           sqlstate: str | None = None) -> None:
    plpy.notice(message, **_given(detail=detail, hint=hint, sqlstate=sqlstate))


@functools.lru_cache(maxsize=None)
def server_version_num() -> int:
    return int(query("SELECT pg_catalog.current_setting('server_version_num') AS v")[0]["v"])


@functools.lru_cache(maxsize=None)
def python_codec() -> str:
    """The Python codec for text in the local database encoding.

    In a SQL_ASCII database PL/Python passes text as UTF-8 (it converts
    through UTF-8 both ways), so that is what is sent and read.
    """
    from .libpq import pg_codec

    encoding = database_encoding()
    return "utf-8" if encoding == "SQL_ASCII" else pg_codec(encoding.encode())


def current_user_oid() -> int:
    return query(
        "SELECT r.oid AS oid FROM pg_catalog.pg_roles r"
        " WHERE r.rolname OPERATOR(pg_catalog.=) pg_catalog.current_user()"
    )[0]["oid"]


EXTENSION_NAMES = ("dblink_py", "dblink")  # the second: the install variant named like C dblink


def extension() -> tuple[str, str]:
    """(quoted schema, version) of this database's dblink_py, whichever name
    it was installed under; it is relocatable."""
    rows = query(
        "SELECT pg_catalog.quote_ident(n.nspname) AS s, e.extversion AS v"
        " FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n"
        " ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
        " JOIN pg_catalog.pg_proc p ON p.pronamespace OPERATOR(pg_catalog.=) n.oid"
        " AND p.proname OPERATOR(pg_catalog.=) 'dblink_py_read_user_mapping'"
        " WHERE e.extname OPERATOR(pg_catalog.=) ANY ($1) ORDER BY e.extname DESC LIMIT 1",
        ("pg_catalog.name[]",), (list(EXTENSION_NAMES),),
    )
    if not rows:
        return "", ""
    return rows[0]["s"], rows[0]["v"]


def extension_schema() -> str:
    return extension()[0]


_version_checked = False


def check_version() -> None:
    """Once per session: the extension's SQL objects are those of this
    Python package's version (after make install of a new version, a
    database's objects stay the old ones until ALTER EXTENSION ... UPDATE)."""
    global _version_checked
    if _version_checked:
        return
    from . import __version__

    installed = extension()[1]
    if not installed:  # CREATE EXTENSION is running (it calls the FDW validator): not yet
        return
    if installed != __version__:
        raise VersionMismatch(installed, __version__)
    _version_checked = True


def has_server_usage(server_oid: int) -> bool:
    return query(
        "SELECT pg_catalog.has_server_privilege($1, 'USAGE') AS u", ("pg_catalog.oid",),
        (server_oid,),
    )[0]["u"]


# -- user mapping options ----------------------------------------------------
#
# Only superusers may read pg_user_mapping (it holds passwords), yet dblink
# lets any user with USAGE connect through their own or PUBLIC's mapping.
# The SECURITY DEFINER function dblink_py_read_user_mapping(oid) reads the
# mapping for a request that this module records just before calling it, and
# leaves the options in this process's memory, never in a SQL result: called
# directly from SQL it finds no request and does nothing. Non-superusers
# cannot run Python of their own (plpython3u is untrusted), so they cannot
# place a request or read the answer.

_mapping_request: dict[str, Any] | None = None


def mapping_options(server_oid: int) -> list[str] | None:
    """Options of the current user's (else PUBLIC's) mapping for a server; None if none."""
    global _mapping_request
    request = {"server": server_oid, "user": current_user_oid(), "found": False, "options": None}
    _mapping_request = request
    try:
        query(
            f"SELECT {extension_schema()}.dblink_py_read_user_mapping($1)",
            ("pg_catalog.oid",),
            (server_oid,),
        )
    finally:
        _mapping_request = None
    return request["options"] if request["found"] else None


def serve_mapping_request(server_oid: int) -> None:
    """Body of dblink_py_read_user_mapping: runs as the extension's owner."""
    request = _mapping_request
    if request is None or request["server"] != server_oid:
        return
    rows = query(
        "SELECT m.umoptions AS options FROM pg_catalog.pg_user_mapping m"
        " WHERE m.umserver OPERATOR(pg_catalog.=) $1"
        " AND m.umuser OPERATOR(pg_catalog.=) ANY (ARRAY[$2, 0]::pg_catalog.oid[])"
        " ORDER BY m.umuser DESC LIMIT 1",
        ("pg_catalog.oid", "pg_catalog.oid"),
        (server_oid, request["user"]),
    )
    if rows:
        request["found"] = True
        request["options"] = rows[0]["options"]


# dblink_py.remote_notices as the current call read it (links.py), for
# libpq's notice callback, which must neither run SQL nor raise.
remote_notices = True


def forward_remote_notice(source: str, fields: dict[str, str | None]) -> None:
    """Show a remote NOTICE/WARNING to the local client, saying where it came from.

    Off with SET dblink_py.remote_notices = off. Never raises: it runs
    inside libpq's notice callback.
    """
    try:
        if not remote_notices:
            return
        severity = fields.get("severity") or "NOTICE"
        notice(
            f"{severity} from {source}: {fields.get('message') or ''}",
            detail=fields.get("detail"),
            hint=fields.get("hint"),
            sqlstate=fields.get("sqlstate"),
        )
    except Exception:  # noqa: BLE001 - a notice must never break the call
        return
