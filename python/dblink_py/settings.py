"""dblink_py's own settings (dblink_py.*), read and checked as PostgreSQL checks its own.

An extension without C code cannot register settings: PostgreSQL keeps any
`dblink_py.*` value as an unchecked placeholder string. dblink_py parses
each value with PostgreSQL's rules for booleans and integers (with time
units) when it reads it, refuses an invalid one with 22023 and PostgreSQL's
own wording, and warns once about a `dblink_py.*` name it does not know,
naming the closest one. `dblink_py_settings()` lists every setting with its
value, where it comes from and what it accepts, from the start of a session
(SHOW only knows a placeholder once something set it).
"""

from __future__ import annotations

import ctypes
import functools
import re
from dataclasses import dataclass
from typing import Callable

from .errors import InvalidParameterValue
from .names import closest

PREFIX = "dblink_py."


def parse_bool(text: str) -> bool | None:
    """PostgreSQL's parse_bool: unique prefixes of true/false/yes/no, on/off, 1/0."""
    word = text.strip().lower()
    if not word:
        return None
    for value, spellings in ((True, ("true", "yes")), (False, ("false", "no"))):
        if any(s.startswith(word) for s in spellings):
            return value
    if word in ("on", "1"):
        return True
    if word in ("of", "off", "0"):
        return False
    return None


# GUC_UNIT_S: what a value with a unit is worth in seconds (units are case-sensitive)
_TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_TIME_UNITS_HINT = 'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".'
# strtol(value, &end, 0): decimal, 0x hex, 0 octal ...
_INTEGER = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
# ... re-read with strtod when it stops at ".", "e" or "E"
_FLOAT = re.compile(r"\s*([+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
                    r"|inf(?:inity)?|nan))", re.IGNORECASE)
_UNIT = re.compile(r"\s*([A-Za-z]*)\s*$")


def parse_seconds(text: str) -> tuple[int | None, str | None]:
    """PostgreSQL's parse_int for a setting counted in seconds: (value, hint),
    value None if `text` is not one."""
    number = _INTEGER.match(text)
    value: float
    if number is not None and text[number.end():number.end() + 1] not in (".", "e", "E"):
        sign, digits = number.groups()
        value = float(int(sign + digits, 0 if digits.lower().startswith("0x") else (8 if digits.startswith("0") else 10)))
        end = number.end()
    else:
        number = _FLOAT.match(text)
        if number is None:
            return None, None
        value = float(number.group(1))
        end = number.end()
        if value != value:  # NaN
            return None, None
    unit = _UNIT.match(text, end)
    if unit is None:
        return None, _TIME_UNITS_HINT
    if unit.group(1):
        if unit.group(1) not in _TIME_UNITS:
            return None, _TIME_UNITS_HINT
        value *= _TIME_UNITS[unit.group(1)]
    value = round(value)
    if not -2147483648 <= value <= 2147483647:
        return None, "Value exceeds integer range."
    return int(value), None


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    accepted: str  # for dblink_py_settings() and the errors
    parse: Callable[[str, "Setting"], object]
    description: str


def _boolean(text: str, setting: Setting) -> bool:
    value = parse_bool(text)
    if value is None:
        raise InvalidParameterValue(f'parameter "{setting.name}" requires a Boolean value',
                                    hint=f"Accepted: {setting.accepted}.")
    return value


def _seconds(text: str, setting: Setting) -> int:
    value, hint = parse_seconds(text)
    if value is None:
        raise InvalidParameterValue(f'invalid value for parameter "{setting.name}": "{text}"',
                                    hint=hint or f"Accepted: {setting.accepted}.")
    if not 0 <= value <= 2147483647:
        raise InvalidParameterValue(
            f'{value} s is outside the valid range for parameter "{setting.name}" (0 .. 2147483647)')
    return value


_A_BOOLEAN = "a Boolean (on, off, true, false, yes, no, 1, 0)"

SETTINGS = {
    s.name: s for s in (
        Setting(PREFIX + "reuse_connections", "off", _A_BOOLEAN,
                _boolean, "keep ad-hoc connections open for the next call with the same connection string"),
        Setting(PREFIX + "reuse_idle_timeout", "60", "seconds, 0 .. 2147483647 (units us, ms, s, min, h, d)",
                _seconds, "how long a kept ad-hoc connection may stay idle"),
        Setting(PREFIX + "remote_notices", "on", _A_BOOLEAN,
                _boolean, "show remote NOTICEs and WARNINGs to the client"),
    )
}

_parsed: dict[tuple[str, str], object] = {}


def _set_text(setting: Setting) -> str | None:
    """The session's text for `setting`; None if it is not set (an empty value counts as not set)."""
    from . import backend

    (text,) = backend.optional_settings(setting.name)
    return text or None


def value(name: str) -> object:
    """The current value of a dblink_py setting, parsed; 22023 if it is invalid."""
    warn_about_unknown()
    setting = SETTINGS[name]
    text = _set_text(setting) or setting.default
    key = (name, text)
    found = _parsed.get(key)
    if found is None:
        found = setting.parse(text, setting)
        if len(_parsed) > 64:
            _parsed.clear()
        _parsed[key] = found
    return found


def listing() -> list[tuple[str, str, str, str, str]]:
    """Rows for dblink_py_settings(): name, value, source, accepted values, description."""
    warn_about_unknown()
    rows = []
    for setting in SETTINGS.values():
        text = _set_text(setting)
        rows.append((setting.name, text or setting.default, "default" if text is None else "set",
                     setting.accepted, setting.description))
    return rows


# -- names set in the session that dblink_py does not know --------------------

_warned: set[str] = set()
_seen_count = [-1]


def warn_about_unknown() -> None:
    """A WARNING, once per name, for a dblink_py.* setting that does not exist."""
    from . import backend

    try:
        names = _placeholder_names()
    except Exception:  # noqa: BLE001 - no way to list them here: nothing to warn about
        return
    for name in names:
        if name.startswith(PREFIX) and name not in SETTINGS and name not in _warned:
            _warned.add(name)
            match = closest(name, list(SETTINGS))
            backend.warning(
                f'unrecognized configuration parameter "{name}"',
                detail="dblink_py has no such setting; it has " + ", ".join(SETTINGS) + ".",
                hint=None if match is None else f'Perhaps you meant "{match}".',
                sqlstate="42704",
            )


@functools.lru_cache(maxsize=1)
def _guc_functions() -> tuple[Callable[..., object], Callable[[], int] | None]:
    """The server's get_guc_variables, and on PostgreSQL 15 GetNumConfigOptions
    (16 and later return the count through an argument), looked up once."""
    from . import backend

    postgres = ctypes.CDLL(None)
    get = postgres.get_guc_variables
    get.restype = ctypes.POINTER(ctypes.c_void_p)
    if backend.server_version_num() < 160000:
        count = postgres.GetNumConfigOptions
        count.restype = ctypes.c_int
        return get, count
    get.argtypes = (ctypes.POINTER(ctypes.c_int),)
    return get, None


def _placeholder_names() -> list[str]:
    """The names of the server's settings (placeholders included), read from
    its table of them; [] when it has not grown since the last look.

    PostgreSQL lists placeholders nowhere in SQL (SHOW ALL and pg_settings
    skip them), so the table is read through ctypes: each entry begins with
    the setting's name. PostgreSQL 15 counts them with
    GetNumConfigOptions(); 16 and later hand out a sorted copy.
    """
    get, count_options = _guc_functions()
    if count_options is not None:
        count = count_options()
        if count == _seen_count[0]:
            return []
        table = get()
    else:
        number = ctypes.c_int(0)
        table = get(ctypes.byref(number))
        count = number.value
        if count == _seen_count[0]:
            return []
    _seen_count[0] = count
    names = []
    for index in range(count):
        name = ctypes.c_char_p.from_address(table[index]).value
        if name is not None and name.startswith(PREFIX.encode()):
            names.append(name.decode("utf-8", "replace"))
    return names
