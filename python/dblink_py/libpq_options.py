"""Which libpq connection options dblink accepts, and where (server or user mapping)."""

from __future__ import annotations

import functools
from enum import Enum

from .libpq import pq

# Options dblink never takes from a catalog, whatever libpq says of them.
ALWAYS_REJECTED = frozenset({"client_encoding"})
# PostgreSQL 18's dblink rejects libpq's OAuth options; so does dblink_py.
REJECTED_PREFIXES = ("oauth_",)


def quote_value(value: str) -> str:
    """A connection-string value as dblink writes it: quoted, with \\ and ' escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Place(Enum):
    """Where a FOREIGN DATA WRAPPER option can be written, by catalog."""

    WRAPPER = 2328  # pg_foreign_data_wrapper
    SERVER = 1417  # pg_foreign_server
    USER_MAPPING = 1418  # pg_user_mapping

    @classmethod
    def of_catalog(cls, oid: int) -> "Place | None":
        try:
            return cls(oid)
        except ValueError:
            return None


@functools.lru_cache(maxsize=1)
def libpq_options() -> tuple[tuple[str, str], ...]:
    """(keyword, dispchar) of every option the libpq in use knows, in its order."""
    return tuple(
        (o.keyword.decode(), (o.dispchar or b"").decode()) for o in pq.Conninfo.get_defaults()
    )


def is_valid(option: str, place: Place | None) -> bool:
    """dblink's rule: secrets and `user` only in user mappings, the rest only in servers."""
    dispchar = dict(libpq_options()).get(option)
    if dispchar is None:
        return False
    if "D" in dispchar or option in ALWAYS_REJECTED or option.startswith(REJECTED_PREFIXES):
        return False
    if option == "user" or "*" in dispchar:
        return place is Place.USER_MAPPING
    return place is Place.SERVER


def valid_options(place: Place | None) -> list[str]:
    return [keyword for keyword, _ in libpq_options() if is_valid(keyword, place)]
