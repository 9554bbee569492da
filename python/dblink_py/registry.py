"""The session's dblink connections: one unnamed slot plus named ones."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import ConnectionNotAvailable, DuplicateConnectionName

if TYPE_CHECKING:
    from .remote import Remote


@dataclass
class Link:
    """An open dblink connection and dblink's bookkeeping for it."""

    remote: Remote
    name: str | None
    open_cursor_count: int = 0
    new_xact_for_cursor: bool = False
    cursors: set[str] = field(default_factory=set)  # opened with dblink_open, not yet closed
    last_used_at: float = field(default_factory=time.time)

    @property
    def where(self) -> str:
        """How dblink's error context names this connection."""
        return describe(self.name)


def describe(name: str | None) -> str:
    if name is None:
        return "unnamed dblink connection"
    return f'dblink connection named "{name}"'


class Registry:
    """Connections live here for the life of the backend or until disconnect."""

    def __init__(self) -> None:
        self.unnamed: Link | None = None
        self.named: dict[str, Link] = {}

    def find(self, name: str | None) -> Link | None:
        return self.unnamed if name is None else self.named.get(name)

    def get(self, name: str | None) -> Link:
        link = self.find(name)
        if link is None:
            raise ConnectionNotAvailable(name)
        return link

    def check_name_free(self, name: str) -> None:
        if name in self.named:
            raise DuplicateConnectionName()

    def store(self, link: Link) -> None:
        """Keep `link`; a new unnamed connection replaces (closes) the old one."""
        if link.name is None:
            old, self.unnamed = self.unnamed, link
            if old is not None:
                link.open_cursor_count = old.open_cursor_count
                link.new_xact_for_cursor = old.new_xact_for_cursor
                old.remote.close()
        else:
            self.check_name_free(link.name)
            self.named[link.name] = link

    def remove(self, name: str | None) -> Link:
        link = self.get(name)
        if name is None:
            self.unnamed = None
        else:
            del self.named[name]
        return link

    def names(self) -> list[str]:
        return list(self.named)

    def all(self) -> list[Link]:
        links = [self.unnamed] if self.unnamed is not None else []
        return links + list(self.named.values())


# The registry of this backend (PL/Python keeps one interpreter per session).
session = Registry()
