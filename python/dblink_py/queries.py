"""Running SQL on a remote connection: record literals for dblink(), a status for dblink_exec().

dblink() returns the rows of the last statement of a query string, each
value converted by the local input function of the type the caller declared.
Rows are handed to PL/Python as record literals (records.py). A single plain
query (SELECT, VALUES, WITH ... SELECT: see sqltext.py) is sent as
``SELECT ROW(q.*) FROM (<query>) q``, so that the remote server writes each
row as one record literal; anything else is sent as it is and the literal
is assembled from the columns. Either way every value reaches the same
input function with the same text.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Callable, Iterable, Iterator, Sequence

from . import sqltext, styles
from .errors import DblinkError, RemoteError, RowTypeMismatch, StatementReturnedRows
from .libpq import DiagnosticField, ExecStatus, pq
from .records import LiteralMaker, status_literal
from .remote import COPY_STATUSES, ERROR_STATUSES, Remote
from .wrapping import MULTIBYTE_ENCODINGS, Wrapped, retold

# Rows per chunk of literals handed to PL/Python: big enough to amortise the
# per-chunk work, small enough that memory stays flat.
CHUNK_ROWS = 1000


SINGLE_TUPLE = ExecStatus.SINGLE_TUPLE
TUPLES_CHUNK = getattr(ExecStatus, "TUPLES_CHUNK", None)
END_STATUSES = frozenset({ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK})
# What fails a statement: an error, or an empty query (which C dblink, wanting
# COMMAND_OK or TUPLES_OK, reports as an error too).
FAILED_STATUSES = ERROR_STATUSES | {ExecStatus.EMPTY_QUERY}
_status = attrgetter("status")

Chunk = list  # of record literals (str)


def literal_chunks(remote: Remote, sql: str, where: str, *,
                   params: Sequence[str | None] | None = None,
                   on_command: Callable[[], None] | None = None,
                   streaming: bool = True, keep_partial: bool = False) -> Iterator[Chunk]:
    """Send `sql` and yield the rows of its last statement as record literals
    (see start_literal_reader)."""
    return start_literal_reader(remote, sql, where, params=params, on_command=on_command, streaming=streaming,
                                keep_partial=keep_partial).chunks()


def start_literal_reader(remote: Remote, sql: str, where: str, *,
                         params: Sequence[str | None] | None = None,
                         on_command: Callable[[], None] | None = None,
                         streaming: bool = True, keep_partial: bool = False) -> LiteralReader:
    """Send `sql`; the reader of its results, which turns the rows of its last
    statement into record literals.

    With `streaming`, rows are read as they arrive (memory stays flat);
    otherwise each result arrives whole, as for C dblink's cursors. With
    `keep_partial` (fail_on_error => false), every row that arrives before
    an error is kept: rows come one by one even where libpq could send
    chunks, whose unfinished last chunk an error discards. A
    command's status is one row. `on_command`, if given, is called (and may
    raise) instead when the last statement is a command. Every result is
    read, so the connection is idle again afterwards, also after an error;
    if the caller stops early (a local conversion error) the rest is read
    before the connection's next use (Remote.unread).
    """
    shape = sqltext.shape(sql)
    wanted = 0 if params is not None else max(shape.count, 1) - 1
    wrapped = Wrapped(sql, *shape.last) if streaming and shape.plain else None
    chunk_rows = (1 if keep_partial else CHUNK_ROWS) if streaming else 0
    remote.send_query(sql if wrapped is None else wrapped.text, params=params, chunk_rows=chunk_rows)
    return LiteralReader(remote, LiteralMaker(remote.codec, remote.encoding, wrapped is not None), wanted,
                         where, on_command, styles.remote_values(remote), wrapped)


class LiteralReader:
    """The results of one query, turned into chunks of literals."""

    def __init__(self, remote: Remote, maker: LiteralMaker, wanted: int, where: str,
                 on_command: Callable[[], None] | None, remote_styles: list[str | None],
                 wrapped: Wrapped | None = None) -> None:
        self.remote = remote
        self.remote_styles = remote_styles
        self.maker = maker
        self.wanted = wanted  # index of the statement whose rows are returned
        self.where = where
        self.on_command = on_command
        self.statement = 0
        self.styled = False
        self.wrapped = wrapped  # the query as the user wrote it, if sent wrapped
        self.error: DblinkError | None = None

    def chunks(self) -> Iterator[Chunk]:
        remote = self.remote
        try:
            for batch in remote.batches(CHUNK_ROWS):
                yield from self.feed(batch)
        except GeneratorExit:
            # PL/Python gave up on the rows (an error converting one): the
            # rest is read before the connection is used again
            remote.unread = remote.query_running
            raise
        self.finish()

    def feed(self, batch: list[pq.PGresult]) -> Iterator[Chunk]:
        """The chunks of literals in one batch of results; an error among them
        is kept for finish(), and what follows it only read."""
        if self.error is not None:
            if _status(batch[-1]) in COPY_STATUSES:
                self.remote.refuse_copy(_status(batch[-1]))
            return  # read what follows an error; report the first
        if self.statement == self.wanted:
            # the rows of the last statement: only its end can follow
            # them, and only at the end of a batch
            if batch[-1].status == SINGLE_TUPLE:
                yield self._rows(batch)  # the common case: a batch of rows
                return
            if len(batch) > 1:
                yield self._rows(batch[:-1])
                batch = batch[-1:]
        try:
            yield from self._mixed(batch, list(map(_status, batch)))
        except DblinkError as exc:
            self.error = exc

    def finish(self) -> None:
        """At the end of the query: raise the first error it had, if any."""
        if self.error is not None:
            raise self.error

    def _rows(self, results: list[pq.PGresult]) -> Chunk:
        self._apply_styles()
        if not results[0].nfields:
            raise RowTypeMismatch()
        return self.maker.from_rows(results)

    def result_rows(self, result: pq.PGresult) -> Iterator[Chunk]:
        """Rows of one result holding many (a chunk, or a whole result)."""
        count = result.ntuples
        if not count:
            return
        self._apply_styles()
        if not result.nfields:
            raise RowTypeMismatch()
        for start in range(0, count, CHUNK_ROWS):
            yield self.maker.from_result(result, start, min(count, start + CHUNK_ROWS))

    def _mixed(self, batch: list[pq.PGresult], statuses: list[ExecStatus]) -> Iterator[Chunk]:
        """A batch with the end of a statement, a command, an error or COPY in it."""
        index = 0
        size = len(batch)
        while index < size:
            status = statuses[index]
            wanted = self.statement == self.wanted
            if status == SINGLE_TUPLE:
                stop = index
                while stop < size and statuses[stop] == SINGLE_TUPLE:
                    stop += 1
                if wanted:
                    yield self._rows(batch[index:stop])
                index = stop
                continue
            result = batch[index]
            index += 1
            if status in COPY_STATUSES:
                self.remote.refuse_copy(status)
            if status in FAILED_STATUSES:
                raise self._remote_error(result)
            if wanted and (status == TUPLES_CHUNK or status == ExecStatus.TUPLES_OK):
                yield from self.result_rows(result)
            elif wanted and status == ExecStatus.COMMAND_OK:
                if self.on_command is not None:
                    self.on_command()
                yield [status_literal(self.remote.decode(result.command_status or b""))]
            if status in END_STATUSES:
                self.statement += 1

    def _apply_styles(self) -> None:
        if not self.styled:
            self.styled = True
            styles.apply_remote(self.remote_styles)

    def _remote_error(self, result: pq.PGresult) -> RemoteError:
        error = self.remote.remote_error(result, self.where)
        position = result.error_field(DiagnosticField.STATEMENT_POSITION)
        wrapped = self.wrapped
        if wrapped is None or position is None:
            return error
        # the error as the user's query would have had it, in dblink_error_message too
        primary, at = error.message, int(position)
        original = wrapped.original_error(primary, at, error.sqlstate)
        if original is not None:
            wide = self.remote.encoding in MULTIBYTE_ENCODINGS
            self.remote.retell_error(lambda text: retold(text, wrapped, at, original, primary, wide))
            error.message = original[0]
        return error


def result_chunks(remote: Remote, result: pq.PGresult, where: str) -> Iterator[Chunk]:
    """The rows of one complete result (dblink_get_result), as literals."""
    status = result.status
    if status in FAILED_STATUSES:
        raise remote.remote_error(result, where)
    if status == ExecStatus.COMMAND_OK:
        yield [status_literal(remote.decode(result.command_status or b""))]
        return
    reader = LiteralReader(remote, LiteralMaker(remote.codec, remote.encoding, False), 0, where, None,
                     styles.remote_values(remote))
    yield from reader.result_rows(result)


def run_command(remote: Remote, sql: str, where: str,
                params: Sequence[str | None] | None = None) -> str:
    """Send `sql` and return the command status of its last statement."""
    remote.send_query(sql, params=params)
    status = CommandStatus(remote, where)
    status.feed(remote.results())
    return status.finish()


class CommandStatus:
    """The command status of a query's last statement, from its results as they come."""

    def __init__(self, remote: Remote, where: str) -> None:
        self.remote = remote
        self.where = where
        self.last: pq.PGresult | None = None
        self.error: RemoteError | None = None

    def feed(self, results: Iterable[pq.PGresult]) -> None:
        for result in results:
            status = result.status
            if self.error is None and status in FAILED_STATUSES:
                self.error = self.remote.remote_error(result, self.where)
            elif status in COPY_STATUSES:
                self.remote.refuse_copy(status)
            self.last = result

    def finish(self) -> str:
        if self.error is not None:
            raise self.error
        last = self.last
        if last is None or last.status in (ExecStatus.TUPLES_OK, SINGLE_TUPLE, TUPLES_CHUNK):
            raise StatementReturnedRows()
        return self.remote.decode(last.command_status or b"")


def run_rows(remote: Remote, sql: str, where: str, *,
             params: Sequence[str | None] | None = None,
             on_columns: Callable[[pq.PGresult], None] | None = None) -> list[tuple[str | None, ...]]:
    """The rows of the last statement of `sql` as tuples of text (None for
    NULL), for Python callers; `on_columns` sees that statement's result."""
    wanted = 0 if params is not None else max(sqltext.count_statements(sql), 1) - 1
    remote.send_query(sql, params=params)
    statement = 0
    found: list[tuple[str | None, ...]] = []
    error: RemoteError | None = None
    decode = remote.decode
    for result in remote.results():
        status = result.status
        if error is not None:
            continue
        if status in FAILED_STATUSES:
            error = remote.remote_error(result, where)
            continue
        if statement == wanted:
            if on_columns is not None:
                on_columns(result)
            if status == ExecStatus.COMMAND_OK:
                found = [(decode(result.command_status or b""),)]
            else:
                columns = range(result.nfields)
                found = [
                    tuple(None if (v := result.get_value(row, col)) is None else decode(v) for col in columns)
                    for row in range(result.ntuples)
                ]
        statement += 1
    if error is not None:
        raise error
    return found


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
