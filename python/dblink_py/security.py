"""Who may connect where: dblink's password rules for non-superusers."""

from __future__ import annotations

from psycopg import pq

from . import backend
from .errors import PasswordRequired
from .remote import Remote


def _v16_or_later() -> bool:
    return backend.server_version_num() >= 160000


def conninfo_gives_password(conninfo: str) -> bool:
    """Whether a connection string (key=value or URI) holds a non-empty password."""
    try:
        options = pq.Conninfo.parse(conninfo.encode("utf-8", "replace"))
    except Exception:
        return False
    return any(o.keyword == b"password" and o.val for o in options)


def check_before_connect(conninfo: str) -> None:
    """Non-superusers must bring their own password, before anything is tried."""
    if backend.current_user_is_superuser() or conninfo_gives_password(conninfo):
        return
    if _v16_or_later():
        raise PasswordRequired(
            "password or GSSAPI delegated credentials required",
            detail="Non-superusers must provide a password in the connection string"
            " or send delegated GSSAPI credentials.",
        )
    raise PasswordRequired(
        "password is required",
        detail="Non-superusers must provide a password in the connection string.",
    )


def check_after_connect(remote: Remote, conninfo: str) -> None:
    """Refuse (and close) a non-superuser's connection that used no password of theirs."""
    if backend.current_user_is_superuser():
        return
    if remote.pgconn.used_password and conninfo_gives_password(conninfo):
        return
    remote.close()
    if _v16_or_later():
        raise PasswordRequired(
            "password or GSSAPI delegated credentials required",
            detail="Non-superusers may only connect using credentials they provide,"
            " eg: password in connection string or delegated GSSAPI credentials",
            hint="Ensure provided credentials match target server's authentication method.",
        )
    raise PasswordRequired(
        "password is required",
        detail="Non-superuser cannot connect if the server does not request a password.",
        hint="Target server's authentication method must be changed.",
    )
