"""Remote rows as record literals: one str per row, which PL/Python hands to record_in.

A row yielded as a str by a function returning SETOF record goes through
record_in with the caller's row type, so every field reaches its declared
type's own input function, exactly as in C dblink. The literals are built a
chunk of rows at a time with C-level bytes operations (no Python code runs
per value): every field is written in double quotes with ``\\`` and ``"``
backslash-escaped, a NULL as nothing between the commas. A query read
through ``SELECT ROW(q.*) FROM (...) q`` (see queries.py) arrives with each
row already written by record_out, which record_in reads back unchanged.
"""

from __future__ import annotations

from itertools import repeat
from typing import Callable

from .libpq import pq

from .errors import InvalidByteSequence

_value = pq.PGresult.get_value

# A NULL field while a chunk is assembled (no text value holds a NUL byte);
# the quotes around it are dropped before the chunk is split into rows.
_NULL = b"\0\0"
_QUOTED_NULL = b'"\0\0"'

Column = list  # of bytes, or None for NULL


def status_literal(tag: str) -> str:
    """A command's status as dblink returns it: one text field."""
    return '("' + tag.replace("\\", "\\\\").replace('"', '\\"') + '")'


class LiteralMaker:
    """Record literals from results of one query, in the connection's encoding."""

    __slots__ = ("_decode", "wrapped")

    def __init__(self, codec: str, encoding: str, wrapped: bool) -> None:
        self._decode = _decoder(codec, encoding)
        self.wrapped = wrapped  # each row is one value: record_out's text of the row

    def from_rows(self, results: list[pq.PGresult]) -> list[str]:
        """Literals of single-row results (single-row mode), one per result."""
        count = len(results)
        zeros = repeat(0, count)
        if self.wrapped:
            return self._split(b"\0".join(map(_value, results, zeros, repeat(0, count))))
        return self._assemble(
            [list(map(_value, results, repeat(0, count), repeat(column, count)))
             for column in range(results[0].nfields)],
            count,
        )

    def from_result(self, result: pq.PGresult, start: int, stop: int) -> list[str]:
        """Literals of rows start..stop-1 of one result."""
        count = stop - start
        if self.wrapped:
            return self._split(
                b"\0".join(map(_value, repeat(result, count), range(start, stop), repeat(0, count)))
            )
        return self._assemble(
            [list(map(_value, repeat(result, count), range(start, stop), repeat(column, count)))
             for column in range(result.nfields)],
            count,
        )

    def from_columns(self, columns: list[Column], count: int) -> list[str]:
        """Literals of `count` rows given column by column (bytes, None for NULL)."""
        return self._assemble(columns, count)

    def _assemble(self, columns: list[Column], count: int) -> list[str]:
        nulls = False
        for index, column in enumerate(columns):
            if None in column:
                nulls = True
                column = columns[index] = [_NULL if v is None else v for v in column]
            joined = b"\0".join(column)
            if b"\\" in joined:
                column = columns[index] = list(map(bytes.replace, column, repeat(b"\\", count),
                                                   repeat(b"\\\\", count)))
            if b'"' in joined:
                columns[index] = list(map(bytes.replace, column, repeat(b'"', count),
                                          repeat(b'\\"', count)))
        chunk = b'("' + b'")\0("'.join(map(b'","'.join, zip(*columns))) + b'")'
        if nulls:
            chunk = chunk.replace(_QUOTED_NULL, b"")
        return self._split(chunk)

    def _split(self, chunk: bytes) -> list[str]:
        return self._decode(chunk).split("\0")


def _decoder(codec: str, encoding: str) -> Callable[[bytes], str]:
    """bytes -> str in the connection's encoding (PostgreSQL's name for it: `encoding`);
    bytes that are not valid in it are refused as PostgreSQL refuses them."""

    def decode(raw: bytes) -> str:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise InvalidByteSequence(encoding, raw[exc.start:exc.end + 1]) from None

    return decode
