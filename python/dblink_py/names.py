"""Names as dblink treats them: identifiers cut to 63 bytes, and the closest of some known names."""

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


def closest(option: str, candidates: list[str]) -> str | None:
    """The candidate nearest to `option` by edit distance, if near enough.

    Follows PostgreSQL 16's hint for mistyped options: at most 4 edits and
    less than half the length of the longer word.
    """
    best: tuple[int, str] | None = None
    for candidate in candidates:
        distance = _levenshtein(option, candidate)
        if distance > 4 or distance > max(len(option), len(candidate)) // 2:
            continue
        if best is None or distance < best[0]:
            best = (distance, candidate)
    return None if best is None else best[1]


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]
