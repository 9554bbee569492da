"""Remote values in text form, shaped so PL/Python converts them right for any declared local type."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Optional, Union

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


def _pending_error(error: SystemError) -> BaseException:
    """The ConversionError behind a SystemError, else the SystemError.

    An error PL/Python left pending (a boolean column's) turns the next C
    call into ``SystemError: ... returned a result with an exception set``,
    caused by the pending error; when that happens inside PL/Python's
    conversion of a later column of the row, the real error is the better
    report.
    """
    cause: BaseException | None = error
    while isinstance(cause, SystemError):
        cause = cause.__cause__
    return cause if isinstance(cause, ConversionError) else error


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
    _items: Optional[list[Element]] = None
    _error: Optional[ConversionError] = None

    def __bool__(self) -> bool:
        return parse_bool(self)

    def __bytes__(self) -> bytes:
        try:
            return parse_bytea(self)
        except SystemError as error:
            raise _pending_error(error) from None

    def _elements(self) -> list[Element]:
        # PL/Python 15 calls len() twice and ignores an error from the first
        # call, so the second must re-raise it before any C call: attribute
        # reads only, no method calls.
        items = self._items
        if items is None:
            if self._error is not None:
                raise self._error
            try:
                items = self._items = self._parse()
            except ConversionError as error:
                self._error = error
                raise
            except SystemError as error:
                raise _pending_error(error) from None
        return items

    def _parse(self) -> list[Element]:
        return parse_array_literal(str.__str__(self), self._delimiter)

    def __len__(self) -> int:
        return len(self._elements())

    def __getitem__(self, index: int | slice) -> Element | list[Element]:  # type: ignore[override]
        return self._elements()[index]

    def __iter__(self) -> Iterator[Element]:  # type: ignore[override]
        return iter(self._elements())


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

    def __init__(self, items: Sequence[Element], text: str) -> None:
        super().__init__(items)
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return parse_bool(self.text)

    def __bytes__(self) -> bytes:
        return parse_bytea(self.text)


Element = Union[RemoteText, RemoteArray, None]
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

_SIMPLE_BODY = re.compile(r'[{}"\\]')
_DIMENSION = re.compile(rf"[{_SPACE_CLASS}]*\[([+-]?[0-9]+)(?::([+-]?[0-9]+))?\]")
_SKIP_SPACE = re.compile(rf"[{_SPACE_CLASS}]*")
_UNESCAPE = re.compile(r"\\([\s\S])")
_TOKENS: dict[str, re.Pattern[str]] = {}
# The groups of _token_pattern(); no group matched means end of input or junk.
_OPEN, _CLOSE, _DELIMITER, _QUOTED, _UNQUOTED = 1, 2, 3, 4, 5


def _token_pattern(delimiter: str) -> re.Pattern[str]:
    """array_in's tokens, after white space: { } delimiter "quoted" unquoted."""
    pattern = _TOKENS.get(delimiter)
    if pattern is None:
        d = re.escape(delimiter)
        char = rf'(?:[^{{}}"\\{d}{_SPACE_CLASS}]|\\[\s\S])'
        pattern = _TOKENS[delimiter] = re.compile(
            rf"[{_SPACE_CLASS}]*(?:(\{{)|(\}})|({d})"
            rf'|"((?:[^"\\]|\\[\s\S])*)"'
            rf"|({char}(?:[{_SPACE_CLASS}]*{char})*)"
            rf"|[\s\S]|\Z)"
        )
    return pattern


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
    text = str(text)
    # Fast path: one dimension, no quotes, no escapes.
    if text[:1] == "{" and text[-1:] == "}":
        body = text[1:-1]
        if _SIMPLE_BODY.search(body) is None:
            items = [item.strip(_SPACE) for item in body.split(delimiter)]
            if "" not in items:
                return [
                    None if len(item) == 4 and item.upper() == "NULL" else RemoteText(item)
                    for item in items
                ]
            if len(items) == 1:
                return []
    bounds, position = _parse_dimensions(text)
    if text[position : position + 1] != "{":
        if bounds:
            raise _malformed(text, 'Array contents must start with "{".')
        if text[position : position + 1] == "[":
            raise _malformed(text, '"[" must introduce explicitly-specified array dimensions.')
        raise _malformed(text, 'Array value must start with "{" or dimension information.')
    elements, position, shape = _parse_level(text, position, delimiter, 1)
    if text[position:].strip(_SPACE):
        raise _malformed(text, "Junk after closing right brace.")
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
        lower, upper = (1, int(first)) if second is None else (int(first), int(second))
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


def _parse_level(
    text: str, start: int, delimiter: str, depth: int
) -> tuple[list[Element], int, tuple[int, ...]]:
    """Parse the braces opening at text[start]: their items, the position after them, their shape."""
    tokens = _token_pattern(delimiter)
    items: list[Element] = []
    nested: bool | None = None  # whether this level holds sub-arrays
    inner_shape: tuple[int, ...] = ()
    position = start + 1
    while True:
        match = tokens.match(text, position)
        position = match.end()  # type: ignore[union-attr]
        token = match.lastindex  # type: ignore[union-attr]
        if token == _CLOSE and depth == 1 and not items:
            return items, position, ()
        if token == _OPEN and nested is not False:
            if depth == MAXDIM:
                raise _too_many_dimensions()
            opened = match.start(_OPEN)  # type: ignore[union-attr]
            sub, position, shape = _parse_level(text, opened, delimiter, depth + 1)
            if nested is None:
                nested, inner_shape = True, shape
            elif shape != inner_shape:
                raise _malformed(
                    text, "Multidimensional arrays must have sub-arrays with matching dimensions."
                )
            items.append(RemoteArray(sub, text[opened:position]))
        elif token in (_QUOTED, _UNQUOTED) and nested is not True:
            nested = False
            value = match.group(token)  # type: ignore[union-attr]
            if token == _UNQUOTED and len(value) == 4 and value.upper() == "NULL":
                items.append(None)
            else:
                items.append(RemoteText(_UNESCAPE.sub(r"\1", value) if "\\" in value else value))
        else:
            raise _unexpected(text, token, delimiter)
        match = tokens.match(text, position)
        position = match.end()  # type: ignore[union-attr]
        token = match.lastindex  # type: ignore[union-attr]
        if token == _CLOSE:
            return items, position, (len(items), *inner_shape)
        if token != _DELIMITER:
            raise _unexpected(text, token, delimiter)


def _unexpected(text: str, token: int | None, delimiter: str) -> ConversionError:
    """The error for a token where it may not come."""
    if token == _OPEN:
        return _malformed(text, 'Unexpected "{" character.')
    if token == _CLOSE:
        return _malformed(text, 'Unexpected "}" character.')
    if token == _DELIMITER:
        return _malformed(text, f'Unexpected "{delimiter}" character.')
    if token in (_QUOTED, _UNQUOTED):
        return _malformed(text, "Unexpected array element.")
    return _malformed(text, "Unexpected end of input.")
