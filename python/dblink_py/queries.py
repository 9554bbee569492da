"""Running SQL on a remote connection: rows for dblink(), a status for dblink_exec()."""

from __future__ import annotations

import functools
from typing import Callable, Iterable, Iterator, Sequence

from psycopg import pq
from psycopg.pq import ExecStatus

from . import backend
from .conversion import RemoteText, discard_unreported_error, make_row_converter
from .fastrows import Chunk, RowBuilder, rows_of
from .errors import DblinkError, RemoteError, StatementReturnedRows
from .remote import ERROR_STATUSES, TERMINAL_STATUSES, Remote
from .sqltext import count_statements

# Rows per result while streaming: big enough to amortise per-result costs,
# small enough that memory stays flat.
CHUNK_ROWS = 1000

Row = tuple

# Remote settings that change how date/time values are written as text;
# while converting, the local session reads them the way the remote wrote them.
STYLE_SETTINGS = ("DateStyle", "IntervalStyle")
COMMAND_STATUSES = frozenset({ExecStatus.COMMAND_OK, ExecStatus.EMPTY_QUERY})


def status_row(remote: Remote, result: pq.PGresult) -> Row:
    """A command's result as dblink returns it: one row holding the tag."""
    return (RemoteText(remote.decode(result.command_status or b"")),)


def _builder(remote: Remote, result: pq.PGresult, *, streaming: bool = True,
             for_plpython: bool = True) -> RowBuilder:
    """Rows for PL/Python (or for Python code, `for_plpython` false); the fast
    path learns from PL/Python converting the first row, so it needs rows
    handed to PL/Python one chunk at a time (`streaming`)."""
    discard_unreported_error()
    types = tuple(map(result.ftype, range(result.nfields)))
    fast = streaming and for_plpython and remote.codec == "utf-8"
    return RowBuilder(list(types), _row_converter(types, remote.codec), fast=fast,
                      check_columns=streaming and for_plpython, codec=remote.codec)


@functools.lru_cache(maxsize=256)
def _row_converter(types: tuple[int, ...], codec: str) -> Callable[[list], Row]:
    """The generated converter for a column list, made once per session."""
    return make_row_converter(list(types), codec)


# Types whose text form DateStyle and IntervalStyle change: date, time,
# timestamp, timestamptz, interval, timetz and their arrays, records; and any
# type this table cannot vouch for (user-defined, system rowtypes).
_STYLED_TYPES = frozenset({1082, 1083, 1114, 1184, 1186, 1266, 1182, 1183, 1115, 1185, 1187, 1270,
                           2249, 2287})
_FIRST_UNVOUCHED_OID = 10000


def _needs_styles(result: pq.PGresult) -> bool:
    for col in range(result.nfields):
        oid = result.ftype(col)
        if oid in _STYLED_TYPES or oid >= _FIRST_UNVOUCHED_OID:
            return True
    return False


def mimic_remote_styles(remote: Remote, result: pq.PGresult) -> Callable[[], None]:
    """Read dates as the remote wrote them; returns what undoes that.

    Uses SET LOCAL, so an error that aborts the transaction undoes it too.
    Nothing to do (and no local query) when no column's text depends on them.
    """
    if not _needs_styles(result):
        return _nothing
    remote_values = [remote.parameter(name) for name in STYLE_SETTINGS]
    local_values = backend.settings(*STYLE_SETTINGS)
    changed = [
        (name, local, theirs)
        for name, local, theirs in zip(STYLE_SETTINGS, local_values, remote_values)
        if theirs is not None and theirs != local
    ]
    for name, _local, theirs in changed:
        backend.set_for_transaction(name, theirs)

    def restore() -> None:
        for name, local, _theirs in changed:
            backend.set_for_transaction(name, local)

    return restore


def _nothing() -> None:
    return None


def _quietly(action: Callable[[], None]) -> None:
    """Run cleanup that must not hide the error being raised (the local
    transaction may be failing already; SET LOCAL then undoes itself)."""
    try:
        action()
    except Exception:  # noqa: BLE001 - cleanup only
        pass


def stream_chunks(remote: Remote, results: Iterator[pq.PGresult], last_only: int | None,
                  where: str, on_command: Callable[[], None] | None = None,
                  on_columns: Callable[[pq.PGresult], None] | None = None,
                  for_plpython: bool = True) -> Iterator[Chunk]:
    """Rows of the last statement's result, as they arrive, in chunks.

    `last_only` is the number of statements whose results come before the
    last one (those are discarded); None means the count is not known, and
    each statement's rows are held until the next statement replaces them.
    Every result is read, so the connection is idle again afterwards.
    `on_command`, if given, is called (and may raise) when the wanted result
    is a command status instead of rows; `on_columns` sees the first result
    of the wanted statement (for its column names).
    """
    error: DblinkError | None = None
    statement = 0
    builder: RowBuilder | None = None
    current: list[Row] = []  # count unknown: rows of the statement in progress
    held: list[Row] = []  # count unknown: rows of the last complete statement
    current_result: pq.PGresult | None = None  # the rows' result, for their types
    held_result: pq.PGresult | None = None
    restore: Callable[[], None] | None = None
    try:
        for result in results:
            status = result.status
            if error is not None:
                continue  # drain what follows an error, report the first
            if status in ERROR_STATUSES:
                error = remote.remote_error(result, where)
                continue
            wanted = last_only is None or statement >= last_only
            chunks: Iterable[Chunk] = ()
            if status in COMMAND_STATUSES:
                if wanted and on_command is not None:
                    try:
                        on_command()
                    except DblinkError as exc:
                        error = exc
                        continue
                if wanted:
                    chunks = (Chunk([status_row(remote, result)], True),)
            elif wanted:
                if on_columns is not None:
                    on_columns(result)
                    on_columns = None
                if result.ntuples:
                    if builder is None:
                        builder = _builder(remote, result, streaming=last_only is not None,
                                           for_plpython=for_plpython)
                        current_result = result
                    if last_only is not None and restore is None:
                        restore = mimic_remote_styles(remote, result)
                    chunks = builder.chunks(result)
            if last_only is None:
                for chunk in chunks:
                    current.extend(chunk)
            else:
                yield from chunks
            if status in TERMINAL_STATUSES:
                statement += 1
                builder = None
                if last_only is None:
                    held, current = current, []
                    held_result, current_result = current_result, None
        if error is not None:
            raise error
        if held_result is not None:
            restore = mimic_remote_styles(remote, held_result)
        if held:
            yield Chunk(held, False)
    finally:
        if restore is not None:
            _quietly(restore)


def run_rows(remote: Remote, sql: str, where: str,
             on_command: Callable[[], None] | None = None,
             params: Sequence[str | None] | None = None,
             on_columns: Callable[[pq.PGresult], None] | None = None) -> Iterator[Row]:
    """Send `sql` and yield the rows of its last statement."""
    return rows_of(run_chunks(remote, sql, where, on_command, params, on_columns, for_plpython=False))


def run_chunks(remote: Remote, sql: str, where: str,
               on_command: Callable[[], None] | None = None,
               params: Sequence[str | None] | None = None,
               on_columns: Callable[[pq.PGresult], None] | None = None,
               for_plpython: bool = True, hold: bool = False) -> Iterator[Chunk]:
    """Send `sql` and yield the rows of its last statement, in chunks; with
    `hold`, only once that statement completed without error.

    If the caller stops early (a local error while converting a row), the
    remote query is cancelled and its results discarded.
    """
    if hold:
        last_only: int | None = None  # each statement's rows held until it is complete
    elif params is not None:
        last_only = 0  # the extended protocol takes one statement
    else:
        count = count_statements(sql)
        last_only = count - 1 if count else None
    remote.send_query(sql, params=params, chunk_rows=CHUNK_ROWS)
    try:
        yield from stream_chunks(remote, remote.results(), last_only, where, on_command, on_columns,
                                 for_plpython)
    finally:
        if remote.query_running:
            remote.abandon_query()


def run_command(remote: Remote, sql: str, where: str,
                params: Sequence[str | None] | None = None) -> str:
    """Send `sql` and return the command status of its last statement."""
    remote.send_query(sql, params=params)
    last: pq.PGresult | None = None
    error: RemoteError | None = None
    for result in remote.results():
        if error is None and result.status in ERROR_STATUSES:
            error = remote.remote_error(result, where)
        last = result
    if error is not None:
        raise error
    if last is None or last.status in (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE,
                                       ExecStatus.TUPLES_CHUNK):
        raise StatementReturnedRows()
    return remote.decode(last.command_status or b"")


def result_chunks(remote: Remote, result: pq.PGresult, where: str) -> Iterator[Chunk]:
    """The rows of one complete result (dblink_get_result), in chunks."""
    status = result.status
    if status in ERROR_STATUSES:
        raise remote.remote_error(result, where)
    if status in COMMAND_STATUSES:
        yield Chunk([status_row(remote, result)], True)
        return
    if not result.ntuples:
        return
    restore = mimic_remote_styles(remote, result)
    try:
        yield from _builder(remote, result).chunks(result)
    finally:
        _quietly(restore)


def describe(remote: Remote, sql: str, where: str) -> list[tuple[str, int, int]]:
    """(name, type oid, typmod) of each result column of `sql`, without running it."""
    remote.send_describe(sql)
    _expect_command(remote, where)
    remote.describe_prepared()
    columns: list[tuple[str, int, int]] = []
    error: RemoteError | None = None
    for result in remote.results():
        if result.status in ERROR_STATUSES:
            error = error or remote.remote_error(result, where)
            continue
        columns = [
            (remote.decode(result.fname(i) or b""), result.ftype(i), result.fmod(i))
            for i in range(result.nfields)
        ]
    if error is not None:
        raise error
    return columns


def _expect_command(remote: Remote, where: str) -> None:
    error: RemoteError | None = None
    for result in remote.results():
        if result.status in ERROR_STATUSES and error is None:
            error = remote.remote_error(result, where)
    if error is not None:
        raise error
