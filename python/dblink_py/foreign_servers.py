"""Foreign servers as connection targets: options plus user mapping become a connection string."""

from __future__ import annotations

from typing import Iterable

from . import backend, security
from .security import Resolved
from .errors import InvalidOption, PermissionDenied, UserMappingNotFound
from .libpq_options import Place, is_valid, quote_value, valid_options
from .names import closest


def _pairs(options: Iterable[str] | None, place: Place) -> list[str]:
    pairs = []
    for option in options or ():
        key, _, value = option.partition("=")
        if is_valid(key, place):
            pairs.append(f"{key}={quote_value(value)} ")
    return pairs


def connection_string(server_name: str) -> Resolved | None:
    """The connection string for a foreign server called `server_name`, or None.

    The current user's user mapping is used, else PUBLIC's; the current user
    needs USAGE on the server. Mapping options are read through a SECURITY
    DEFINER helper, as only superusers may read pg_user_mapping, and the
    result never leaves this process (see `mapping_options`).
    """
    rows = backend.query(
        "SELECT s.oid AS oid, s.srvname AS name, s.srvoptions AS options, r.rolsuper AS by_superuser"
        " FROM pg_catalog.pg_foreign_server s"
        " JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) s.srvowner"
        " WHERE s.srvname OPERATOR(pg_catalog.=) $1",
        ("pg_catalog.name",),
        (server_name,),
    )
    if not rows:
        return None
    server = rows[0]
    mapping = backend.mapping_options(server["oid"])
    if mapping is None:
        raise UserMappingNotFound(backend.current_user())
    if not backend.has_server_usage(server["oid"]):
        raise PermissionDenied(f"permission denied for foreign server {server['name']}")
    server_pairs = _pairs(server["options"], Place.SERVER)
    mapping_pairs = _pairs(mapping, Place.USER_MAPPING)
    conninfo = "".join(server_pairs + mapping_pairs)
    # a non-superuser's server (one with USAGE on the wrapper may create one)
    # is held to the same options as a connection string; so are mappings
    unvetted = [p.partition("=")[0] for p in (mapping_pairs if server["by_superuser"] else server_pairs + mapping_pairs)]
    options = [p.partition("=")[0] for p in server_pairs + mapping_pairs]
    return Resolved(security.without_server_certificate(conninfo, options), unvetted)


def validate(options: list[str] | None, catalog: int) -> None:
    """dblink_fdw_validator: refuse options that are not valid for their place."""
    place = Place.of_catalog(catalog)
    for option in options or ():
        key = option.partition("=")[0]
        if is_valid(key, place):
            continue
        raise InvalidOption(key, _hint(key, valid_options(place)))


def _hint(option: str, valid: list[str]) -> str | None:
    if not valid:
        return "There are no valid options in this context."
    if backend.server_version_num() >= 160000:
        match = closest(option, valid)
        return None if match is None else f'Perhaps you meant the option "{match}".'
    return "Valid options in this context are: " + ", ".join(valid)

