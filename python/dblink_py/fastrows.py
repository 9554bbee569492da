"""Fast rows: learn from the first row how PL/Python converts each column, then
build the rest with psycopg's C row loader and as little Python as that allows.

PL/Python converts a value by the type the caller declared, which the
function never sees. The first row is therefore made of smart values
(conversion.RemoteText) that record which of their protocols PL/Python
uses: none (the text goes through the type's input function), truth value
(boolean), bytes (bytea) or the sequence protocol (arrays, and for their
elements the same question again). From the second row on, a column whose
values only ever go through the input function gets plain str, straight
from psycopg's loader; boolean, bytea and simple one-dimensional arrays of
such columns get their Python value directly; anything else keeps the smart
values. The result is the same as with smart values everywhere, only faster.
"""

from __future__ import annotations

import gc
import operator
import re
from itertools import repeat
from typing import Any, Callable, Iterator, Sequence

from psycopg import pq
from psycopg.adapt import AdaptersMap, Transformer
from psycopg.types.string import TextLoader

from psycopg import postgres

from .conversion import (
    ConversionError,
    RemoteArray,
    RemoteText,
    conversion_error,
    value_maker,
)

Row = tuple

class Chunk(list):  # type: ignore[type-arg]
    """Rows handed to PL/Python together. `safe`: no value in them can raise
    an error that PL/Python would ignore (see conversion.raise_unreported_error),
    so they may be iterated without a check between rows."""

    __slots__ = ("safe",)

    def __init__(self, rows: Any, safe: bool) -> None:
        list.__init__(self, rows)
        self.safe = safe


def rows_of(chunks: Iterator[Chunk]) -> Iterator[Row]:
    """The rows of chunks, one by one."""
    for chunk in chunks:
        yield from chunk


# What PL/Python was seen doing with a column's first non-NULL value.
PLAIN, BOOLEAN, BYTEA, ARRAY_OF_PLAIN, SMART = "plain", "boolean", "bytea", "array", "smart"


class _TextOnly:
    """A psycopg adaptation context in which every type loads as str."""

    adapters = AdaptersMap()
    adapters.register_loader(0, TextLoader)
    connection = None


class _Observed:
    """What PL/Python did with the probe values of one row."""

    def __init__(self, columns: int) -> None:
        self.used: list[set[str]] = [set() for _ in range(columns)]
        self.element_used: list[set[str]] = [set() for _ in range(columns)]
        self.elements_seen = [False] * columns

    def kind(self, column: int, value: object) -> str:
        used = self.used[column]
        if not isinstance(value, RemoteText):  # NULL, or a multi-dimensional array
            return SMART
        if not used:
            return PLAIN
        if used == {"bool"}:
            return BOOLEAN
        if used == {"bytes"}:
            return BYTEA
        if used <= {"seq"} and self.elements_seen[column] and not self.element_used[column]:
            return ARRAY_OF_PLAIN
        return SMART


class _ProbeElement(RemoteText):
    """An array element of a probe value; notes what PL/Python does with it."""

    _used: set[str]

    def __bool__(self) -> bool:
        self._used.add("bool")
        return RemoteText.__bool__(self)

    def __bytes__(self) -> bytes:
        self._used.add("bytes")
        return RemoteText.__bytes__(self)

    def __len__(self) -> int:
        self._used.add("seq")
        return RemoteText.__len__(self)


_probe_classes: dict[type, type] = {}


def _probe_class(base: type) -> type:
    """A subclass of `base` (a RemoteText class) whose instances note the
    protocols PL/Python uses on them in `_observed` for column `_column`."""
    cls = _probe_classes.get(base)
    if cls is not None:
        return cls

    def note(self: Any, what: str) -> None:
        self._observed.used[self._column].add(what)

    def element(self: Any, item: Any) -> Any:
        observed, column = self._observed, self._column
        if isinstance(item, RemoteArray):
            observed.used[column].add("multidimensional")
        elif isinstance(item, RemoteText):
            observed.elements_seen[column] = True
            probe = _ProbeElement(item)
            probe._used = observed.element_used[column]
            return probe
        return item

    def __bool__(self: Any) -> bool:
        note(self, "bool")
        return base.__bool__(self)

    def __bytes__(self: Any) -> bytes:
        note(self, "bytes")
        return base.__bytes__(self)

    def __len__(self: Any) -> int:
        note(self, "seq")
        return base.__len__(self)

    def __getitem__(self: Any, index: Any) -> Any:
        note(self, "seq")
        return element(self, base.__getitem__(self, index))

    def __iter__(self: Any) -> Iterator[Any]:
        note(self, "seq")
        return iter([element(self, item) for item in base.__iter__(self)])

    namespace = {
        "__bool__": __bool__, "__bytes__": __bytes__, "__len__": __len__,
        "__getitem__": __getitem__, "__iter__": __iter__,
    }
    cls = _probe_classes[base] = type("Probe", (base,), namespace)
    return cls


def _probe(value: RemoteText, observed: _Observed, column: int) -> RemoteText:
    """`value` as an instance that notes the protocols PL/Python uses on it."""
    probe = _probe_class(type(value))(value)
    probe._observed = observed
    probe._column = column
    return probe


_NOT_SIMPLE = re.compile(r'[{}"\\\s]')


def _simple_array(text: str, smart: Callable[[str], Any]) -> Any:
    """A one-dimensional array literal as a list of str, if it is a plain one."""
    if (text[:1] != "{" or text[-1:] != "}" or _NOT_SIMPLE.search(text, 1, len(text) - 1)
            or ",," in text or "{," in text or ",}" in text):  # an empty element: array_in refuses it
        return smart(text)
    if len(text) == 2:
        return []
    items: list[str | None] = text[1:-1].split(",")
    if "NULL" in text.upper():
        items = [None if item.upper() == "NULL" else item for item in items]
    return items


_BOOLEANS = {"t": True, "f": False}
# Arrays whose elements are not comma-separated (box[]: ';'), and the vector
# types PL/Python cannot return: always smart values.
_OWN_DELIMITER_TYPES = frozenset({1020, 22, 30})


def _hex_bytea(text: str, smart: Callable[[str], Any]) -> Any:
    """bytea's hex output as bytes; anything else through the smart value."""
    if text[:2] == "\\x":
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            pass
    return smart(text)


_inner = operator.itemgetter(slice(1, -1))


def _all_simple_arrays(column: Sequence[str | None]) -> bool:
    """Whether every value is a non-empty one-dimensional array literal with
    bare elements (array_out's output for simple values), checked with a few
    C-level passes over the joined column instead of per value in Python.

    With n values joined by NUL (which text never holds), n-1 separators all
    reading "}\\0{" and the ends being "{" and "}" put a brace at each end of
    every value; n of each in all leaves no room for nesting; no "{,", ",}"
    or ",," leaves no empty element.
    """
    count = len(column)
    if not count or None in column:
        return False
    joined = "\0".join(column)  # type: ignore[arg-type]
    return (
        joined[:1] == "{"
        and joined[-1:] == "}"
        and joined.count("}\0{") == count - 1
        and joined.count("{") == count
        and joined.count("}") == count
        and "{}" not in joined
        and "{," not in joined  # no empty element (array_in refuses them)
        and ",}" not in joined
        and ",," not in joined
        and '"' not in joined
        and "\\" not in joined
        and joined.split(None, 1) == [joined]  # no whitespace
        and "NULL" not in joined.upper()
    )


def _value_function(kind: str, smart: Callable[[str | None], Any]) -> Callable[[str | None], Any]:
    """For one column of a kind, str/None from psycopg -> the value for PL/Python."""
    if kind == BOOLEAN:
        return lambda v: _BOOLEANS[v] if v in _BOOLEANS else smart(v)
    if kind == BYTEA:
        return lambda v: None if v is None else _hex_bytea(v, smart)
    if kind == ARRAY_OF_PLAIN:
        return lambda v: None if v is None else _simple_array(v, smart)
    return smart


class _ChunkConverter:
    """Finishes a chunk of rows of str/None column by column, in C loops where it can."""

    def __init__(self, kinds: list[str], smart: list[Callable[[str | None], Any]]) -> None:
        self.columns = [
            (i, kind, _value_function(kind, smart[i])) for i, kind in enumerate(kinds) if kind != PLAIN
        ]

    def __call__(self, rows: list[tuple]) -> Chunk:
        columns = list(zip(*rows))
        safe = True
        for i, kind, function in self.columns:
            column = columns[i]
            if kind == ARRAY_OF_PLAIN and _all_simple_arrays(column):
                columns[i] = list(map(str.split, map(_inner, column), repeat(",")))  # type: ignore[arg-type]
            elif kind == BOOLEAN and set(column) <= {"t", "f", None}:
                columns[i] = list(map(_BOOLEANS.get, column))  # type: ignore[arg-type]
            else:
                # smart values: a boolean one may raise where PL/Python ignores it
                safe = safe and kind not in (BOOLEAN, SMART)
                columns[i] = list(map(function, column))
        return Chunk(zip(*columns), safe)


def _build(kinds: list[str], smart: list[Callable[[str | None], Any]]) -> _ChunkConverter | None:
    """What finishes a chunk from psycopg; None if its rows are right as they are."""
    if all(kind == PLAIN for kind in kinds):
        return None
    return _ChunkConverter(kinds, smart)


# Learning costs a little per query; below this many rows in the first chunk
# (that is, in the whole result when it is smaller than a chunk) smart values
# are cheaper than learning.
LEARN_FROM_ROWS = 64


ROWTYPE_MISMATCH = "remote query result rowtype does not match the specified FROM clause rowtype"


def _describe_columns(result: pq.PGresult, codec: str) -> str:
    names = [(result.fname(i) or b"").decode(codec, "replace") for i in range(result.nfields)]
    types = []
    for i in range(result.nfields):
        info = postgres.types.get(result.ftype(i))
        types.append(info.name if info is not None else f"type {result.ftype(i)}")
    columns = ", ".join(f"{name} {type_name}" for name, type_name in zip(names, types))
    count = result.nfields
    return f"the remote query returns {count} column{'s' if count != 1 else ''}: {columns}"


class FirstRow:
    """The first row of a result, handed to PL/Python as an object whose
    attributes are the values: PL/Python then asks for them by the caller's
    column names, in order, which tells how many columns the caller declared
    (PL/Python never shows a function its column definition list). Asking
    for more columns than the remote result has (they get NULL), or fewer,
    is dblink's row type error, naming the remote columns, raised as soon as
    PL/Python asks for the next row. (Nothing may raise while PL/Python
    converts: PostgreSQL 15's PL/Python crashes if str() fails there.)"""

    __slots__ = ("_values", "_asked")

    def __init__(self, values: Row) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_asked", [0])

    def __getattribute__(self, name: str) -> Any:
        get = object.__getattribute__
        values, asked = get(self, "_values"), get(self, "_asked")
        index = asked[0]
        asked[0] += 1
        return values[index] if index < len(values) else None

    @staticmethod
    def columns_match(row: "FirstRow") -> bool:
        """After PL/Python converted it: did the caller declare these columns?"""
        get = object.__getattribute__
        return get(row, "_asked")[0] == len(get(row, "_values"))


def rowtype_mismatch(result: pq.PGresult, codec: str) -> ConversionError:
    """dblink's row type error; PL/Python shows only the message of an error
    raised between rows, so the remote columns are named in it."""
    return conversion_error(f"{ROWTYPE_MISMATCH} ({_describe_columns(result, codec)})", sqlstate="42804")


class RowBuilder:
    """Rows of one statement's result chunks, for PL/Python."""

    def __init__(self, type_oids: list[int], smart_row: Callable[[list], Row], fast: bool,
                 check_columns: bool = False, codec: str = "utf-8") -> None:
        # check_columns: the rows go to PL/Python, whose conversion of the
        # first row can tell the caller's column count (see FirstRow)
        self._check_columns = check_columns
        self._codec = codec
        self._smart_row = smart_row  # raw bytes row -> smart values
        self._types = type_oids
        self._finish: _ChunkConverter | None = None
        self._decided = False
        # psycopg's loader decodes UTF-8; other encodings keep smart values
        self._fast = fast
        self._loader: Transformer | None = None

    def chunks(self, result: pq.PGresult) -> Iterator[Chunk]:
        count = result.ntuples
        columns = range(result.nfields)
        get = result.get_value
        start = 0
        if not self._decided:
            self._decided = True
            learn = self._fast and count >= LEARN_FROM_ROWS
            first = self._smart_row([get(0, col) for col in columns])
            if learn:
                observed = _Observed(result.nfields)
                first = tuple(
                    _probe(value, observed, col) if isinstance(value, RemoteText) else value
                    for col, value in enumerate(first)
                )
            if self._check_columns:
                row = FirstRow(first)
                yield Chunk([row], False)  # PL/Python converts it before asking for more
                if not FirstRow.columns_match(row):
                    raise rowtype_mismatch(result, self._codec)
            else:
                yield Chunk([first], False)
            start = 1
            if learn:
                self._loader = Transformer(_TextOnly())
                kinds = [
                    SMART if oid in _OWN_DELIMITER_TYPES else observed.kind(col, value)
                    for col, (oid, value) in enumerate(zip(self._types, first))
                ]
                smart_values = [value_maker(oid) for oid in self._types]  # str/None -> smart value
                self._finish = _build(kinds, smart_values)
            else:
                self._fast = False
        if not self._fast:  # smart values throughout
            if start < count:
                smart = self._smart_row
                yield Chunk((smart([get(row, col) for col in columns]) for row in range(start, count)), False)
            return
        if start >= count:
            return
        loader = self._loader
        assert loader is not None
        # A chunk's rows are built in one go with the cyclic garbage collector
        # paused: they hold no cycles, and scanning thousands of fresh tuples
        # again and again would cost more than building them.
        collecting = gc.isenabled()
        gc.disable()
        try:
            loader.set_pgresult(result, set_loaders=True, format=pq.Format.TEXT)
            loaded = loader.load_rows(start, count, tuple)
            built = Chunk(loaded, True) if self._finish is None else self._finish(loaded)
        finally:
            if collecting:
                gc.enable()
        yield built
