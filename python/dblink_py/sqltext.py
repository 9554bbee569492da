"""What dblink_py needs to know about SQL text before sending it: its statements and their shape.

pglast cannot be used here: its libpg_query carries a copy of PostgreSQL's
parser whose symbols clash with the backend's own (the backend crashes when
it is imported), so this is a small scanner that knows just enough of the
lexical rules (quotes, dollar quotes, comments, BEGIN ATOMIC bodies) to find
the semicolons that end statements, and to tell a plain query that may be
read through ``SELECT ROW(q.*) FROM (<query>) q`` (see queries.py).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

# Identifier characters as PostgreSQL's scanner has them: ASCII letters, "_"
# and every non-ASCII character, then also digits (and "$" in words);
# written as negated ASCII classes, which compile in a fraction of the time
# of a class up to U+10FFFF.
_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<estring>[eE]')
    | (?P<string>')
    | (?P<ident>")
    | (?P<dollar>\$(?:[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*)?\$)
    | (?P<semicolon>;)
    | (?P<word>[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_BLOCK_COMMENT_PART = re.compile(r"/\*|\*/")
_ESTRING_END = re.compile(r"(?:[^'\\]|\\.|'')*'", re.DOTALL)
_STRING_END = re.compile(r"(?:[^']|'')*'", re.DOTALL)
_IDENT_END = re.compile(r'(?:[^"]|"")*"', re.DOTALL)

# A plain query: its rows can be read as one record per row.
_QUERY_STARTS = frozenset({"select", "values", "with"})
# Words that make a query unfit for a subquery: SELECT ... INTO anywhere, and
# data-modifying statements in WITH; checked everywhere outside quotes, which
# is stricter than needed (WITH ... FOR UPDATE is read the ordinary way).
_NEVER_IN_SUBQUERY = frozenset({"into"})
_NOT_IN_SUBQUERY_AFTER_WITH = frozenset({"insert", "update", "delete", "merge"})
# What may follow SELECT when its target list is empty (zero columns).
_AFTER_EMPTY_TARGETS = frozenset(
    {"from", "where", "group", "having", "window", "order", "limit", "offset", "fetch",
     "for", "union", "intersect", "except"}
)  # fmt: skip


@dataclass(frozen=True)
class Shape:
    """The statements of a query string.

    `count`: how many non-empty statements; `last`: (start, end) of the
    last one's text; `plain`: a single plain query (SELECT, VALUES, WITH ...
    SELECT) that may be used as a subquery.
    """

    count: int
    last: tuple[int, int]
    plain: bool


class _Unterminated(Exception):
    """A quote or comment that does not end: the remote server will say so."""


def _skip_block_comment(sql: str, pos: int) -> int:
    depth = 1
    while depth:
        match = _BLOCK_COMMENT_PART.search(sql, pos)
        if match is None:
            raise _Unterminated
        depth += 1 if match.group() == "/*" else -1
        pos = match.end()
    return pos


def _skip(pattern: re.Pattern[str], sql: str, pos: int) -> int:
    match = pattern.match(sql, pos)
    if match is None:
        raise _Unterminated
    return match.end()


class _Statement:
    """What the scanner learns of one statement while reading it."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.end = start
        self.first_word = ""
        self.words: set[str] = set()  # every word outside quotes, lowercased
        self.depth = 0  # parentheses
        self.balanced = True
        self.after_select = False  # the last depth-0 token was SELECT (or SELECT ALL)
        self.empty_targets = False  # a depth-0 SELECT with no target list
        self.atomic_depth: int | None = None  # inside BEGIN ATOMIC ... END


def _scan(sql: str) -> tuple[list[_Statement], bool]:
    """The non-empty statements of `sql`, and whether the text ended cleanly."""
    statements: list[_Statement] = []
    current: _Statement | None = None
    pos = 0
    previous = ""
    try:
        while pos < len(sql):
            match = _TOKEN.match(sql, pos)
            assert match is not None  # "other" matches any character
            kind = match.lastgroup
            start, pos = match.start(), match.end()
            if kind in ("space", "line_comment"):
                continue
            if kind == "block_comment":
                pos = _skip_block_comment(sql, pos)
                continue
            if kind == "semicolon" and (current is None or current.atomic_depth is None):
                if current is not None and current.after_select:
                    current.empty_targets = True
                current, previous = None, ""
                continue
            if current is None:
                current = _Statement(start)
                statements.append(current)
            if kind == "estring":
                pos = _skip(_ESTRING_END, sql, pos)
            elif kind == "string":
                pos = _skip(_STRING_END, sql, pos)
            elif kind == "ident":
                pos = _skip(_IDENT_END, sql, pos)
            elif kind == "dollar":
                end = sql.find(match.group(), pos)
                if end < 0:
                    raise _Unterminated
                pos = end + len(match.group())
            current.end = pos
            token = match.group().lower() if kind == "word" else match.group()
            _note(current, kind == "word", token, previous)
            previous = token
    except _Unterminated:
        if current is None:
            current = _Statement(start)
            statements.append(current)
        current.end = len(sql)
        return statements, False
    if current is not None and current.after_select:
        current.empty_targets = True
    return statements, True


def _note(statement: _Statement, is_word: bool, token: str, previous: str) -> None:
    """Track BEGIN ATOMIC bodies, parentheses, and what decides plainness."""
    if statement.atomic_depth is not None:
        if token == "case":
            statement.atomic_depth += 1
        elif token == "end":
            statement.atomic_depth -= 1
            if statement.atomic_depth < 0:
                statement.atomic_depth = None
        return
    if is_word and token == "atomic" and previous == "begin":
        statement.atomic_depth = 0
        return
    if not statement.first_word:
        statement.first_word = token if is_word else "("
    if is_word:
        statement.words.add(token)
    if statement.depth == 0:
        if statement.after_select:
            statement.after_select = is_word and token == "all"
            if is_word and token in _AFTER_EMPTY_TARGETS:
                statement.empty_targets = True
        elif is_word and token == "select":
            statement.after_select = True
    if token == "(":
        statement.depth += 1
    elif token == ")":
        statement.depth -= 1
        if statement.depth < 0:
            statement.balanced = False


def _plain(statement: _Statement) -> bool:
    return (
        statement.first_word in _QUERY_STARTS
        and statement.balanced
        and statement.depth == 0
        and not statement.empty_targets
        and not statement.words & _NEVER_IN_SUBQUERY
        and not (statement.first_word == "with" and statement.words & _NOT_IN_SUBQUERY_AFTER_WITH)
    )


_CACHE_ENTRIES = 256
_CACHE_TEXT_LIMIT = 8192
_cache: OrderedDict[str, Shape] = OrderedDict()


def shape(sql: str) -> Shape:
    """The statements of a query string (remembered for short texts)."""
    cached = _cache.get(sql)
    if cached is not None:
        _cache.move_to_end(sql)
        return cached
    found = _shape(sql)
    if len(sql) <= _CACHE_TEXT_LIMIT:
        _cache[sql] = found
        if len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
    return found


def _shape(sql: str) -> Shape:
    statements, clean = _scan(sql)
    if not statements:
        return Shape(0, (0, 0), False)
    last = statements[-1]
    plain = clean and len(statements) == 1 and _plain(last)
    return Shape(len(statements), (last.start, last.end), plain)


def count_statements(sql: str) -> int:
    """How many non-empty statements a query string holds."""
    return shape(sql).count
