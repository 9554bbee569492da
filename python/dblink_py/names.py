"""Connection names as dblink treats them: identifiers cut to 63 bytes."""

from __future__ import annotations

NAMEDATALEN = 64


def truncate_identifier(name: str, codec: str) -> str:
    """Cut `name` to at most 63 bytes in the database encoding, never mid-character."""
    limit = NAMEDATALEN - 1
    if len(name) <= limit // 4 or len(name.encode(codec, "replace")) <= limit:
        return name
    size = 0
    for index, char in enumerate(name):
        size += len(char.encode(codec, "replace"))
        if size > limit:
            return name[:index]
    return name


def truncation_notice(name: str, truncated: str) -> str:
    return f'identifier "{name}" will be truncated to "{truncated}"'
