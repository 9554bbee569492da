"""Every error dblink_py raises, with its SQLSTATE, defined in one place."""

from __future__ import annotations


class DblinkError(Exception):
    """An error to report to the SQL caller: message, SQLSTATE, DETAIL, HINT.

    `where` is dblink's context line (e.g. ``while executing query on unnamed
    dblink connection``); the SQL boundary shows it in the error's CONTEXT.
    """

    sqlstate = "XX000"

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if sqlstate is not None:
            self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint
        self.where = where


class ConnectionNotAvailable(DblinkError):
    sqlstate = "08003"

    def __init__(self, name: str | None) -> None:
        if name is None:
            super().__init__("connection not available")
        else:
            super().__init__(f'connection "{name}" not available')


class DuplicateConnectionName(DblinkError):
    sqlstate = "42710"

    def __init__(self) -> None:
        super().__init__("duplicate connection name")


class CouldNotEstablishConnection(DblinkError):
    sqlstate = "08001"

    def __init__(self, libpq_message: str) -> None:
        super().__init__("could not establish connection", detail=libpq_message)


class ConnectionLost(DblinkError):
    sqlstate = "08006"


class SendFailed(DblinkError):
    """libpq refused to send a query (e.g. another one is still running)."""


class CopyNotSupported(DblinkError):
    sqlstate = "0A000"

    def __init__(self) -> None:
        super().__init__("COPY to or from the client is not supported by dblink",
                         hint="Run COPY with a file on the remote server, or use a query.")


class CursorNotFound(DblinkError):
    sqlstate = "34000"

    def __init__(self, cursor: str) -> None:
        super().__init__(f'cursor "{cursor}" does not exist')


class PasswordRequired(DblinkError):
    sqlstate = "2F003"


class OptionNotAllowed(DblinkError):
    sqlstate = "42501"

    def __init__(self, option: str) -> None:
        super().__init__(
            f'connection option "{option}" is not allowed for non-superusers',
            detail="Non-superusers may only use options that reach no file, library or credential of the"
            " local server.",
            hint="A superuser can provide it through a foreign server, or grant dblink_connect_u.",
        )


class StatementReturnedRows(DblinkError):
    sqlstate = "2F003"

    def __init__(self) -> None:
        super().__init__("statement returning results not allowed")


class RemoteError(DblinkError):
    """An error the remote server reported; keeps its SQLSTATE, DETAIL, HINT."""

    sqlstate = "08006"


class Interrupted(DblinkError):
    """The local backend was asked to stop (statement_timeout, cancel)."""

    sqlstate = "57014"


class ClientGone(Interrupted):
    """The local client disconnected while dblink_py was waiting."""

    sqlstate = "08006"


class ConversionError(DblinkError):
    """A remote value that the local column type cannot take."""

    sqlstate = "22P02"


class InvalidByteSequence(DblinkError):
    """Remote text that is not valid in the local database encoding."""

    sqlstate = "22021"

    def __init__(self, encoding: str, raw: bytes) -> None:
        shown = " ".join(f"0x{byte:02x}" for byte in raw[:8])
        super().__init__(f'invalid byte sequence for encoding "{encoding}": {shown}')


class RowTypeMismatch(DblinkError):
    sqlstate = "42804"

    def __init__(self) -> None:
        super().__init__("remote query result rowtype does not match the specified FROM clause rowtype")


class UnknownColumnType(DblinkError):
    """A remote column whose type name does not name a local type."""

    sqlstate = "42704"

    def __init__(self, column: str, type_name: str, problem: str) -> None:
        super().__init__(f'the type of remote column "{column}" {problem}: "{type_name}"')


class VersionMismatch(DblinkError):
    sqlstate = "55000"

    def __init__(self, installed: str, package: str) -> None:
        super().__init__(
            f"dblink_py's SQL objects in this database are version {installed}, its Python package is version {package}",
            hint="Update the extension: ALTER EXTENSION dblink_py UPDATE (or the name it was installed under).",
        )


class MissingDependency(DblinkError):
    sqlstate = "58P01"


class UserMappingNotFound(DblinkError):
    sqlstate = "42704"

    def __init__(self, user: str) -> None:
        super().__init__(f'user mapping not found for "{user}"')


class PermissionDenied(DblinkError):
    sqlstate = "42501"


class InvalidOption(DblinkError):
    sqlstate = "HV00J"

    def __init__(self, option: str, hint: str | None) -> None:
        super().__init__(f'invalid option "{option}"', hint=hint)


class InvalidParameterValue(DblinkError):
    sqlstate = "22023"


class ArraySubscriptError(DblinkError):
    sqlstate = "2202E"


class CardinalityViolation(DblinkError):
    sqlstate = "21000"


class WrongObjectType(DblinkError):
    sqlstate = "42809"
