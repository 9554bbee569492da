"""Remote values as text, shaped so PL/Python converts them right for any declared local type."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Sequence

from .errors import ConversionError

__all__ = [
    "RemoteArray",
    "RemoteText",
    "make_row_converter",
    "parse_array_literal",
    "parse_bool",
    "parse_bytea",
    "raise_unreported_error",
    "remote_value",
]

BOX_ARRAY_OID = 1020
INT2VECTOR_OID = 22
OIDVECTOR_OID = 30
MAXDIM = 6  # array_in's limit on dimensions

# The white space of PostgreSQL's array_in() and boolin() (isspace() in C).
_SPACE = " \t\n\r\v\f"
_SPACE_CLASS = r" \t\n\r\v\f"

# Built-in types whose text form never starts with "{{": their values skip
# the test for a multi-dimensional array literal.
_NEVER_NESTED_OIDS = frozenset(
    {
        16, 17, 18, 20, 21, 23, 26, 114, 600, 601, 602, 603, 604, 628, 650,
        700, 701, 718, 774, 790, 829, 869, 1082, 1083, 1114, 1184, 1186, 1266,
        1560, 1562, 1700, 2950, 3220, 3802,
    }
)  # fmt: skip


def _server_error_class() -> type[ConversionError]:
    """ConversionError; inside the server, a subclass that is also a plpy.Error.

    PL/Python reports a plpy.Error with its ``sqlstate``, ``detail`` and
    ``hint`` attributes even when it escapes from PL/Python's own conversion
    of a returned value (``bytes()``, ``len()``), where no Python code can
    catch it; any other exception becomes SQLSTATE 38000.
    """
    try:
        import plpy  # type: ignore[import-not-found]
    except ImportError:
        return ConversionError
    # PL/Python reads these attributes too; a missing one leaves an
    # AttributeError pending in the interpreter.
    fields = ("schema_name", "table_name", "column_name", "datatype_name", "constraint_name")
    namespace = {"__module__": ConversionError.__module__, **dict.fromkeys(fields)}
    return type("ConversionError", (ConversionError, plpy.Error), namespace)


_Error = _server_error_class()


# --- boolean --------------------------------------------------------------

# Every spelling boolin() accepts, trimmed and lower-cased: unique prefixes of
# true/false/yes/no, "on", "of"/"off" (a lone "o" is ambiguous), "1", "0".
_BOOL_WORDS: dict[str, bool] = {
    **{"true"[:n]: True for n in range(1, 5)},
    **{"false"[:n]: False for n in range(1, 6)},
    **{"yes"[:n]: True for n in range(1, 4)},
    **{"no"[:n]: False for n in range(1, 3)},
    "on": True,
    "of": False,
    "off": False,
    "1": True,
    "0": False,
}

# The first error parse_bool() raised since make_row_converter() or
# raise_unreported_error() last ran.
_unreported: ConversionError | None = None


def parse_bool(text: str) -> bool:
    """Parse a boolean literal exactly as PostgreSQL's boolin() does."""
    global _unreported
    word = str.strip(text, _SPACE)
    if word.isascii():
        value = _BOOL_WORDS.get(word.lower())
        if value is not None:
            return value
    error = _Error(f'invalid input syntax for type boolean: "{text}"')
    if _unreported is None:
        _unreported = error
    raise error


def raise_unreported_error() -> None:
    """Raise the boolean error that PL/Python let pass, if there is one.

    PostgreSQL 15's PL/Python converts a boolean column with the Python truth
    value and does not check whether ``__bool__`` raised: the row gets true
    and the exception stays pending, to surface later as a SystemError of
    some unrelated call or, once the generator ends, as "error fetching next
    item from iterator".  A set-returning function calls this first thing
    after each ``yield``: being pure Python, it replaces the pending
    exception with the real one before any C call can misreport it.
    """
    global _unreported
    error = _unreported
    if error is not None:
        _unreported = None
        raise error


def conversion_error(message: str, *, sqlstate: str, detail: str | None = None) -> ConversionError:
    """An error to raise from inside PL/Python's own conversion of a value:
    a plpy.Error there, so PL/Python keeps its SQLSTATE and message."""
    return _Error(message, sqlstate=sqlstate, detail=detail)


def unreported_error_pending() -> bool:
    """Whether raise_unreported_error has something to raise (pure Python)."""
    return _unreported is not None


def discard_unreported_error() -> None:
    """Start a statement with no error left over from an earlier one."""
    global _unreported
    _unreported = None


def _pending_error(error: SystemError) -> ConversionError | None:
    """The ConversionError that caused a SystemError, if one did.

    An error PL/Python left pending (a boolean column's) turns the next C
    call into ``SystemError: ... returned a result with an exception set``,
    caused by the pending error; when that happens inside PL/Python's
    conversion of a later column of the row, the real error is the better
    report.
    """
    cause: BaseException | None = error
    while isinstance(cause, SystemError):
        cause = cause.__cause__
    return cause if isinstance(cause, ConversionError) else None


# --- bytea ----------------------------------------------------------------

_BYTEA_ESCAPED = re.compile(r"(?:[^\\]|\\[0-3][0-7][0-7]|\\\\)*")
_BYTEA_ESCAPE = re.compile(rb"\\([0-3][0-7][0-7]|\\)")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_bytea(text: str) -> bytes:
    """Decode bytea's text form, hex or escape format, as PostgreSQL's byteain() does.

    Characters other than escapes stand for their UTF-8 bytes (byteain
    takes the server encoding's; bytea's own output is plain ASCII).
    """
    text = str.__str__(text)
    if text.startswith("\\x"):
        digits = text[2:]
        # hex_decode() skips " \n\t\r" between byte pairs; fromhex() also \v \f.
        if "\v" not in digits and "\f" not in digits:
            try:
                return bytes.fromhex(digits)
            except ValueError:
                pass
        raise _hex_error(digits)
    if "\\" not in text:
        return text.encode()
    if _BYTEA_ESCAPED.fullmatch(text) is None:
        raise _Error("invalid input syntax for type bytea")
    return _BYTEA_ESCAPE.sub(_unescape_byte, text.encode())


def _unescape_byte(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    return b"\\" if code == b"\\" else bytes((int(code, 8),))


def _hex_error(digits: str) -> ConversionError:
    """The error hex_decode() reports for digits that do not decode."""
    position = 0
    while position < len(digits):
        if digits[position] in " \n\t\r":
            position += 1
            continue
        for digit in digits[position : position + 2]:
            if digit not in _HEX_DIGITS:
                return _Error(f'invalid hexadecimal digit: "{digit}"', sqlstate="22023")
        position += 2
    return _Error("invalid hexadecimal data: odd number of digits", sqlstate="22023")


# --- values ---------------------------------------------------------------


class RemoteText(str):
    """A remote value's text form that PL/Python converts right for any local type.

    It is the exact text for scalar, enum, domain and composite columns;
    ``bool()`` follows boolin(), ``bytes()`` follows byteain(), and the
    sequence protocol (``len``, indexing, iteration) gives the elements of a
    one-dimensional array literal, parsed on first use.  Everything else
    (``str()``, ``==``, hashing, ``in``, methods, encoding) is the text's.
    """

    _delimiter = ","
    _items: list[Element] | None = None
    _error: ConversionError | None = None

    def __bool__(self) -> bool:
        return parse_bool(self)

    def __bytes__(self) -> bytes:
        try:
            return parse_bytea(self)
        except SystemError as error:
            cause = _pending_error(error)
            if cause is None:
                raise
            raise cause from None

    def _elements(self) -> list[Element]:
        """Parse the array literal once; remember the result or the error."""
        # PL/Python 15 calls len() twice and ignores an error from the first
        # call, so the second must re-raise it before any C call: attribute
        # reads only, no method calls.
        if self._error is not None:
            raise self._error
        try:
            items = self._items = self._parse()
        except ConversionError as error:
            self._error = error
            raise
        except SystemError as error:
            cause = _pending_error(error)
            if cause is None:
                raise
            raise cause from None
        return items

    def _parse(self) -> list[Element]:
        return _parse_literal(str.__str__(self), self._delimiter)

    # The sequence methods run once per array element for millions of rows:
    # read the cache inline, call _elements() only the first time.
    def __len__(self) -> int:
        items = self._items
        return len(self._elements() if items is None else items)

    def __getitem__(self, index: int | slice) -> Element | list[Element]:  # type: ignore[override]
        items = self._items
        return (self._elements() if items is None else items)[index]

    def __iter__(self) -> Iterator[Element]:  # type: ignore[override]
        items = self._items
        return iter(self._elements() if items is None else items)


class _VectorText(RemoteText):
    """An int2vector or oidvector value, which PL/Python cannot return as such.

    PL/Python converts a local int2vector or oidvector column like an array,
    but builds it with lower bound 1 where these types have 0, so ``v[0]``
    and ``=`` would silently go wrong; asking for its elements is an error.
    """

    def _parse(self) -> list[Element]:
        raise _Error(
            f'cannot return int2vector or oidvector value "{self}" through PL/Python, '
            "which would give it lower bound 1",
            sqlstate="0A000",
            hint="Declare the column as text and cast it locally.",
        )


class RemoteArray(list):  # type: ignore[type-arg]
    """One dimension of a multi-dimensional array literal, as a Python list.

    PL/Python builds a multi-dimensional array only from nested lists.  The
    items are the sub-arrays or elements; ``str()`` is the literal text of
    this (sub-)array, and ``bool()``/``bytes()`` parse that text as
    RemoteText does, so the value suits text, boolean and bytea columns too.
    """

    __slots__ = ("text",)

    def __init__(self, items: Sequence[Element], text: str) -> None:
        list.__init__(self, items)  # not super(): arrays are made per row
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return parse_bool(self.text)

    def __bytes__(self) -> bytes:
        return parse_bytea(self.text)


Element = RemoteText | RemoteArray | None
_text_classes: dict[str, type[RemoteText]] = {",": RemoteText}


def _text_class(delimiter: str) -> type[RemoteText]:
    """The RemoteText class whose array elements are separated by ``delimiter``."""
    cls = _text_classes.get(delimiter)
    if cls is None:
        namespace = {"_delimiter": delimiter, "__slots__": ()}
        cls = _text_classes[delimiter] = type("RemoteText", (RemoteText,), namespace)
    return cls


def remote_value(text: str, delimiter: str = ",") -> RemoteText | RemoteArray:
    """The object to hand PL/Python for one non-NULL remote value.

    A multi-dimensional array literal (it starts with ``{{``) becomes a
    RemoteArray, parsed now, because PL/Python finds dimensions only in real
    lists; anything else, or a ``{{`` text that is no valid array, becomes a
    RemoteText, which parses nothing until asked.
    """
    if text[:2] == "{{":
        try:
            return RemoteArray(parse_array_literal(text, delimiter), text)
        except ConversionError:
            pass
    return _text_class(delimiter)(text)


def value_maker(type_oid: int) -> Callable[[str | None], RemoteText | RemoteArray | None]:
    """For one column, what make_row_converter makes of a decoded value."""
    if type_oid == BOX_ARRAY_OID:
        return lambda text: None if text is None else remote_value(text, ";")
    if type_oid in (INT2VECTOR_OID, OIDVECTOR_OID):
        return lambda text: None if text is None else _VectorText(text)
    if type_oid in _NEVER_NESTED_OIDS:
        return lambda text: None if text is None else RemoteText(text)
    return lambda text: None if text is None else remote_value(text)


def make_row_converter(
    type_oids: list[int], decode: Callable[[bytes], str] | str
) -> Callable[[Sequence[bytes | None]], tuple[RemoteText | RemoteArray | None, ...]]:
    """Build the function that turns one row of raw libpq values into PL/Python values.

    ``type_oids`` are the remote columns' types.  ``decode`` turns a value's
    bytes into str; a Python codec name instead decodes inside the RemoteText
    constructor (``bytes.decode`` is as fast for UTF-8).  A non-NULL value
    becomes ``remote_value(decode(value))``, with ';' separating the
    elements of box[] (OID 1020); int2vector and oidvector values refuse
    to be read as arrays (see _VectorText).  The function is generated for
    the column list: no loop, and no call per value but the constructor.
    """
    global _unreported
    _unreported = None
    namespace: dict[str, object] = {"T": RemoteText, "V": remote_value, "W": _VectorText}
    if isinstance(decode, str):
        encoding = decode
        namespace["E"] = encoding
        namespace["D"] = lambda value: str(value, encoding)
        plain = "T(v{0}, E)"
    else:
        namespace["D"] = decode
        plain = "T(D(v{0}))"
    columns = []
    for oid in type_oids:
        if oid == BOX_ARRAY_OID:
            column = "V(D(v{0}), ';')"
        elif oid in (INT2VECTOR_OID, OIDVECTOR_OID):
            column = "W(D(v{0}))"
        elif oid in _NEVER_NESTED_OIDS:
            column = plain
        else:  # comparing bytes is the cheapest test for a leading "{{"
            column = plain + " if v{0} < b'{{{{' or v{0} >= b'{{|' else V(D(v{0}))"
        columns.append("None if v{0} is None else " + column)
    names = "".join(f"v{i}, " for i in range(len(type_oids)))
    values = "".join(column.format(i) + ", " for i, column in enumerate(columns))
    source = f"def convert_row(row):\n    ({names}) = row\n    return ({values})\n"
    exec(source, namespace)  # noqa: S102 - the source holds column numbers only
    return namespace["convert_row"]  # type: ignore[return-value]


# --- array literals -------------------------------------------------------


class _Syntax:
    """The compiled patterns of array literals with one element delimiter."""

    def __init__(self, delimiter: str) -> None:
        d = re.escape(delimiter)
        plain = rf'[^{{}}"\\{d}{_SPACE_CLASS}]'
        char = rf"(?:{plain}|\\[\s\S])"
        quoted = r'"[^"\\]*(?:\\[\s\S][^"\\]*)*"'
        item = rf"(?:{quoted}|{plain}+)"
        # Characters that keep braces from being array_out's simplest output.
        self.not_bare = re.compile(rf'[{{}}"\\{_SPACE_CLASS}]')
        # An unquoted NULL in a literal without white space.
        self.null = re.compile(rf"(?i)[{{{d}]null[{d}}}]")
        # One level of elements, quoted or bare, without white space around
        # them: array_out's output, and each innermost level of it.
        self.flat = re.compile(rf"\{{(?:{item}(?:{d}{item})*)?\}}")
        self.flat_item = re.compile(rf'"((?:{quoted[1:-1]}))"|({plain}+)')
        # Characters that keep a two-dimensional literal from being bare.
        self.not_bare_grid = re.compile(rf'["\\{_SPACE_CLASS}]')
        # Any token after white space; a lone white-space character is
        # trailing space, a lone '"' or '\' a malformed end.
        self.token = re.compile(
            rf"[{_SPACE_CLASS}]*([{{}}]|{d}|{quoted}|{char}(?:[{_SPACE_CLASS}]*{char})*|[\s\S])"
        )


_COMMA = _Syntax(",")
_SYNTAX: dict[str, _Syntax] = {",": _COMMA}
_DIMENSION = re.compile(rf"[{_SPACE_CLASS}]*\[([0-9+-]+)(?::([0-9+-]+))?\]")
_ATOI = re.compile(r"[+-]?[0-9]*")
_SKIP_SPACE = re.compile(rf"[{_SPACE_CLASS}]*")
_UNESCAPE = re.compile(r"\\([\s\S])")
_ESCAPED_CHAR = operator.itemgetter(1)  # as a C callable, far faster than r"\1"


def _syntax(delimiter: str) -> _Syntax:
    syntax = _SYNTAX.get(delimiter)
    if syntax is None:
        syntax = _SYNTAX[delimiter] = _Syntax(delimiter)
    return syntax


def _malformed(text: str, detail: str) -> ConversionError:
    return _Error(f'malformed array literal: "{text}"', detail=detail)


def _too_many_dimensions() -> ConversionError:
    return _Error(
        f"number of array dimensions ({MAXDIM + 1}) exceeds the maximum allowed ({MAXDIM})",
        sqlstate="54000",
    )


def parse_array_literal(text: str, delimiter: str = ",") -> list[Element]:
    """Parse a PostgreSQL array literal as array_in() does.

    Returns the elements, RemoteText or None for an unquoted NULL; for a
    multi-dimensional literal the items are RemoteArray sub-arrays.  A
    dimension decoration (``[1:3]={...}``) is accepted when every lower bound
    is 1: PL/Python cannot return other lower bounds (SQLSTATE 0A000).
    """
    return _parse_literal(str(text), delimiter)


def _parse_literal(text: str, delimiter: str) -> list[Element]:
    """parse_array_literal() for a str: array_out's usual output without Python loops."""
    syntax = _COMMA if delimiter == "," else _syntax(delimiter)
    braced = text[:1] == "{" and text[-1:] == "}"
    if braced and syntax.not_bare.search(text, 1, len(text) - 1) is None:
        items = text[1:-1].split(delimiter)
        if "" not in items:
            if syntax.null.search(text) is None:
                return list(map(RemoteText, items))
            return [None if item.upper() == "NULL" else RemoteText(item) for item in items]
    if syntax.flat.fullmatch(text) is not None:
        return _flat_elements(text, 0, len(text), syntax)
    if text[:2] == "{{" and text[-2:] == "}}" and syntax.not_bare_grid.search(text) is None:
        rows = _bare_grid(text, delimiter, syntax)
        if rows is not None:
            return rows
    return _parse_general(text, delimiter, syntax)


def _bare_grid(text: str, delimiter: str, syntax: _Syntax) -> list[Element] | None:
    """The rows of a two-dimensional literal of bare elements (``{{1,2},{3,4}}``).

    None when it is not one after all; the general parser then decides.
    """
    rows = text[2:-2].split("}" + delimiter + "{")
    grid = [row.split(delimiter) for row in rows]
    width = len(grid[0])
    for row, items in zip(rows, grid):
        if "{" in row or "}" in row or "" in items or len(items) != width:
            return None
    if syntax.null.search(text) is None:
        return [
            RemoteArray(list(map(RemoteText, items)), "{" + row + "}")
            for row, items in zip(rows, grid)
        ]
    return [
        RemoteArray(
            [None if item.upper() == "NULL" else RemoteText(item) for item in items],
            "{" + row + "}",
        )
        for row, items in zip(rows, grid)
    ]


def _flat_elements(text: str, start: int, end: int, syntax: _Syntax) -> list[Element]:
    """The elements of ``text[start:end]``, a level that ``syntax.flat`` matched."""
    pairs = syntax.flat_item.findall(text, start + 1, end - 1)  # (quoted, bare), one is ""
    if text.find("\\", start, end) < 0 and syntax.null.search(text, start, end) is None:
        return list(map(RemoteText, map("".join, pairs)))
    return [
        _unescaped(quoted) if not bare else None if bare.upper() == "NULL" else RemoteText(bare)
        for quoted, bare in pairs
    ]


def _unescaped(value: str) -> RemoteText:
    return RemoteText(_UNESCAPE.sub(_ESCAPED_CHAR, value) if "\\" in value else value)


def _parse_general(text: str, delimiter: str, syntax: _Syntax) -> list[Element]:
    """Parse any literal array_in() accepts: white space, escapes, dimensions, decoration."""
    bounds, position = _parse_dimensions(text)
    if text[position : position + 1] != "{":
        if bounds:
            raise _malformed(text, 'Array contents must start with "{".')
        if text[position : position + 1] == "[":
            raise _malformed(text, '"[" must introduce explicitly-specified array dimensions.')
        raise _malformed(text, 'Array value must start with "{" or dimension information.')
    # Like array_in, errors in the braces quote the text from the first "{".
    braces = text[position:]
    elements, shape, end = _parse_level(braces, 0, delimiter, syntax, 1)
    if braces[end:].strip(_SPACE):
        raise _malformed(braces, "Junk after closing right brace.")
    if bounds:
        if shape != tuple(upper - lower + 1 for lower, upper in bounds):
            raise _malformed(text, "Specified array dimensions do not match array contents.")
        for lower, _ in bounds:
            if lower != 1:
                raise _Error(
                    f'array "{text}" has lower bound {lower}, but PL/Python can only '
                    "return arrays whose lower bounds are 1",
                    sqlstate="0A000",
                    hint="Select the array as text and cast it locally.",
                )
    return elements


def _parse_dimensions(text: str) -> tuple[list[tuple[int, int]], int]:
    """Parse a ``[lower:upper]...=`` decoration, if any: its bounds and where the braces start."""
    bounds: list[tuple[int, int]] = []
    position = 0
    while (match := _DIMENSION.match(text, position)) is not None:
        if len(bounds) == MAXDIM:
            raise _too_many_dimensions()
        first, second = match.groups()
        lower, upper = (1, _atoi(first)) if second is None else (_atoi(first), _atoi(second))
        if upper < lower:
            raise _Error("upper bound cannot be less than lower bound", sqlstate="2202E")
        bounds.append((lower, upper))
        position = match.end()
    position = _SKIP_SPACE.match(text, position).end()  # type: ignore[union-attr]
    if bounds:
        if text[position : position + 1] != "=":
            raise _malformed(text, 'Missing "=" after array dimensions.')
        position = _SKIP_SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
    return bounds, position


def _atoi(digits: str) -> int:
    """C's atoi(), which array_in applies to what it took for dimension digits."""
    number = _ATOI.match(digits).group()  # type: ignore[union-attr]
    return int(number) if number.lstrip("+-") else 0


def _parse_level(
    text: str, start: int, delimiter: str, syntax: _Syntax, depth: int
) -> tuple[list[Element], tuple[int, ...], int]:
    """Parse the level whose "{" is at ``start``: its items, its shape, the position after it."""
    flat = syntax.flat.match(text, start)
    if flat is not None and (depth == 1 or flat.end() - start > 2):
        items = _flat_elements(text, start, flat.end(), syntax)
        return items, (len(items),) if items else (), flat.end()
    items: list[Element] = []
    nested: bool | None = None  # whether this level holds sub-arrays
    inner_shape: tuple[int, ...] = ()
    position = start + 1
    while True:
        match = syntax.token.match(text, position)
        token = match.group(1) if match is not None else ""
        if token == "}" and depth == 1 and not items:
            return items, (), match.end()  # type: ignore[union-attr]
        if token == "{" and nested is not False:
            if depth == MAXDIM:
                raise _too_many_dimensions()
            opened = match.start(1)  # type: ignore[union-attr]
            sub, shape, position = _parse_level(text, opened, delimiter, syntax, depth + 1)
            if nested is None:
                nested, inner_shape = True, shape
            elif shape != inner_shape:
                raise _malformed(
                    text, "Multidimensional arrays must have sub-arrays with matching dimensions."
                )
            items.append(RemoteArray(sub, text[opened:position]))
        elif nested is not True and _is_element(token, delimiter):
            nested = False
            position = match.end()  # type: ignore[union-attr]
            if token[0] == '"':
                items.append(_unescaped(token[1:-1]))
            elif len(token) == 4 and token.upper() == "NULL":
                items.append(None)
            else:
                items.append(_unescaped(token))
        else:
            raise _unexpected(text, token, delimiter)
        match = syntax.token.match(text, position)
        token = match.group(1) if match is not None else ""
        position = match.end() if match is not None else position
        if token == "}":
            return items, (len(items), *inner_shape), position
        if token != delimiter:
            raise _unexpected(text, token, delimiter)


def _is_element(token: str, delimiter: str) -> bool:
    """Whether a token is a quoted or unquoted element (not a brace, delimiter, end or junk)."""
    if token in ("", "{", "}", delimiter, '"', "\\"):
        return False
    return token.strip(_SPACE) != ""


def _unexpected(text: str, token: str, delimiter: str) -> ConversionError:
    """The error for a token where it may not come; "" is the end of the text."""
    if token in ("{", "}", delimiter):
        return _malformed(text, f'Unexpected "{token}" character.')
    if _is_element(token, delimiter):
        return _malformed(text, "Unexpected array element.")
    return _malformed(text, "Unexpected end of input.")
