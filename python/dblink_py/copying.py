"""dblink_copy_to and dblink_copy_from: bulk copy between a local query or table and a remote one over COPY."""

from __future__ import annotations

import re
from itertools import repeat
from operator import itemgetter

from . import backend, links, sqltext, styles
from .errors import DblinkError, Interrupted
from .libpq import ExecStatus
from .queries import CommandStatus
from .records import LiteralMaker
from .remote import Remote

# Rows per batch: read from the local cursor and sent, or received and inserted.
BATCH_ROWS = 5000
LINE = "dblink_py_line"
_line = itemgetter(LINE)
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_UNESCAPED = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _quoted_name(name: str) -> str:
    """A possibly qualified name as PostgreSQL's parse_ident reads it, each part quoted."""
    return backend.query(
        "SELECT pg_catalog.string_agg(pg_catalog.quote_ident(p), '.' ORDER BY o) AS q"
        " FROM pg_catalog.unnest(pg_catalog.parse_ident($1)) WITH ORDINALITY AS t(p, o)",
        ("pg_catalog.text",), (name,),
    )[0]["q"]


def _quoted_columns(columns: list[str | None] | None) -> list[str] | None:
    if columns is None:
        return None
    if not columns:
        raise DblinkError("the column list is empty", sqlstate="22023")
    if None in columns:
        raise DblinkError("a column name in the column list is NULL", sqlstate="22004")
    return [backend.quote_ident(c) for c in columns]


def _count(tag: str) -> int:
    """The row count of a COPY's command status ("COPY 42")."""
    return int(tag.rsplit(" ", 1)[-1])


def _status(remote: Remote, where: str, first: object = None) -> str:
    """The command status of what the remote sends from here on; its first error raised."""
    status = CommandStatus(remote, where)
    if first is not None:
        status.feed([first])
    status.feed(remote.results())
    return status.finish()


def _start(remote: Remote, sql: str, expected: ExecStatus, where: str) -> None:
    first = remote.start_copy(sql, expected)
    if first is not None:
        _status(remote, where, first)  # raises the remote's error
        raise DblinkError("the remote server did not start COPY", sqlstate="08P01")


# -- dblink_copy_to --------------------------------------------------------------


# Types whose text never needs CSV quotes (no comma, quote or line break, never
# empty): bool, int8, int2, int4, oid, float4, float8, numeric, uuid; the rest
# is quoted.
_BARE_TYPES = frozenset({16, 20, 21, 23, 26, 700, 701, 1700, 2950})


def _field(name: str, type_info: dict) -> str:
    """SQL for one column as a CSV field: the output function's text; NULL as nothing."""
    is_null = (f"pg_catalog.num_nulls({name}) OPERATOR(pg_catalog.=) 1" if type_info["composite"]
               else f"{name} IS NULL")
    text = f"pg_catalog.textin({type_info['output']}({name}))"
    if type_info["base"] in _BARE_TYPES:
        value = text
    else:
        value = (f"'\"' OPERATOR(pg_catalog.||) pg_catalog.replace({text}, '\"', '\"\"')"
                 f" OPERATOR(pg_catalog.||) '\"'")
    return f"CASE WHEN {is_null} THEN '' ELSE {value} END"


def _types(oids: list[int]) -> list[dict]:
    """Of each column type: its output function (qualified), base type, whether composite."""
    rows = backend.query(
        "SELECT t.oid AS oid, pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'"
        " OPERATOR(pg_catalog.||) pg_catalog.quote_ident(p.proname) AS output,"
        " COALESCE(NULLIF(t.typbasetype, 0), t.oid)::pg_catalog.int8 AS base,"
        " COALESCE(b.typtype, t.typtype) OPERATOR(pg_catalog.=) 'c' AS composite"
        " FROM pg_catalog.pg_type t JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) t.typoutput"
        " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace"
        " LEFT JOIN pg_catalog.pg_type b ON b.oid OPERATOR(pg_catalog.=) t.typbasetype"
        " WHERE t.oid OPERATOR(pg_catalog.=) ANY ($1)",
        ("pg_catalog.oid[]",), (oids,),
    )
    found = {r["oid"]: r for r in rows}
    return [found[oid] for oid in oids]


def _csv_lines_query(local_query: str) -> str:
    """`local_query` with each row as one CSV line (bytea) of its values' text
    (each type's output function, as COPY writes them; NULL as nothing, text
    quoted)."""
    try:
        described = backend.query_once(f"SELECT * FROM ({local_query}\n) AS dblink_py_src LIMIT 0")
    except DblinkError as exc:
        if exc.sqlstate != "42601":
            raise
        described = None
    if described is None:  # a syntax error: the query's own, in its own words, not the wrapper's
        backend.plan_once(local_query, [])
        raise DblinkError(
            "the local query of dblink_copy_to must be one that can be read as a subquery", sqlstate="42601",
            hint="Use SELECT, VALUES, TABLE or WITH ... SELECT; for rows of INSERT ... RETURNING,"
                 " copy from a table they were stored in.")
    oids = list(described.coltypes())
    if not oids:
        raise DblinkError("the local query returns no columns", sqlstate="42601")
    names = [f"c{i}" for i in range(1, len(oids) + 1)]
    fields = [_field(name, info) for name, info in zip(names, _types(oids))]
    line = " OPERATOR(pg_catalog.||) ',' OPERATOR(pg_catalog.||) ".join(fields)
    # as bytes in the database encoding (the remote's client_encoding): no
    # conversion to a Python str and back
    return (f"SELECT pg_catalog.textsend({line}) AS {LINE}"
            f" FROM ({local_query}\n) AS dblink_py_src({', '.join(names)})")


def copy_to(target: str | None, remote_table: str, local_query: str, columns: list[str | None] | None) -> int:
    """Stream the rows of `local_query` into `remote_table` with COPY FROM STDIN; the rows copied."""
    table = _quoted_name(remote_table)
    quoted = _quoted_columns(columns)
    lines = _csv_lines_query(local_query)
    column_list = "" if quoted is None else f" ({', '.join(quoted)})"
    with links.target(target) as (remote, name):
        where = f"while copying to {name}"
        with styles.remote_applied(remote):  # written as the remote session reads dates and intervals
            _start(remote, f"COPY {table}{column_list} FROM STDIN WITH (FORMAT csv)", ExecStatus.COPY_IN, where)
            return _send_rows(remote, lines, where)


def _send_rows(remote: Remote, lines: str, where: str) -> int:
    try:
        for rows in backend.rows_of(lines, BATCH_ROWS):
            data = b"\n".join(map(_line, rows)) + b"\n"
            if not remote.put_copy(data):
                break  # the remote ended the COPY with an error: end_copy reports it
    except Interrupted:
        _abort(remote, "dblink_py: the local query was interrupted")
        raise
    except DblinkError as error:
        _abort(remote, f"dblink_py: the local query failed: {error.message}")
        raise
    remote.end_copy()
    return _count(_status(remote, where))


def _abort(remote: Remote, reason: str) -> None:
    """End the remote COPY FROM STDIN with an error; what it answers is read and dropped."""
    remote.end_copy(reason)
    for _result in remote.results():
        pass


# -- dblink_copy_from ------------------------------------------------------------


def _local_columns(local_table: str, columns: list[str | None] | None) -> tuple[str, list[tuple[str, str]]]:
    """The table, quoted and qualified, and (quoted name, type) of each column to fill: those
    named, else every column COPY would fill (not dropped, not generated)."""
    found = backend.query(
        "SELECT c.oid::pg_catalog.regclass::pg_catalog.text AS t FROM pg_catalog.pg_class c"
        " WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
        ("pg_catalog.text",), (local_table,),
    )
    table = found[0]["t"]
    attributes = backend.query(
        "SELECT a.attname::pg_catalog.text AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,"
        " a.attgenerated OPERATOR(pg_catalog.<>) '' AS generated FROM pg_catalog.pg_attribute a"
        " WHERE a.attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass AND a.attnum OPERATOR(pg_catalog.>) 0"
        " AND NOT a.attisdropped ORDER BY a.attnum",
        ("pg_catalog.text",), (local_table,),
    )
    by_name = {a["name"]: a for a in attributes}
    if columns is None:
        chosen = [a for a in attributes if not a["generated"]]
    else:
        _quoted_columns(columns)  # the same checks as for dblink_copy_to
        missing = [c for c in columns if c not in by_name]
        if missing:
            raise DblinkError(f'column "{missing[0]}" of relation "{table}" does not exist', sqlstate="42703")
        chosen = [by_name[c] for c in columns]
    return table, [(backend.quote_ident(a["name"]), a["type"]) for a in chosen]


def _insert_plan(table: str, chosen: list[tuple[str, str]]) -> object:
    """INSERT of record literals, each field read by the column type's input function."""
    schema = backend.extension_schema()
    definitions = ", ".join(f"{name} {type_}" for name, type_ in chosen)
    names = ", ".join(name for name, _ in chosen)
    return backend.plan_once(
        f"INSERT INTO {table} ({names}) SELECT * FROM {schema}.dblink_py_record_rows($1) AS r({definitions})",
        ["pg_catalog.text[]"],
    )


def _unescape(value: bytes) -> bytes | None:
    """A field of COPY's text format: NULL, or its bytes."""
    if value == b"\\N":
        return None
    return _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), value)


def _fields(lines: list[memoryview], width: int) -> list[list[bytes | None]]:
    """The columns of a batch of COPY text lines (each ends with a newline;
    one inside a value is written \\n)."""
    rows = list(map(bytes.split, b"".join(lines).split(b"\n")[:-1], repeat(b"\t")))
    if rows and set(map(len, rows)) != {width}:
        raise DblinkError("the remote query returns another number of columns than the local ones to fill",
                          sqlstate="42804")
    columns = [list(column) for column in zip(*rows)]
    for index, column in enumerate(columns):
        if b"\\" in b"".join(column):
            columns[index] = [_unescape(v) if b"\\" in v else v for v in column]
    return columns


def copy_from(target: str | None, remote_query: str, local_table: str, columns: list[str | None] | None) -> int:
    """Stream COPY (remote_query) TO STDOUT into `local_table`; the rows copied."""
    shape = sqltext.shape(remote_query)
    if shape.count != 1:
        raise DblinkError("dblink_copy_from takes exactly one remote query", sqlstate="42601")
    query = remote_query[shape.last[0]:shape.last[1]]
    table, chosen = _local_columns(local_table, columns)
    plan = _insert_plan(table, chosen)
    with links.target(target) as (remote, name):
        where = f"while copying from {name}"
        _start(remote, f"COPY ({query}\n) TO STDOUT", ExecStatus.COPY_OUT, where)
        maker = LiteralMaker(remote.codec, remote.encoding, False)
        copied = 0
        try:
            with styles.remote_applied(remote):
                for lines in remote.copy_lines(BATCH_ROWS):
                    literals = maker.from_columns(_fields(lines, len(chosen)), len(lines))
                    backend.run_plan(plan, [literals])
                    copied += len(literals)
        except BaseException:
            remote.abandon_query()  # the remote COPY stops: cancelled, the rest discarded
            raise
        tag = _status(remote, where)
    if _count(tag) != copied:
        raise DblinkError(f"the remote sent {_count(tag)} rows, {copied} arrived", sqlstate="08P01")
    return copied

