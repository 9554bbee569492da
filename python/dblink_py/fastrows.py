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

import re
from typing import Any, Callable, Iterator, Sequence

from psycopg import pq
from psycopg.adapt import AdaptersMap, Transformer
from psycopg.types.string import TextLoader

from .conversion import RemoteArray, RemoteText, value_maker

Row = tuple

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
        if value is None or not isinstance(value, RemoteText) or type(value).__name__ != "Probe":
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
    if text[:1] != "{" or text[-1:] != "}" or _NOT_SIMPLE.search(text, 1, len(text) - 1):
        return smart(text)
    if len(text) == 2:
        return []
    items: list[str | None] = text[1:-1].split(",")
    if "NULL" in text.upper():
        items = [None if item.upper() == "NULL" else item for item in items]
    return items


_BOOLEANS = {"t": True, "f": False}


def _hex_bytea(text: str, smart: Callable[[str], Any]) -> Any:
    """bytea's hex output as bytes; anything else through the smart value."""
    if text[:2] == "\\x":
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            pass
    return smart(text)


def _column_code(kind: str, i: int) -> str:
    v = f"v{i}"
    if kind == PLAIN:
        return v
    if kind == BOOLEAN:
        return f"(B[{v}] if {v} in B else S{i}({v}))"
    if kind == BYTEA:
        return f"(None if {v} is None else H({v}, S{i}))"
    if kind == ARRAY_OF_PLAIN:
        return f"(None if {v} is None else A({v}, S{i}))"
    return f"S{i}({v})"


def _build(kinds: list[str], smart: list[Callable[[str | None], Any]]) -> Callable[[Row], Row] | None:
    """The function that finishes a row of str/None from psycopg; None if none is needed."""
    if all(kind == PLAIN for kind in kinds):
        return None
    namespace: dict[str, Any] = {"B": _BOOLEANS, "H": _hex_bytea, "A": _simple_array}
    for i, function in enumerate(smart):
        namespace[f"S{i}"] = function
    names = "".join(f"v{i}, " for i in range(len(kinds)))
    values = "".join(_column_code(kind, i) + ", " for i, kind in enumerate(kinds))
    exec(f"def finish(row):\n    ({names}) = row\n    return ({values})\n", namespace)  # noqa: S102
    return namespace["finish"]  # type: ignore[no-any-return]


# Learning costs a little per query; below this many rows in the first chunk
# (that is, in the whole result when it is smaller than a chunk) smart values
# are cheaper than learning.
LEARN_FROM_ROWS = 64


class RowBuilder:
    """Rows of one statement's result chunks, for PL/Python."""

    def __init__(self, type_oids: list[int], smart_row: Callable[[list], Row], fast: bool) -> None:
        self._smart_row = smart_row  # raw bytes row -> smart values
        self._smart_values = [value_maker(oid) for oid in type_oids]  # str/None -> smart value
        self._finish: Callable[[Row], Row] | None = None
        self._decided = False
        # psycopg's loader decodes UTF-8; other encodings keep smart values
        self._fast = fast
        self._loader: Transformer | None = None

    def rows(self, result: pq.PGresult) -> Iterator[Row]:
        count = result.ntuples
        columns = range(result.nfields)
        get = result.get_value
        start = 0
        if not self._decided:
            if not self._fast or count < LEARN_FROM_ROWS:  # smart values throughout
                for row in range(count):
                    yield self._smart_row([get(row, col) for col in columns])
                return
            self._loader = Transformer(_TextOnly())
            observed = _Observed(result.nfields)
            first = self._smart_row([get(0, col) for col in columns])
            probed = tuple(
                _probe(value, observed, col) if isinstance(value, RemoteText) else value
                for col, value in enumerate(first)
            )
            yield probed  # PL/Python converts it before asking for the next row
            kinds = [observed.kind(col, value) for col, value in enumerate(probed)]
            self._finish = _build(kinds, self._smart_values)
            self._decided = True
            start = 1
        if start >= count:
            return
        loader = self._loader
        assert loader is not None
        loader.set_pgresult(result, set_loaders=True, format=pq.Format.TEXT)
        loaded = loader.load_rows(start, count, tuple)
        finish = self._finish
        if finish is None:
            yield from loaded
        else:
            yield from map(finish, loaded)
