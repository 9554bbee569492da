"""One connection to a remote server over libpq: connect, send, read, cancel."""

from __future__ import annotations

import select
import time
from functools import partial
from itertools import islice, repeat, starmap, takewhile
from operator import is_not, itemgetter, not_
from typing import Callable, Iterator, NoReturn, Sequence


from .errors import (
    ConnectionLost,
    CopyNotSupported,
    CouldNotEstablishConnection,
    Interrupted,
    RemoteError,
    SendFailed,
)
from .libpq import ConnStatus, DiagnosticField, ExecStatus, OperationalError, PollingStatus, pq
from .libpq_options import quote_value
from .waiting import READ, WRITE, Steps, run_steps, wait_socket, wait_uninterrupted

# How long cleanup after a local interrupt may take in all: sending the
# cancel request and discarding what the remote server still sends. An
# interrupted call must end within a second; a remote that cannot be cleaned
# up in time is disconnected instead.
CLEANUP_TIMEOUT = 0.7
# How many pieces of COPY data may wait in libpq's buffer unsent before
# sending waits for the remote to read (memory stays bounded).
COPY_BACKLOG = 8
# How long dblink_cancel_query waits for the cancel request to be delivered.
CANCEL_TIMEOUT = 5.0

TERMINAL_STATUSES = frozenset(
    {
        ExecStatus.EMPTY_QUERY,
        ExecStatus.COMMAND_OK,
        ExecStatus.TUPLES_OK,
        ExecStatus.BAD_RESPONSE,
        ExecStatus.NONFATAL_ERROR,
        ExecStatus.FATAL_ERROR,
        ExecStatus.COPY_OUT,
        ExecStatus.COPY_IN,
        ExecStatus.COPY_BOTH,
    }
)
ERROR_STATUSES = frozenset({ExecStatus.FATAL_ERROR, ExecStatus.BAD_RESPONSE})
COPY_STATUSES = frozenset({ExecStatus.COPY_OUT, ExecStatus.COPY_IN, ExecStatus.COPY_BOTH})

# Rows arrive one result per row (single-row mode) with the libpq of
# PostgreSQL 15 and 16, in chunks of many rows with libpq 17 and later.
CHUNKED_ROWS_AVAILABLE = pq.version() >= 170000

_is_busy = pq.PGconn.is_busy
_second = itemgetter(1)
_not_none = partial(is_not, None)
_NO_ARGUMENTS = ()


def libpq_message(raw: bytes | None, codec: str = "utf-8") -> str:
    """A libpq error message as text, without its trailing newline."""
    return (raw or b"").decode(codec, "replace").rstrip("\n")


def _connect_timeout(conninfo: str) -> float | None:
    """libpq's connect_timeout of a connection string, in seconds, if set."""
    try:
        options = pq.Conninfo.parse(conninfo.encode())
    except Exception:  # malformed: libpq itself will say so when connecting
        return None
    for option in options:
        if option.keyword == b"connect_timeout" and option.val:
            try:
                seconds = int(option.val)
            except ValueError:
                return None
            # libpq ignores values <= 0 and raises 1 to 2 seconds.
            return None if seconds <= 0 else float(max(seconds, 2))
    return None


def with_options(conninfo: str, values: dict[str, str], codec: str) -> str:
    """`conninfo` (key=value or URI) as key=value pairs with `values` set;
    as it is if libpq cannot parse it (it says why when connecting)."""
    try:
        options = pq.Conninfo.parse(conninfo.encode(codec, "replace"))
    except OperationalError:
        return conninfo
    pairs = [f"{o.keyword.decode()}={quote_value(o.val.decode(codec, 'replace'))}" for o in options
             if o.val is not None and o.keyword.decode() not in values]
    return " ".join([*pairs, *(f"{key}={quote_value(value)}" for key, value in values.items())])


def _establishing(pgconn: pq.PGconn) -> Steps[bytes | None]:
    """Finish a connection that connect_start began: None once it is made,
    else libpq's message."""
    if pgconn.status == ConnStatus.BAD:
        return pgconn.error_message or b"connection failed"
    while True:
        status = pgconn.connect_poll()
        if status == PollingStatus.OK:
            return None
        if status == PollingStatus.FAILED:
            return pgconn.error_message or b"connection failed"
        yield pgconn.socket, READ if status == PollingStatus.READING else WRITE


def connect_deadline(conninfo: str) -> float | None:
    """When connecting with `conninfo` must give up (its connect_timeout)."""
    timeout = _connect_timeout(conninfo)
    return None if timeout is None else time.monotonic() + timeout


# libpq 17 cancels without blocking (PQcancelCreate); before, only PQcancel,
# which waits for the server to close its connection: forever, through a
# link that swallows packets.
CANCEL_CONNECTIONS_AVAILABLE = pq.version() >= 170000


class Remote:
    """A libpq connection whose every wait can be interrupted locally."""

    def __init__(self, pgconn: pq.PGconn, codec: str, encoding: str,
                 check_interrupts: Callable[[], None]):
        self.pgconn = pgconn
        self.codec = codec
        self.encoding = encoding  # PostgreSQL's name of `codec`, the local database encoding
        self.check_interrupts = check_interrupts
        # a query whose results were abandoned while rows streamed (a local
        # conversion error): they are read to the end before the next use,
        # so the remote query completes and its transaction stays usable
        self.unread = False
        self.opened_at = time.time()
        # how forwarded remote notices name this connection
        self.notice_source = "unnamed dblink connection"
        # why dblink_py closed this connection itself, if it did
        self.failure: str | None = None
        # libpq's text of the last error, and how dblink_py tells it instead
        # (an error in the wrapper of a query: see wrapping.py)
        self.retold: tuple[str, str] | None = None
        self._conninfo = ""  # what it connected with, for cancelling through a second connection
        self._backlog = 0  # pieces of COPY data not yet sent in full (put_copy)

    # -- connecting -------------------------------------------------------

    @classmethod
    def connecting(cls, conninfo: str, *, client_encoding: str, codec: str,
                   check_interrupts: Callable[[], None]) -> Steps["Remote"]:
        """Connect without blocking, as a step machine (waiting.py)."""
        conninfo_with_encoding = with_options(conninfo, {"client_encoding": client_encoding}, codec)
        pgconn = pq.PGconn.connect_start(conninfo_with_encoding.encode(codec, "replace"))
        try:
            failure = yield from _establishing(pgconn)
            if failure is not None:
                raise CouldNotEstablishConnection(libpq_message(failure, codec))
            pgconn.nonblocking = 1
        except BaseException:  # also GeneratorExit: given up (time out, interrupt)
            pgconn.finish()
            raise
        remote = cls(pgconn, codec, client_encoding, check_interrupts)
        remote._conninfo = conninfo_with_encoding
        return remote

    @classmethod
    def connect(cls, conninfo: str, *, client_encoding: str, codec: str,
                check_interrupts: Callable[[], None]) -> "Remote":
        """Connect without blocking the backend; honour connect_timeout."""
        deadline = connect_deadline(conninfo)
        finished, remote = run_steps(
            cls.connecting(conninfo, client_encoding=client_encoding, codec=codec, check_interrupts=check_interrupts),
            lambda fd, events: wait_socket(fd, events, check_interrupts, deadline))
        if not finished:
            raise CouldNotEstablishConnection("timeout expired")
        assert remote is not None
        return remote

    def close(self) -> None:
        self.pgconn.finish()

    def on_notice(self, forward: Callable[[str, dict[str, str | None]], None]) -> None:
        """Hand each remote NOTICE/WARNING to `forward(source, fields)`."""

        def handler(result: pq.PGresult) -> None:
            def field(code: DiagnosticField) -> str | None:
                raw = result.error_field(code)
                return None if raw is None else raw.decode(self.codec, "replace")

            forward(
                self.notice_source,
                {
                    "severity": field(DiagnosticField.SEVERITY),
                    "message": field(DiagnosticField.MESSAGE_PRIMARY),
                    "detail": field(DiagnosticField.MESSAGE_DETAIL),
                    "hint": field(DiagnosticField.MESSAGE_HINT),
                    "sqlstate": field(DiagnosticField.SQLSTATE),
                },
            )

        self.pgconn.notice_handler = handler

    # -- state ------------------------------------------------------------

    def parameter(self, name: str) -> str | None:
        try:
            value = self.pgconn.parameter_status(name.encode())
        except OperationalError:  # closed
            return None
        return None if value is None else value.decode(self.codec, "replace")

    def info(self, what: str) -> str | None:
        """host, port, db or user of the connection, as libpq reports them."""
        try:
            raw = getattr(self.pgconn, what)
        except OperationalError:  # closed
            return None
        return None if raw is None else raw.decode(self.codec, "replace")

    @property
    def query_running(self) -> bool:
        return self.unread or self.pgconn.transaction_status == pq.TransactionStatus.ACTIVE

    @property
    def error_message(self) -> str:
        if self.failure is not None:
            return self.failure
        text = (self.pgconn.error_message or b"").decode(self.codec, "replace")
        if self.retold is not None and self.retold[0] == text:
            text = self.retold[1]
        return text.rstrip("\n")

    def retell_error(self, tell: Callable[[str], str]) -> None:
        """Have error_message tell libpq's text of the error just received as `tell` puts it."""
        text = (self.pgconn.error_message or b"").decode(self.codec, "replace")
        self.retold = (text, tell(text))

    def decode(self, raw: bytes) -> str:
        return raw.decode(self.codec)

    # -- sending and reading ----------------------------------------------

    def send_query(
        self, sql: str, *, params: Sequence[str | None] | None = None, chunk_rows: int = 0
    ) -> None:
        """Send SQL: as text (simple protocol, several statements allowed), or
        with `params` bound separately (extended protocol, one statement,
        values as text, None for NULL). With `chunk_rows`, rows stream as
        they come: in chunks of that many where libpq can (1: one by one),
        else one by one."""
        self.settle()
        self.retold = None
        encode = self.codec
        try:
            if params is None:
                self.pgconn.send_query(sql.encode(encode))
            else:
                values = [None if v is None else v.encode(encode) for v in params]
                self.pgconn.send_query_params(sql.encode(encode), values)
        except OperationalError:
            self._send_failed()
        if chunk_rows:
            if CHUNKED_ROWS_AVAILABLE and chunk_rows > 1:
                self.pgconn.set_chunked_rows_mode(chunk_rows)
            else:
                self.pgconn.set_single_row_mode()
        self._flush()

    def settle(self) -> None:
        """Read what is left of an abandoned query (see `unread`)."""
        if self.unread:
            self.unread = False
            for _result in self.results():
                pass

    def send_describe(self, sql: str) -> None:
        """Prepare `sql` unnamed and ask for its result description (nothing runs)."""
        try:
            self.pgconn.send_prepare(b"", sql.encode(self.codec))
        except OperationalError:
            self._send_failed()
        self._flush()

    def describe_prepared(self) -> None:
        try:
            self.pgconn.send_describe_prepared(b"")
        except OperationalError:
            self._send_failed()
        self._flush()

    def _send_failed(self) -> NoReturn:
        if self.pgconn.status == ConnStatus.BAD:
            raise self.lost() from None
        raise SendFailed(f"could not send query: {self.error_message}") from None

    def _flush(self) -> None:
        while True:
            try:
                if self.pgconn.flush() == 0:
                    return
            except OperationalError:
                raise self.lost() from None
            self._wait(READ | WRITE)
            self._consume()

    def _consume(self) -> None:
        try:
            self.pgconn.consume_input()
        except OperationalError:
            raise self.lost() from None

    def _wait(self, events: int) -> None:
        try:
            wait_socket(self.pgconn.socket, events, self.check_interrupts)
        except Interrupted:
            self.abandon_query()
            raise

    def _read_more(self) -> None:
        """Wait (interruptibly) until the remote sends more, and read it."""
        self._wait(READ)
        self._consume()

    def _complete_result(self) -> pq.PGresult | None:
        """libpq's next result once it has arrived whole (None: the query is complete)."""
        pgconn = self.pgconn
        while pgconn.is_busy():
            self._read_more()
        return pgconn.get_result()

    def _ready_results(self, size: int) -> list[pq.PGresult]:
        """Up to `size` of the results libpq holds complete, in one C-level
        loop (PQisBusy before each PQgetResult, so nothing blocks); short when
        libpq needs more input or at the query's end (the final NULL is not
        included)."""
        pgconn = self.pgconn
        ready = zip(takewhile(not_, map(_is_busy, repeat(pgconn))), starmap(pgconn.get_result, repeat(_NO_ARGUMENTS)))
        return list(islice(takewhile(_not_none, map(_second, ready)), size))

    def next_result(self) -> pq.PGresult | None:
        """The next result of the running query, None when it is complete."""
        self.settle()
        result = self._complete_result()
        if result is not None and result.status in COPY_STATUSES:
            self.refuse_copy(result.status)
        return result

    def refuse_copy(self, status: ExecStatus) -> NoReturn:
        """End a COPY the remote started (libpq would hand out COPY results
        forever), read what is left of the query, and refuse it."""
        pgconn = self.pgconn
        if status == ExecStatus.COPY_OUT:
            while True:
                size, _data = pgconn.get_copy_data(1)
                if size == 0:
                    self._read_more()
                elif size < 0:
                    break
        elif status == ExecStatus.COPY_IN:
            pgconn.put_copy_end(b"COPY FROM STDIN is not supported by dblink_py")
            self._flush()
        else:  # COPY_BOTH: replication protocol, nothing to go back to
            self.close_broken("connection closed: the remote started COPY BOTH (replication)")
            raise CopyNotSupported()
        while self.next_result() is not None:
            pass  # the COPY's own status or error, then the end
        raise CopyNotSupported()

    def results(self) -> Iterator[pq.PGresult]:
        """The results of the running query, as they come (a C-level iterator:
        no generator frame to resume per result)."""
        return iter(self.next_result, None)

    def batches(self, size: int) -> Iterator[list[pq.PGresult]]:
        """The results of the running query in lists of up to `size`, as they
        arrive: every result that libpq holds complete is taken at once
        (`_ready_results`), then the wait for more is interruptible. A COPY
        result repeats until the COPY is ended: see `refuse_copy`.
        """
        pgconn = self.pgconn
        while True:
            batch = self._ready_results(size)
            if batch:
                yield batch
                if len(batch) == size:
                    continue
            if not pgconn.is_busy():
                return  # the batch ended at the final NULL
            self._read_more()

    # -- COPY (dblink_copy_to, dblink_copy_from) -------------------------------

    def start_copy(self, sql: str, expected: ExecStatus) -> pq.PGresult | None:
        """Send a COPY statement: None once the remote is in COPY (`expected`),
        else its first result (an error); the results after it follow."""
        self.send_query(sql)
        result = self._complete_result()
        return None if result is not None and result.status == expected else result

    def put_copy(self, data: bytes) -> bool:
        """Send data of a COPY FROM STDIN; False once the remote has ended the
        COPY (its error: see end_copy). Sending goes on while the remote
        reads: the caller waits only when COPY_BACKLOG pieces are still
        unsent."""
        pgconn = self.pgconn
        try:
            while not pgconn.put_copy_data(data):
                self._wait(WRITE)
                self._consume()
            if pgconn.flush():
                self._backlog += 1
                if self._backlog >= COPY_BACKLOG:
                    self._flush()
                    self._backlog = 0
            else:
                self._backlog = 0
            self._consume()  # an error the remote sent meanwhile ends the COPY
        except OperationalError:
            return False
        return True

    def end_copy(self, failure: str | None = None) -> None:
        """End a COPY FROM STDIN (with `failure`: abort it); its status and
        errors follow as results."""
        try:
            self.pgconn.put_copy_end(None if failure is None else failure.encode(self.codec, "replace"))
            self._flush()
        except OperationalError:
            pass  # the remote ended it already

    def copy_lines(self, size: int) -> Iterator[list[bytes]]:
        """The lines of a COPY TO STDOUT, in lists of up to `size`, as they
        arrive; its command status and errors follow as results."""
        pgconn = self.pgconn
        get = pgconn.get_copy_data
        batch: list[bytes] = []
        while True:
            count, data = get(1)
            if count > 0:
                batch.append(data)
                if len(batch) >= size:
                    yield batch
                    batch = []
            elif count == 0:
                if batch:
                    yield batch
                    batch = []
                self._read_more()
            else:
                break
        if batch:
            yield batch

    def take_ready(self, size: int) -> list[pq.PGresult] | None:
        """Up to `size` of the results that have arrived complete, without
        waiting ([] if none yet); None once the query is complete."""
        self._consume()
        batch = self._ready_results(size)
        if batch:
            return batch
        return [] if self.pgconn.is_busy() else None

    def is_busy(self) -> bool:
        """Whether a result is still on its way (reads what has arrived)."""
        self.settle()
        self._consume()
        return bool(self.pgconn.is_busy())

    def notifications(self) -> list[tuple[str, int, str]]:
        """NOTIFY messages that arrived, each returned once: (channel, pid, payload)."""
        self._consume()
        found = []
        while (notify := self.pgconn.notifies()) is not None:
            found.append(
                (notify.relname.decode(self.codec, "replace"), notify.be_pid,
                 notify.extra.decode(self.codec, "replace"))
            )
        return found

    def lost(self) -> ConnectionLost:
        """The error for a connection that broke: libpq's first line, the rest as DETAIL."""
        text = self.error_message or "connection to server was lost"
        first, _, rest = text.partition("\n")
        for severity in ("FATAL:  ", "ERROR:  "):
            first = first.removeprefix(severity)
        detail = "\n".join(line.strip() for line in rest.splitlines()) or None
        return ConnectionLost(first, detail=detail)

    # -- errors ------------------------------------------------------------

    def remote_error(self, result: pq.PGresult, where: str | None) -> RemoteError:
        """A remote error result as dblink reports it."""

        def field(code: DiagnosticField) -> str | None:
            raw = result.error_field(code)
            return None if raw is None else raw.decode(self.codec, "replace")

        message = field(DiagnosticField.MESSAGE_PRIMARY)
        if not message:
            message = (
                libpq_message(result.error_message, self.codec)
                or self.error_message
                or "could not obtain message string for remote error"
            )
        context = field(DiagnosticField.CONTEXT)
        full_where = where if not context else (f"{context}\n{where}" if where else context)
        return RemoteError(
            message,
            sqlstate=field(DiagnosticField.SQLSTATE) or "08006",
            detail=field(DiagnosticField.MESSAGE_DETAIL),
            hint=field(DiagnosticField.MESSAGE_HINT),
            where=full_where,
        )

    # -- cancelling --------------------------------------------------------

    def cancel(self, timeout: float = CANCEL_TIMEOUT) -> str | None:
        """Ask the remote server to cancel the running query; error text or None."""
        deadline = time.monotonic() + timeout
        finished, failure = run_steps(self.cancelling(), lambda fd, events: wait_uninterrupted(fd, events, deadline))
        return failure if finished else "timeout expired"

    def cancelling(self) -> Steps[str | None]:
        """Cancel the running query, as a step machine: error text or None."""
        if not CANCEL_CONNECTIONS_AVAILABLE:
            return (yield from self._cancelling_through_a_connection())
        try:
            cancel = self.pgconn.cancel_conn()
        except OperationalError as exc:
            return str(exc)
        try:
            cancel.start()
            while True:
                status = cancel.poll()
                if status == PollingStatus.OK:
                    return None
                if status == PollingStatus.FAILED:
                    return libpq_message(cancel.error_message, self.codec)
                yield cancel.socket, READ if status == PollingStatus.READING else WRITE
        except OperationalError as exc:
            return str(exc)
        finally:
            cancel.finish()

    def _cancelling_through_a_connection(self) -> Steps[str | None]:
        """Cancel as pg_cancel_backend() on a second connection to the same
        server, made without blocking (libpq < 17)."""
        pgconn = self.pgconn
        values = {"host": self.info("host") or "", "port": self.info("port") or ""}
        hostaddr = pgconn.hostaddr.decode() if pgconn.hostaddr else ""
        if hostaddr:
            values["hostaddr"] = hostaddr
        conninfo = with_options(self._conninfo, values, self.codec)
        helper = pq.PGconn.connect_start(conninfo.encode(self.codec, "replace"))
        try:
            failure = yield from _establishing(helper)
            if failure is not None:
                return libpq_message(failure, self.codec)
            helper.nonblocking = 1
            helper.send_query(b"SELECT pg_catalog.pg_cancel_backend(%d)" % pgconn.backend_pid)
            while helper.flush():
                yield helper.socket, WRITE
            while helper.is_busy():
                yield helper.socket, READ
                helper.consume_input()
            result = helper.get_result()
            if result is None or result.status != ExecStatus.TUPLES_OK:
                return libpq_message(helper.error_message, self.codec) or "could not send the cancel request"
            return None
        except OperationalError as exc:
            return str(exc)
        finally:
            helper.finish()

    def abandon_query(self) -> None:
        """Cancel the running query and discard its results (local interrupt).

        If the remote side does not settle in time, the connection is closed
        rather than left in a state where the next command would fail.
        """
        deadline = time.monotonic() + CLEANUP_TIMEOUT
        finished, _ = run_steps(self.abandoning(), lambda fd, events: wait_uninterrupted(fd, events, deadline))
        if not finished:
            self.give_up()

    def abandoning(self) -> Steps[None]:
        """Cancel the running query and discard its results, as a step machine."""
        pgconn = self.pgconn
        if pgconn.status != ConnStatus.OK:
            return
        yield from self.cancelling()
        try:
            while True:
                while pgconn.is_busy():
                    yield pgconn.socket, READ
                    pgconn.consume_input()
                result = pgconn.get_result()
                if result is None:
                    return
                if result.status == ExecStatus.COPY_OUT:  # until the cancelled COPY ends
                    while (count := pgconn.get_copy_data(1)[0]) >= 0:
                        if count == 0:
                            yield pgconn.socket, READ
                            pgconn.consume_input()
                elif result.status == ExecStatus.COPY_IN:
                    pgconn.put_copy_end(b"dblink_py: cancelled")
                    while pgconn.flush():
                        yield pgconn.socket, WRITE
        except OperationalError:
            return

    def give_up(self) -> None:
        """Close a connection whose query could not be cancelled in time."""
        self.close_broken("connection closed: the remote server did not answer the cancel request in time")

    def looks_alive(self) -> bool:
        """For an idle connection: nothing has arrived that says the server
        closed it (a terminated backend sends FATAL and goes)."""
        pgconn = self.pgconn
        if pgconn.status != ConnStatus.OK:
            return False
        poller = select.poll()
        poller.register(pgconn.socket, READ | select.POLLERR | select.POLLHUP)
        if not poller.poll(0):
            return True
        try:
            pgconn.consume_input()
        except OperationalError:
            return False
        return pgconn.status == ConnStatus.OK and not pgconn.is_busy() and pgconn.get_result() is None

    def close_broken(self, reason: str) -> None:
        """Close a connection that cannot be used any more, remembering why."""
        self.failure = reason
        self.pgconn.finish()
