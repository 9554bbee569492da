"""The wrapper that has the remote write each row as one record literal, and its errors told as the user's query's."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

PREFIX = "SELECT ROW(dblink_py_q.*) FROM ("
SUFFIX = "\n) AS dblink_py_q"
END_OF_INPUT = "syntax error at end of input"

# How libpq shows an error's position under the message: a line of the query
# at most this many columns wide, cut at least this far right of the position.
DISPLAY_COLUMNS = 60
RIGHT_MARGIN = 10
# PostgreSQL's encodings whose characters can take more than one byte (and
# libpq more than one column)
MULTIBYTE_ENCODINGS = frozenset({"UTF8", "EUC_JP", "EUC_CN", "EUC_KR", "EUC_TW", "EUC_JIS_2004", "MULE_INTERNAL",
                                 "SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "UHC", "GB18030", "JOHAB"})


@dataclass(frozen=True)
class Wrapped:
    """sql[start:end], the one statement of `sql`, inside the wrapper."""

    sql: str
    start: int
    end: int

    @property
    def text(self) -> str:
        return PREFIX + self.sql[self.start:self.end] + SUFFIX

    def original_error(self, message: str, position: int, sqlstate: str) -> tuple[str, int] | None:
        """(message, position) of the error the user's query would have had for
        this error at `position` (1-based, characters) of the wrapped text;
        None where it is not the user's."""
        offset = position - 1 - len(PREFIX)
        if offset < 0:
            return None
        if offset < self.end - self.start:
            return message, self.start + offset + 1
        if sqlstate != "42601":
            return None
        # the parser reached the suffix: the statement ended early, at the
        # user's ";" or at the end of the user's text
        semicolon = _next_semicolon(self.sql, self.end)
        if semicolon is None:
            return END_OF_INPUT, len(self.sql) + 1
        return 'syntax error at or near ";"', semicolon + 1


def _next_semicolon(sql: str, index: int) -> int | None:
    """The index of the first ";" at or after `index`, past blanks and comments."""
    size = len(sql)
    while index < size:
        if sql.startswith("--", index):
            newline = sql.find("\n", index)
            index = size if newline < 0 else newline + 1
        elif sql.startswith("/*", index):
            depth, index = 1, index + 2
            while index < size and depth:
                if sql.startswith("/*", index):
                    depth, index = depth + 1, index + 2
                elif sql.startswith("*/", index):
                    depth, index = depth - 1, index + 2
                else:
                    index += 1
        elif sql[index] == ";":
            return index
        elif sql[index].isspace():
            index += 1
        else:
            return None
    return None


def _width(char: str, wide: bool) -> int:
    if wide and unicodedata.east_asian_width(char) in ("W", "F"):
        return 2
    return 1  # libpq counts controls and combining characters as one column too


def position_marker(query: str, position: int, wide: bool = True) -> str:
    """The two lines libpq adds to an error message for `position` (1-based,
    in characters) of `query`: "LINE n: <that line>" and a caret under the
    position; "" where libpq adds none. `wide`: double-width characters
    take two columns (a multibyte encoding)."""
    loc = position - 1
    if loc < 0:
        return ""
    columns = [0]  # columns[i]: the screen column where character i starts
    line, begin, end = 1, 0, None
    for index, char in enumerate(query):
        if char in "\r\n":
            if index >= loc:
                end = index
                break
            if char == "\r" or index == 0 or query[index - 1] != "\r":
                line += 1
            begin = index + 1
        columns.append(columns[-1] + _width(char, wide))
    if end is None:
        end = len(query)
        if loc > end:
            return ""
    cut_left = cut_right = False
    if columns[end] - columns[begin] > DISPLAY_COLUMNS:
        if columns[begin] + DISPLAY_COLUMNS >= columns[loc] + RIGHT_MARGIN:
            while columns[end] - columns[begin] > DISPLAY_COLUMNS:
                end -= 1
            cut_right = True
        else:
            while columns[loc] + RIGHT_MARGIN < columns[end]:
                end -= 1
                cut_right = True
            while columns[end] - columns[begin] > DISPLAY_COLUMNS:
                begin += 1
                cut_left = True
    label = f"LINE {line}: " + ("..." if cut_left else "")
    text = query[begin:end].replace("\t", " ") + ("..." if cut_right else "")
    return f"{label}{text}\n{' ' * (len(label) + columns[loc] - columns[begin])}^\n"


def retold(message: str, wrapped: Wrapped, position: int, original: tuple[str, int], primary: str,
           wide: bool = True) -> str:
    """libpq's text of an error in the wrapped query (`message`) as it would
    read for the user's query; unchanged where it is not laid out as expected."""
    ours = position_marker(wrapped.text, position, wide)
    if not ours or ours not in message:
        return message
    theirs = position_marker(wrapped.sql, original[1], wide)
    message = message.replace(ours, theirs, 1)
    if original[0] != primary:
        message = message.replace(primary, original[0], 1)
    return message
