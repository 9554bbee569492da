"""Moving a database from C dblink to dblink_py in place: dblink_py_adopt_dblink().

Views, rules and functions that use C dblink's functions refer to them by
OID; PL/pgSQL functions call them by name. Both keep working, and nothing
that uses dblink is dropped, because C dblink's own objects become
dblink_py's: each of its functions is taken out of the C extension and
redefined in place by dblink_py's definition (CREATE OR REPLACE keeps its
OID, owner and privileges), its composite type and dblink_fdw (with every
foreign server and user mapping) are kept, and all of them join the
dblink_py extension in place of dblink_py's fresh copies, which go. The
emptied C extension is dropped, and dblink_py moves to C dblink's schema,
so that the database looks like one where dblink_py was installed there
(pg_dump writes CREATE EXTENSION dblink_py). Everything happens in the
caller's transaction: an error leaves the database as it was.
"""

from __future__ import annotations

from typing import Any

from . import backend
from .errors import DblinkError, PermissionDenied

Action = tuple[str, str]
OURS = "dblink_py"  # C dblink and dblink_py installed as "dblink" cannot share a database


def _run(sql: str) -> list[Any]:
    return list(backend.query_once(sql))


def _members(extension: str) -> list[Any]:
    """(catalog, oid, description, name, args, schema) of each member of an extension."""
    return list(backend.query(
        "SELECT d.classid::pg_catalog.regclass::pg_catalog.text AS catalog, d.objid AS oid,"
        " pg_catalog.pg_describe_object(d.classid, d.objid, 0) AS description,"
        " COALESCE(p.proname, t.typname) AS name, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,"
        " pg_catalog.quote_ident(n.nspname) AS schema"
        " FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid"
        " LEFT JOIN pg_catalog.pg_proc p ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass"
        "  AND p.oid OPERATOR(pg_catalog.=) d.objid"
        " LEFT JOIN pg_catalog.pg_type t ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass"
        "  AND t.oid OPERATOR(pg_catalog.=) d.objid"
        " LEFT JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) COALESCE(p.pronamespace, t.typnamespace)"
        " WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass"
        " AND e.extname OPERATOR(pg_catalog.=) $1 AND d.deptype OPERATOR(pg_catalog.=) 'e'"
        " ORDER BY 3",
        ("pg_catalog.name",), (extension,),
    ))


def _c_dblink_schema() -> str:
    found = _run(
        "SELECT pg_catalog.quote_ident(n.nspname) AS schema FROM pg_catalog.pg_extension e"
        " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
        " WHERE e.extname OPERATOR(pg_catalog.=) 'dblink' AND EXISTS (SELECT FROM pg_catalog.pg_depend d"
        "  JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid"
        "  JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang"
        "  WHERE d.refobjid OPERATOR(pg_catalog.=) e.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'"
        "  AND l.lanname OPERATOR(pg_catalog.=) 'c')"
    )
    if not found:
        raise DblinkError("the C dblink extension is not installed in this database", sqlstate="42704")
    return found[0]["schema"]


def _refuse_unless_movable(c_members: list[Any], our_members: list[Any]) -> None:
    requiring = [r["name"] for r in _run(
        "SELECT e.extname AS name FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e"
        " ON e.oid OPERATOR(pg_catalog.=) d.objid"
        " WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass"
        " AND d.refobjid OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_extension"
        "  WHERE extname OPERATOR(pg_catalog.=) 'dblink') ORDER BY 1")]
    if requiring:
        raise DblinkError(
            "extensions that require dblink by name are installed: " + ", ".join(requiring), sqlstate="2BP01",
            hint="Install dblink_py under the name dblink instead (make install AS_DBLINK=1; see the README).")
    missing = [m["description"] for m in c_members
               if m["catalog"] in ("pg_proc", "pg_type") and _counterpart(m, our_members) is None]
    if missing:
        raise DblinkError("dblink_py has nothing to replace " + ", ".join(missing) + " with", sqlstate="0A000")
    replaced = [str(m["oid"]) for m in our_members if _counterpart(m, c_members) is not None]
    users = [r["d"] for r in _run(
        # a view depends through its rule: name the view
        "SELECT DISTINCT COALESCE(pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass,"
        "  r.ev_class, 0), pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)) AS d"
        " FROM pg_catalog.pg_depend d LEFT JOIN pg_catalog.pg_rewrite r"
        "  ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
        "  AND r.oid OPERATOR(pg_catalog.=) d.objid WHERE d.refobjid OPERATOR(pg_catalog.=) ANY"
        f" ('{{{','.join(replaced) or '0'}}}'::pg_catalog.oid[]) AND d.deptype OPERATOR(pg_catalog.=) 'n'"
        " AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend m WHERE m.objid OPERATOR(pg_catalog.=) d.objid"
        "  AND m.deptype OPERATOR(pg_catalog.=) 'e') ORDER BY 1")]
    if users:
        raise DblinkError(
            "objects use dblink_py's own copies of dblink's functions: " + ", ".join(users), sqlstate="2BP01",
            hint="Make them use C dblink's functions, or drop them, then run dblink_py_adopt_dblink() again.")
    servers = [r["s"] for r in _run(
        "SELECT s.srvname AS s FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w"
        " ON w.oid OPERATOR(pg_catalog.=) s.srvfdw WHERE w.fdwname OPERATOR(pg_catalog.=) 'dblink_py_fdw' ORDER BY 1")]
    if servers:
        raise DblinkError(
            "foreign servers use dblink_py_fdw, which goes when dblink_py takes over dblink_fdw: "
            + ", ".join(servers), sqlstate="2BP01",
            hint="Create them again on dblink_fdw, drop these, then run dblink_py_adopt_dblink() again.")


def _key(member: Any) -> tuple[str, str, str]:
    return member["catalog"], member["name"] or member["description"], member["args"] or ""


def _counterpart(member: Any, others: list[Any]) -> Any | None:
    """The member of the other extension that is the same SQL object as `member`."""
    return next((o for o in others if _key(o) == _key(member)), None)


def adopt_dblink() -> list[Action]:
    """Replace C dblink by dblink_py in this database; what was done, object by object."""
    if not backend.current_user_is_superuser():
        raise PermissionDenied("must be superuser to move a database from dblink to dblink_py")
    # every name in the statements below is qualified, whatever the caller's search_path
    (search_path,) = backend.settings("search_path")
    backend.set_for_transaction("search_path", "pg_catalog")
    try:
        return _adopt()
    finally:
        backend.set_for_transaction("search_path", search_path or "")


def _adopt() -> list[Action]:
    schema = _c_dblink_schema()
    ours = backend.extension()[0]
    c_members, our_members = _members("dblink"), _members(OURS)
    _refuse_unless_movable(c_members, our_members)
    definitions = {_key(m): _run(f"SELECT pg_catalog.pg_get_functiondef({m['oid']}::pg_catalog.oid) AS d")[0]["d"]
                   for m in our_members if m["catalog"] == "pg_proc"}
    actions: list[Action] = []
    for member in c_members:
        _run(f"ALTER EXTENSION dblink DROP {_object(member)}")
    _run("DROP EXTENSION dblink")
    actions.append(("extension dblink", "dropped, after its objects became dblink_py's"))
    # dblink_py's fresh copies go (its wrapper before the validator, functions before their type)
    actions.extend(_drop_own_wrapper(our_members))
    for member in sorted(our_members, key=lambda m: m["catalog"] != "pg_proc"):
        if _counterpart(member, c_members) is not None and member["catalog"] in ("pg_proc", "pg_type"):
            _run(f"ALTER EXTENSION {OURS} DROP {_object(member)}")
            _run(f"DROP {_object(member)}")
    for member in sorted(c_members, key=lambda m: m["catalog"] != "pg_type"):
        actions.append(_take_over(member, ours, definitions))
    if schema != ours:
        _run(f"ALTER EXTENSION {OURS} SET SCHEMA {schema}")
        actions.append((f"extension {OURS}", f"moved from schema {ours} to schema {schema}, where dblink was"))
    return actions


def _object(member: Any) -> str:
    """How ALTER EXTENSION ... ADD/DROP names a member."""
    if member["catalog"] == "pg_proc":
        return f"FUNCTION {member['schema']}.{backend.quote_ident(member['name'])}({member['args']})"
    if member["catalog"] == "pg_type":
        return f"TYPE {member['schema']}.{backend.quote_ident(member['name'])}"
    if member["catalog"] == "pg_foreign_data_wrapper":
        return "FOREIGN DATA WRAPPER " + member["description"].removeprefix("foreign-data wrapper ")
    raise DblinkError(f"dblink_py does not know how to move {member['description']}", sqlstate="0A000")


def _take_over(member: Any, ours: str, definitions: dict[tuple[str, str, str], str]) -> Action:
    """Make one of C dblink's objects dblink_py's, in dblink_py's schema."""
    description = member["description"]
    if member["catalog"] == "pg_foreign_data_wrapper":
        # its validator is C dblink's dblink_fdw_validator, which runs dblink_py's code by now
        _run(f"ALTER EXTENSION {OURS} ADD {_object(member)}")
        return description, "kept with its servers and user mappings; dblink_py's, with dblink_py's validator"
    _run(f"ALTER {_object(member)} SET SCHEMA {ours}")
    moved = dict(member, schema=ours)
    if member["catalog"] == "pg_proc":
        _run(definitions[_key(member)])
        done = "now runs dblink_py (same OID, owner and privileges)"
    else:
        done = "kept (same OID), dblink_py's"
    _run(f"ALTER EXTENSION {OURS} ADD {_object(moved)}")
    return description, done


def _drop_own_wrapper(our_members: list[Any]) -> list[Action]:
    wrapper = next((m for m in our_members if m["description"] == "foreign-data wrapper dblink_py_fdw"), None)
    if wrapper is None:
        return []
    _run(f"ALTER EXTENSION {OURS} DROP {_object(wrapper)}")
    _run(f"DROP {_object(wrapper)}")
    return [(wrapper["description"], "dropped: dblink_py uses dblink_fdw now")]
