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
    " pg_catalog.has_table_privilege(c.oid, 'SELECT'::pg_catalog.text) AS can_select,"
    " pg_catalog.pg_get_userbyid(c.relowner) AS owner,"
    " (c.relkind OPERATOR(pg_catalog.=) 'v' OR c.relrowsecurity AND NOT (u.rolsuper OR u.rolbypassrls))"
    " AND NOT (o.rolsuper OR o.oid OPERATOR(pg_catalog.=) u.oid) AS foreign_code"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
    " JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) c.relowner"
    " JOIN pg_catalog.pg_roles u ON u.rolname OPERATOR(pg_catalog.=) pg_catalog.current_user()"
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

# A key column's base type (domains followed down) and how to compare it:
# `kind` tells polymorphic types, whose equality is a pg_catalog function.
_TYPE = (
    "SELECT t.typtype AS typtype, t.typbasetype AS basetype, t.typelem AS elem,"
    " t.typsubscript OPERATOR(pg_catalog.=) 'pg_catalog.array_subscript_handler'::pg_catalog.regproc AS is_array,"
    " pg_catalog.format('%I.%I'::pg_catalog.text, n.nspname, t.typname) AS qname"
    " FROM pg_catalog.pg_type t"
    " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace"
    " WHERE t.oid OPERATOR(pg_catalog.=) $1"
)

# `=` operators taking exactly (type, type) that the parser could see on the
# caller's search_path, pg_catalog's first, then in the path's order, and
# whether their owner and their function's owner may be trusted (superuser or
# the caller).
_VISIBLE_EQUALITY = (
    "SELECT pg_catalog.quote_ident(n.nspname) AS qnsp,"
    " (o.oprowner OPERATOR(pg_catalog.=) r.oid OR ro.rolsuper) AND"
    " (p.proowner OPERATOR(pg_catalog.=) r.oid OR rp.rolsuper) AS trusted"
    " FROM pg_catalog.pg_operator o"
    " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace"
    " JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) o.oprcode"
    " JOIN pg_catalog.pg_roles ro ON ro.oid OPERATOR(pg_catalog.=) o.oprowner"
    " JOIN pg_catalog.pg_roles rp ON rp.oid OPERATOR(pg_catalog.=) p.proowner"
    " JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) pg_catalog.current_user()"
    " JOIN LATERAL pg_catalog.unnest(pg_catalog.current_schemas(true)) WITH ORDINALITY AS s(name, position)"
    " ON s.name OPERATOR(pg_catalog.=) n.nspname"
    " WHERE o.oprname OPERATOR(pg_catalog.=) '='::pg_catalog.name"
    " AND o.oprleft OPERATOR(pg_catalog.=) $1 AND o.oprright OPERATOR(pg_catalog.=) $1"
    " ORDER BY n.oid OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace DESC, s.position"
)

# Domains with constraints reachable from a type (through composite fields,
# array elements and range subtypes) that neither a superuser nor the caller
# owns: their checks are code that reading a literal of the type would run.
_FOREIGN_CHECKS = (
    "WITH RECURSIVE parts(oid) AS ("
    " SELECT $1::pg_catalog.oid"
    " UNION SELECT c.oid FROM parts, LATERAL ("
    "  SELECT t.typelem FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) parts.oid"
    "   AND t.typelem OPERATOR(pg_catalog.<>) 0"
    "  UNION ALL SELECT t.typbasetype FROM pg_catalog.pg_type t WHERE t.oid OPERATOR(pg_catalog.=) parts.oid"
    "   AND t.typbasetype OPERATOR(pg_catalog.<>) 0"
    "  UNION ALL SELECT rg.rngsubtype FROM pg_catalog.pg_range rg WHERE rg.rngtypid OPERATOR(pg_catalog.=) parts.oid"
    "  UNION ALL SELECT a.atttypid FROM pg_catalog.pg_type t JOIN pg_catalog.pg_attribute a"
    "   ON a.attrelid OPERATOR(pg_catalog.=) t.typrelid WHERE t.oid OPERATOR(pg_catalog.=) parts.oid"
    "   AND t.typrelid OPERATOR(pg_catalog.<>) 0 AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
    " ) AS c(oid))"
    " SELECT pg_catalog.count(*) AS n FROM parts"
    " JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) parts.oid AND t.typtype OPERATOR(pg_catalog.=) 'd'"
    " JOIN pg_catalog.pg_constraint k ON k.contypid OPERATOR(pg_catalog.=) t.oid"
    " JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) t.typowner"
    " WHERE NOT o.rolsuper AND o.rolname OPERATOR(pg_catalog.<>) pg_catalog.current_user()"
)

# The equality functions of pg_catalog for polymorphic types: called by name
# with arguments of the column's own type, they leave the parser no cast or
# operator to choose, whoever owns the type.
_POLYMORPHIC_EQUALITY = {"e": "enum_eq", "c": "record_eq", "r": "range_eq", "m": "multirange_eq"}

_OID = ("pg_catalog.oid",)

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
    # what reading its rows would run of a role that is neither a superuser
    # nor the caller (a view's query, row-level security policies), if anything
    foreign_code: str | None = None

    @property
    def live_columns(self) -> list[Column]:
        return [c for c in self.columns if not c.dropped]


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
    foreign_code = None
    if info["foreign_code"]:
        what = "view" if info["relkind"] == "v" else "row-level security policies of table"
        foreign_code = (f'The {what} "{info["relname"]}" belong{"s" if what == "view" else ""} to role'
                        f' "{info["owner"]}", which is neither a superuser nor the current user.')
    return Relation(
        oid=oid,
        name=info["relname"],
        display=info["qrel"] if info["visible"] else qualified,
        qualified=qualified,
        columns=tuple(columns),
        foreign_code=foreign_code,
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


def _comparison(column: Column, literal: str) -> str:
    """SQL that compares a key column with a value, running no code that
    another role wrote: no operator, cast or domain check of theirs.

    dblink writes ``col = 'value'`` and lets the caller's search_path pick
    the operator, so an operator or cast of whoever owns the table's types
    runs as the caller. Here the value is read by its type's input function
    (an untyped literal cast to the base type), and compared with: the
    ``=`` of pg_catalog for exactly that type; for enums, composites,
    ranges and arrays, pg_catalog's own equality function; else the first
    ``=`` for exactly that type on the search_path whose owner (and its
    function's) is a superuser or the caller (citext's ...); else
    pg_catalog's ``=`` for the base type (varchar, cidr: by binary
    coercion; such a base type is a superuser's, and so are its casts to
    anything pg_catalog's operators take). If reading the
    value would run a domain check another role wrote, the column is
    compared as text instead.
    """
    typid = column.typid
    while True:
        row = backend.query(_TYPE, _OID, (typid,))[0]
        if row["typtype"] != "d":
            break
        typid = row["basetype"]
    target = f"t.{column.quoted}"
    if backend.query(_FOREIGN_CHECKS, _OID, (typid,))[0]["n"]:
        # the column's text from its output function (format() takes "any": no cast)
        return (f"pg_catalog.texteq(pg_catalog.format('%s'::pg_catalog.text, {target}),"
                f" {literal}::pg_catalog.text)")
    value = f"{literal}::{row['qname']}"
    candidates = backend.query(_VISIBLE_EQUALITY, _OID, (typid,))
    if candidates and candidates[0]["qnsp"] == "pg_catalog":
        return f"{target} OPERATOR(pg_catalog.=) {value}"
    function = "array_eq" if row["is_array"] and row["elem"] else _POLYMORPHIC_EQUALITY.get(row["typtype"])
    if function is not None:
        return f"pg_catalog.{function}({target}, {value})"
    for candidate in candidates:
        if candidate["trusted"]:
            return f"{target} OPERATOR({candidate['qnsp']}.=) {value}"
    return f"{target} OPERATOR(pg_catalog.=) {value}"


def _source_row(relation: Relation, keys: list[Column], values: list[str | None]) -> list[str]:
    """The one local row the source key values select: each live column as a quoted literal or NULL."""
    if relation.foreign_code is not None:
        raise PermissionDenied("dblink_py does not run another role's code to read a source row",
                               detail=relation.foreign_code)
    live = relation.live_columns
    select = ", ".join(
        f"pg_catalog.format('%L'::pg_catalog.text, t.{c.quoted}) AS v{i}" for i, c in enumerate(live)
    )
    conditions = [
        f"t.{column.quoted} IS NULL" if value is None else _comparison(column, backend.quote_literal(value))
        for column, value in zip(keys, values)
    ]
    sql = f"SELECT {select} FROM {relation.qualified} AS t WHERE {' AND '.join(conditions)} LIMIT 2"
    rows = backend.query_once(sql)
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
            value = backend.quote_nullable(tgt[position])
        result.append((column, value))
    return result


def _where(keys: list[Column], values: list[str | None]) -> str:
    return " AND ".join(
        f"{c.quoted} IS NULL" if v is None else f"{c.quoted} = {backend.quote_literal(v)}"
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
