"""The SQL boundary: every error reaches the caller as dblink reports it, with dblink's context line.

PL/Python writes an exception that leaves a function as ``<type>: <message>``
(so dblink_py's type is named ``dblink_py``, the one prefix it forces) and
puts the Python traceback into CONTEXT, one line per frame. Here no frame of
the package is shown: an error's traceback is cut to the function body's
own frame (which PL/Python always shows, with its source line), followed by
one line per context line of dblink's, made as frames named after them:

    CONTEXT:  Traceback (most recent call last):
      PL/Python function "dblink", line 3, in <module>
        with f.boundary: return f.dblink(args[0], args[1])
      PL/Python function "dblink", line 1, in while executing query on dblink connection named "c"
    PL/Python function "dblink"

A SQL function body is ``with f.boundary: return f.<function>(...)``: the
`with` block's __exit__ cuts the traceback of an error raised during the
call. An error raised while PL/Python iterates over rows gets the same
traceback built from scratch, the body's line included.
"""

from __future__ import annotations

import functools
import itertools
import sys
import traceback
import types
from typing import Any, Iterator

import plpy  # provided by PL/Python inside the backend

from . import backend, styles
from .errors import DblinkError

# PL/Python reads these attributes of any plpy.Error it reports; a missing
# one leaves an AttributeError pending in the interpreter.
_DIAGNOSTIC_FIELDS = ("schema_name", "table_name", "column_name", "datatype_name", "constraint_name")
ReportedError = type("dblink_py", (plpy.Error,), {"__module__": "builtins", **dict.fromkeys(_DIAGNOSTIC_FIELDS)})


def to_sql_exception(err: DblinkError) -> Exception:
    """`err` as the exception PL/Python turns into a clean SQL error."""
    exc = ReportedError(err.message)
    exc.sqlstate = err.sqlstate
    exc.detail = err.detail
    exc.hint = err.hint
    exc.dblink_context = err.where
    return exc


def as_dblink_error(exc: BaseException) -> DblinkError:
    """Any exception escaping dblink_py, as an error fit for the SQL caller.

    An unexpected one is a bug of dblink_py's: the caller gets a short
    message, the server log the Python traceback.
    """
    if isinstance(exc, DblinkError):
        return exc
    if isinstance(exc, plpy.SPIError):
        return backend.error_from_spi(exc)
    try:
        plpy.log("dblink_py internal error:\n" + "".join(traceback.format_exception(exc)).rstrip())
    except Exception:  # noqa: BLE001 - reporting must go on
        pass
    return DblinkError("internal error in dblink_py", hint="The server log has the details.")


class _Marker(Exception):
    pass


def _frame(name: str, filename: str, line: int) -> types.FrameType:
    """A frame of a code object called `name` in `filename`, stopped at `line`."""
    code = compile("\n" * (line - 1) + "raise _Marker", filename, "exec").replace(co_name=name)
    try:
        exec(code, {"_Marker": _Marker})  # noqa: S102 - a fixed statement
    except _Marker as marker:
        tb = marker.__traceback__
        assert tb is not None and tb.tb_next is not None
        return tb.tb_next.tb_frame
    raise AssertionError("unreachable")


@functools.lru_cache(maxsize=128)
def _context_frames(where: str) -> tuple[tuple[types.FrameType, int, int], ...]:
    found = []
    for line in where.split("\n"):
        frame = _frame(line, "dblink_py", 2)  # PL/Python shows "line 1"
        found.append((frame, frame.f_lasti, frame.f_lineno))
    return tuple(found)


def context_traceback(where: str | None) -> types.TracebackType | None:
    """Traceback entries that PL/Python shows as dblink's context lines."""
    if not where:
        return None
    frames = _context_frames(where) if len(where) <= 2000 else _context_frames.__wrapped__(where)
    tb = None
    for frame, lasti, lineno in reversed(frames):
        tb = types.TracebackType(tb, frame, lasti, lineno)
    return tb


class _Boundary:
    """`with boundary:` around the call in a SQL function's body: an error
    raised in the call keeps the body's frame and dblink's context lines,
    nothing in between."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: types.TracebackType | None) -> bool:
        if tb is not None and isinstance(exc, ReportedError):
            tb.tb_next = context_traceback(getattr(exc, "dblink_context", None))
        return False


boundary = _Boundary()


def sql_function(func: Any) -> Any:
    """Decorate a SQL-facing function: errors reach SQL as clean reports."""

    @functools.wraps(func)
    def dblink_py(*args: Any) -> Any:
        try:
            backend.check_version()
            return func(*args)
        except Exception as exc:  # noqa: BLE001 - the SQL boundary
            err = as_dblink_error(exc)
        raise to_sql_exception(err)

    return dblink_py


def sql_set_function(func: Any) -> Any:
    """Like sql_function, for set-returning functions whose few rows are
    computed in full (descriptions, keys, notifications): collected before
    PL/Python iterates, so any error is reported as itself. Streamed remote
    rows use sql_rows_function."""

    @functools.wraps(func)
    def rows(*args: Any) -> list[Any]:
        return list(func(*args))

    return sql_function(rows)


# How much of a result is read before PL/Python is handed the rows: an error
# that arrives within it is reported with its own message (PL/Python shows
# later ones as "error fetching next item from iterator"). Bounded, so that
# memory stays flat.
READ_AHEAD_ROWS = 50_000
READ_AHEAD_CHARACTERS = 4 << 20


def sql_rows_function(func: Any) -> Any:
    """Decorate a SQL function that returns remote rows: `func` yields chunks
    (lists) of record literals; PL/Python gets one C-level iterator over
    them (no Python frame per row). The first chunks are read before
    returning, so errors in them are reported as themselves."""

    @functools.wraps(func)
    def dblink_py(*args: Any) -> Iterator[Any]:
        styles.discard_pending()
        call_line = sys._getframe(1).f_lineno  # the body's line, for errors met while iterating
        try:
            backend.check_version()
            chunks: Iterator[list[str]] | None = iter(func(*args))
            ahead: list[list[str]] = []
            rows = characters = 0
            for chunk in chunks:
                ahead.append(chunk)
                rows += len(chunk)
                characters += sum(map(len, chunk))
                if rows >= READ_AHEAD_ROWS or characters >= READ_AHEAD_CHARACTERS:
                    break
            else:
                chunks = None  # all of it
        except Exception as exc:  # noqa: BLE001 - the SQL boundary
            err = as_dblink_error(exc)
        else:
            rest = ahead if chunks is None else itertools.chain(ahead, _reported(chunks, call_line))
            return itertools.chain.from_iterable(itertools.chain(rest, _after_the_rows(call_line)))
        raise to_sql_exception(err)

    return dblink_py


def _iteration_error(exc: Exception, call_line: int) -> Exception:
    """`exc` as reported while PL/Python iterates: its traceback made of the
    body's call line and dblink's context lines (PL/Python skips the first
    entry, this generator's own)."""
    reported = to_sql_exception(as_dblink_error(exc))
    body = _frame("<module>", "<string>", call_line)
    tb = types.TracebackType(context_traceback(reported.dblink_context), body, body.f_lasti, call_line)
    return reported.with_traceback(tb)


def _reported(chunks: Iterator[list[str]], call_line: int) -> Iterator[list[str]]:
    """Chunks of rows; an error raised while PL/Python iterates becomes a clean report."""
    try:
        yield from chunks
    except Exception as exc:  # noqa: BLE001 - the SQL boundary
        raise _iteration_error(exc, call_line) from None


def _after_the_rows(call_line: int) -> Iterator[list[str]]:
    """Runs once PL/Python has converted every row: local DateStyle back."""
    try:
        styles.restore_pending()
    except Exception as exc:  # noqa: BLE001 - the SQL boundary
        raise _iteration_error(exc, call_line) from None
    return
    yield
