"""What dblink_py needs to know about SQL text before sending it: how many statements.

pglast cannot be used here: its libpg_query carries a copy of PostgreSQL's
parser whose symbols clash with the backend's own (the backend crashes when
it is imported), so this is a small scanner that knows just enough of the
lexical rules (quotes, dollar quotes, comments) to find the semicolons that
end statements.
"""

from __future__ import annotations

import functools
import re

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<estring>[eE]')
    | (?P<string>')
    | (?P<ident>")
    | (?P<dollar>\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z_0-9\x80-\U0010ffff]*)?\$)
    | (?P<semicolon>;)
    | (?P<word>[A-Za-z_\x80-\U0010ffff][A-Za-z_0-9$\x80-\U0010ffff]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_BLOCK_COMMENT_PART = re.compile(r"/\*|\*/")
_ESTRING_END = re.compile(r"(?:[^'\\]|\\.|'')*'", re.DOTALL)
_STRING_END = re.compile(r"(?:[^']|'')*'", re.DOTALL)
_IDENT_END = re.compile(r'(?:[^"]|"")*"', re.DOTALL)


class _Unknown(Exception):
    """The text uses something this scanner does not follow."""


def _skip_block_comment(sql: str, pos: int) -> int:
    depth = 1
    while depth:
        match = _BLOCK_COMMENT_PART.search(sql, pos)
        if match is None:
            raise _Unknown
        depth += 1 if match.group() == "/*" else -1
        pos = match.end()
    return pos


def _skip(pattern: re.Pattern[str], sql: str, pos: int) -> int:
    match = pattern.match(sql, pos)
    if match is None:
        raise _Unknown
    return match.end()


@functools.lru_cache(maxsize=1024)
def count_statements(sql: str) -> int | None:
    """How many non-empty statements a query string holds; None if unsure.

    Unsure means an unterminated quote or comment (the remote server will
    report the error) or a `BEGIN ATOMIC` body, whose inner semicolons do not
    end the statement. Callers then use a way that works without the count.
    """
    if ";" not in sql and "--" not in sql and "/*" not in sql:
        return 1 if sql.strip() else 0
    count = 0
    in_statement = False
    previous_word = ""
    pos = 0
    try:
        while pos < len(sql):
            match = _TOKEN.match(sql, pos)
            assert match is not None  # "other" matches any character
            kind = match.lastgroup
            pos = match.end()
            if kind in ("space", "line_comment"):
                continue
            if kind == "block_comment":
                pos = _skip_block_comment(sql, pos)
                continue
            if kind == "semicolon":
                count += in_statement
                in_statement = False
                previous_word = ""
                continue
            in_statement = True
            if kind == "estring":
                pos = _skip(_ESTRING_END, sql, pos)
            elif kind == "string":
                pos = _skip(_STRING_END, sql, pos)
            elif kind == "ident":
                pos = _skip(_IDENT_END, sql, pos)
            elif kind == "dollar":
                end = sql.find(match.group(), pos)
                if end < 0:
                    raise _Unknown
                pos = end + len(match.group())
            elif kind == "word":
                word = match.group().lower()
                if previous_word == "begin" and word == "atomic":
                    raise _Unknown
                previous_word = word
                continue
            previous_word = ""
    except _Unknown:
        return None
    return count + in_statement
