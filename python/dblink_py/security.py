"""Who may connect where: dblink's password rules, and the connection options, for non-superusers."""

from __future__ import annotations

from typing import Iterable, NamedTuple

from . import backend
from .errors import OptionNotAllowed, PasswordRequired
from .libpq import pq
from .remote import Remote

# The libpq options a non-superuser may set: where to connect, how to
# authenticate with credentials of their own, how to verify the remote
# server, and how the remote session starts. Anything else (and any option
# this list does not know, whatever the libpq in use accepts) is refused
# before connecting: it could name a file of the server to write
# (sslkeylogfile) or read credentials from (sslcert, sslkey, passfile,
# service, servicefile), load a library (OpenSSL's engine:key syntax in
# sslkey), or use the server's own credentials (Kerberos: krbsrvname,
# gsslib, gssdelegation; OAuth).
NON_SUPERUSER_OPTIONS = frozenset({
    "host", "hostaddr", "port", "dbname", "user", "password", "sslpassword", "connect_timeout",
    "client_encoding", "options", "application_name", "fallback_application_name",
    "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
    "sslmode", "sslnegotiation", "sslcompression", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
    "sslcertmode", "ssl_min_protocol_version", "ssl_max_protocol_version", "requirepeer",
    "gssencmode", "channel_binding", "require_auth", "target_session_attrs", "load_balance_hosts",
    "replication",
})
# Without sslcert, libpq would present the server's own client certificate
# (~/.postgresql/postgresql.crt of its OS user) to the remote server; for a
# non-superuser's connection it is pointed at a file that cannot exist.
NO_CLIENT_CERTIFICATE = "/dev/null/dblink_py: no client certificate for non-superusers"


def _v16_or_later() -> bool:
    return backend.server_version_num() >= 160000


def conninfo_gives_password(conninfo: str) -> bool:
    """Whether a connection string (key=value or URI) holds a non-empty password."""
    try:
        options = pq.Conninfo.parse(conninfo.encode("utf-8", "replace"))
    except Exception:
        return False
    return any(o.keyword == b"password" and o.val for o in options)


class Resolved(NamedTuple):
    """A connection string, and the options in it whose author was not a
    superuser (a foreign server's options are vetted by its owner)."""

    conninfo: str
    unvetted: list[str]


def check_options(options: Iterable[str]) -> None:
    """Refuse, for a non-superuser, an option outside NON_SUPERUSER_OPTIONS."""
    for option in options:
        if option not in NON_SUPERUSER_OPTIONS and not backend.current_user_is_superuser():
            raise OptionNotAllowed(option)


def option_names(conninfo: str) -> list[str]:
    """The options a connection string (key=value or URI) sets; none if
    libpq cannot parse it (libpq will say why when connecting)."""
    try:
        options = pq.Conninfo.parse(conninfo.encode("utf-8", "replace"))
    except Exception:
        return []
    return [o.keyword.decode() for o in options if o.val is not None]


def without_server_certificate(conninfo: str, options: Iterable[str]) -> str:
    """`conninfo`, for a non-superuser, made to present no client certificate
    of the server's unless `options` (vetted ones) choose one."""
    if "sslcert" in options or backend.current_user_is_superuser():
        return conninfo
    if "://" in conninfo.split("=", 1)[0]:  # a URI: options go in its query string, percent-encoded
        from urllib.parse import quote

        return conninfo + ("&" if "?" in conninfo else "?") + "sslcert=" + quote(NO_CLIENT_CERTIFICATE)
    return f"{conninfo} sslcert='{NO_CLIENT_CERTIFICATE}'"


def check_before_connect(resolved: Resolved) -> None:
    """Non-superusers must bring their own password and keep to the options
    they may use, before anything is tried."""
    if backend.current_user_is_superuser():
        return
    if conninfo_gives_password(resolved.conninfo):
        check_options(resolved.unvetted)
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
