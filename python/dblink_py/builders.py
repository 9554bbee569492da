"""dblink_get_pkey and the dblink_build_sql_insert/update/delete statement builders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from . import backend
from .errors import (
    ArraySubscriptError,
    CardinalityViolation,
    DblinkError,
    InvalidParameterValue,
    PermissionDenied,
    WrongObjectType,
)

# Every statement below names the schema of each function, operator and type
# it uses (pg_catalog., OPERATOR(pg_catalog.=), or a key column type's own
# schema), so that the caller's search_path cannot change what runs:
# dblink_py's functions run with whatever search_path the caller set.

_RESOLVE = "SELECT pg_catalog.regclass($1)::pg_catalog.oid AS oid"
# pg_catalog.regclass(text) is text_regclass: the same name parsing (quoted,
# possibly qualified, downcased, truncated) and the same errors as dblink's
# own relation lookup, and unlike the regclass input function it never takes
# a string of digits for an OID.

_RELATION = (
    "SELECT c.relname AS relname, c.relkind AS relkind,"
    " pg_catalog.pg_table_is_visible(c.oid) AS visible,"
    " pg_catalog.quote_ident(c.relname) AS qrel,"
    " pg_catalog.quote_ident(n.nspname) AS qnsp,"
    " pg_catalog.has_table_privilege(c.oid, 'SELECT'::pg_catalog.text) AS can_select"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
    " WHERE c.oid OPERATOR(pg_catalog.=) $1"
)

_COLUMNS = (
    "SELECT a.attnum AS attnum, a.attname AS attname,"
    " pg_catalog.quote_ident(a.attname) AS qname,"
    " a.attisdropped AS dropped, a.atttypid AS typid"
    " FROM pg_catalog.pg_attribute a"
    " WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.>) 0"
)

_PRIMARY_KEY = (
    "SELECT i.indnkeyatts AS nkeys, i.indkey::pg_catalog.int2[] AS keys"
    " FROM pg_catalog.pg_index i"
    " WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND i.indisprimary"
)

_TYPE = (
    "SELECT t.typtype AS typtype, t.typbasetype AS basetype,"
    " t.typnamespace AS nsp, pg_catalog.quote_ident(n.nspname) AS qnsp,"
    " pg_catalog.format('%I.%I'::pg_catalog.text, n.nspname, t.typname) AS qname"
    " FROM pg_catalog.pg_type t"
    " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace"
    " WHERE t.oid OPERATOR(pg_catalog.=) $1"
)

_EQUALITY_SCHEMAS = (
    "SELECT o.oprnamespace AS nsp FROM pg_catalog.pg_operator o"
    " WHERE o.oprname OPERATOR(pg_catalog.=) '='::pg_catalog.name"
    " AND o.oprleft OPERATOR(pg_catalog.=) $1 AND o.oprright OPERATOR(pg_catalog.=) $1"
)

_OID = ("pg_catalog.oid",)
_PG_CATALOG_OID = 11
_PG_CATALOG = "pg_catalog"

# Relations table_open() refuses (indexes, partitioned indexes, composite types),
# with its PostgreSQL 15 wording; see _refuse_to_open for how the server's own is used.
_NOT_OPENABLE = {"i": "an index", "I": "an index", "c": "a composite type"}

# aclcheck_error()'s object kind for a relation, by relkind.
_OBJECT_KIND = {"S": "sequence", "v": "view", "m": "materialized view", "f": "foreign table"}


@dataclass(frozen=True)
class Column:
    attnum: int  # physical attribute number, 1-based
    name: str
    quoted: str
    dropped: bool
    typid: int


@dataclass(frozen=True)
class Relation:
    oid: int
    name: str
    display: str  # as dblink writes it: qualified only if not visible on search_path
    qualified: str  # always schema-qualified, for statements run here
    columns: tuple[Column, ...]  # physical order, dropped columns included

    @property
    def live_columns(self) -> list[Column]:
        return [c for c in self.columns if not c.dropped]


def quote_literal(value: str) -> str:
    """quote_literal(): quotes and backslashes doubled, E'' when a backslash is present."""
    body = value.replace("'", "''").replace("\\", "\\\\")
    return ("E'" if "\\" in value else "'") + body + "'"


def _literal_or_null(value: str | None) -> str:
    return "NULL" if value is None else quote_literal(value)


def open_relation(relname: str) -> Relation:
    """The relation a (possibly qualified, possibly quoted) name denotes, readable by the caller."""
    oid = backend.query(_RESOLVE, ("pg_catalog.text",), (relname,))[0]["oid"]
    rows = backend.query(_RELATION, _OID, (oid,))
    if not rows:  # dropped since it was looked up
        raise DblinkError(f"could not open relation with OID {oid}")
    info = rows[0]
    qualified = f"{info['qnsp']}.{info['qrel']}"
    if info["relkind"] in _NOT_OPENABLE:
        _refuse_to_open(qualified, info["relname"], info["relkind"])
    if not info["can_select"]:
        what = _OBJECT_KIND.get(info["relkind"], "table")
        raise PermissionDenied(f"permission denied for {what} {info['relname']}")
    columns = sorted(
        (
            Column(r["attnum"], r["attname"], r["qname"], bool(r["dropped"]), r["typid"])
            for r in backend.query(_COLUMNS, _OID, (oid,))
        ),
        key=lambda c: c.attnum,
    )
    return Relation(
        oid=oid,
        name=info["relname"],
        display=info["qrel"] if info["visible"] else qualified,
        qualified=qualified,
        columns=tuple(columns),
    )


def _refuse_to_open(qualified: str, relname: str, relkind: str) -> None:
    """Raise the error table_open() raises for this relation, in this server's wording.

    Naming the relation in FROM makes the parser open it with table_open(),
    which fails before any privilege check, plan or execution; its wording
    changed between major versions, so the server is left to say it.
    """
    backend.query(f"SELECT FROM {qualified} LIMIT 0")
    raise WrongObjectType(f'"{relname}" is {_NOT_OPENABLE[relkind]}')


def primary_key(relation: Relation) -> list[str]:
    """Names of the primary key's key columns (not INCLUDE columns), in key order."""
    rows = backend.query(_PRIMARY_KEY, _OID, (relation.oid,))
    if not rows:
        return []
    by_attnum = {c.attnum: c.name for c in relation.columns}
    keys = list(rows[0]["keys"] or [])[: rows[0]["nkeys"]]
    return [by_attnum[k] for k in keys]


def get_pkey(relname: str) -> Iterator[tuple[int, str]]:
    names = primary_key(open_relation(relname))
    return iter([(position, name) for position, name in enumerate(names, start=1)])


def key_columns(relation: Relation, attnums: Sequence[int], count: int) -> list[Column]:
    """The columns that logical attribute numbers (dropped columns skipped) name."""
    count = min(count, len(attnums))
    if count <= 0:
        raise InvalidParameterValue("number of key attributes must be > 0")
    live = relation.live_columns
    keys: list[Column] = []
    for attnum in attnums[:count]:
        if attnum <= 0 or attnum > len(live):
            raise InvalidParameterValue(f"invalid attribute number {attnum}")
        keys.append(live[attnum - 1])
    return keys


def _flatten(values: Any) -> list[str | None]:
    """A text[] argument's elements in storage order, whatever its dimensions."""
    flat: list[str | None] = []
    for value in values:
        if isinstance(value, list):
            flat.extend(_flatten(value))
        else:
            flat.append(value)
    return flat


def _key_values(values: Any, keys: list[Column], which: str) -> list[str | None]:
    flat = _flatten(values)
    if len(flat) != len(keys):
        raise ArraySubscriptError(f"{which} key array length must match number of key attributes")
    return flat


def _equality(typid: int) -> tuple[str, str]:
    """(schema of the `=` operator to use, qualified type name) for comparing a column.

    dblink writes `col = 'value'` and lets the caller's search_path pick the
    operator. Here the operator is fixed: the one for the column's (base)
    type in pg_catalog, else the one its type's own schema defines (citext
    and the like), else pg_catalog's (polymorphic: arrays, enums, records).
    """
    while True:
        row = backend.query(_TYPE, _OID, (typid,))[0]
        if row["typtype"] != "d":
            break
        typid = row["basetype"]
    schemas = {r["nsp"] for r in backend.query(_EQUALITY_SCHEMAS, _OID, (typid,))}
    if _PG_CATALOG_OID not in schemas and row["nsp"] in schemas:
        return row["qnsp"], row["qname"]
    return _PG_CATALOG, row["qname"]


def _source_row(relation: Relation, keys: list[Column], values: list[str | None]) -> list[str]:
    """The one local row the source key values select: each live column as a quoted literal or NULL."""
    live = relation.live_columns
    select = ", ".join(
        f"pg_catalog.format('%L'::pg_catalog.text, t.{c.quoted}) AS v{i}" for i, c in enumerate(live)
    )
    conditions: list[str] = []
    params: list[str] = []
    for column, value in zip(keys, values):
        if value is None:
            conditions.append(f"t.{column.quoted} IS NULL")
            continue
        schema, type_name = _equality(column.typid)
        params.append(value)
        conditions.append(
            f"t.{column.quoted} OPERATOR({schema}.=) CAST(${len(params)} AS {type_name})"
        )
    sql = f"SELECT {select} FROM {relation.qualified} AS t WHERE {' AND '.join(conditions)} LIMIT 2"
    rows = backend.query(sql, ("pg_catalog.text",) * len(params), tuple(params))
    if len(rows) > 1:
        raise CardinalityViolation("source criteria matched more than one record")
    if not rows:
        raise CardinalityViolation("source row not found")
    return [rows[0][f"v{i}"] for i in range(len(live))]


def _row_values(
    relation: Relation, keys: list[Column], src: list[str | None], tgt: list[str | None]
) -> list[tuple[Column, str]]:
    """Each live column with its value literal: target key values for key columns, else the source row's."""
    row = _source_row(relation, keys, src)
    first_key: dict[int, int] = {}
    for position, column in enumerate(keys):
        first_key.setdefault(column.attnum, position)
    result: list[tuple[Column, str]] = []
    for column, value in zip(relation.live_columns, row):
        position = first_key.get(column.attnum)
        if position is not None:
            value = _literal_or_null(tgt[position])
        result.append((column, value))
    return result


def _where(keys: list[Column], values: list[str | None]) -> str:
    return " AND ".join(
        f"{c.quoted} IS NULL" if v is None else f"{c.quoted} = {quote_literal(v)}"
        for c, v in zip(keys, values)
    )


def _new_row(
    relname: str, attnums: Sequence[int], count: int, src: Any, tgt: Any
) -> tuple[Relation, list[Column], list[str | None], list[tuple[Column, str]]]:
    """What insert and update build from, checked in dblink's order: the
    relation, its key columns, the target key values, and the new row."""
    relation = open_relation(relname)
    keys = key_columns(relation, attnums, count)
    src_values = _key_values(src, keys, "source")
    tgt_values = _key_values(tgt, keys, "target")
    return relation, keys, tgt_values, _row_values(relation, keys, src_values, tgt_values)


def build_insert(relname: str, attnums: Sequence[int], count: int, src: Any, tgt: Any) -> str:
    relation, _keys, _tgt_values, values = _new_row(relname, attnums, count, src, tgt)
    names = ",".join(c.quoted for c, _ in values)
    literals = ",".join(v for _, v in values)
    return f"INSERT INTO {relation.display}({names}) VALUES({literals})"


def build_update(relname: str, attnums: Sequence[int], count: int, src: Any, tgt: Any) -> str:
    relation, keys, tgt_values, values = _new_row(relname, attnums, count, src, tgt)
    assignments = ", ".join(f"{c.quoted} = {v}" for c, v in values)
    return f"UPDATE {relation.display} SET {assignments} WHERE {_where(keys, tgt_values)}"


def build_delete(relname: str, attnums: Sequence[int], count: int, tgt: Any) -> str:
    relation = open_relation(relname)
    keys = key_columns(relation, attnums, count)
    tgt_values = _key_values(tgt, keys, "target")
    return f"DELETE FROM {relation.display} WHERE {_where(keys, tgt_values)}"
