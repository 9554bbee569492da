"""Python values as the text PostgreSQL would write for them: the Python API's bind parameters.

Parameters travel to the remote server as text, each read there by the
input function of the type the query gives it ($1::int ...). None is NULL;
str goes as it is; bool, int, float, Decimal, date and time values, UUIDs,
bytes (bytea's hex form), lists and tuples (array literals, nested for more
dimensions) and dicts (JSON) are written as PostgreSQL writes them; any
other object goes as str(object), if its class defines a text form.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any, Sequence

from .errors import InvalidParameterValue


def as_text(params: Sequence[Any] | None) -> list[str | None] | None:
    """Each parameter as text (None for NULL); 22023 for one that has no text form."""
    if params is None:
        return None
    if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
        raise InvalidParameterValue("parameters must be a list or tuple of values, one per $n")
    return [_text(value, position) for position, value in enumerate(params, 1)]


def _text(value: Any, position: int) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # exact: repr round-trips, str may not
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return f"{value.days} days {value.seconds} seconds {value.microseconds} microseconds"
    if isinstance(value, (list, tuple)):
        return _array(value, position)
    if isinstance(value, dict):
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            raise _no_text(position) from None
    if type(value).__str__ is object.__str__:
        raise _no_text(position)
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - whatever str() raised, the value has no text
        raise _no_text(position) from None


def _array(values: Sequence[Any], position: int) -> str:
    elements = []
    for value in values:
        if isinstance(value, (list, tuple)):
            elements.append(_array(value, position))
            continue
        text = _text(value, position)
        if text is None:
            elements.append("NULL")
        else:
            elements.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(elements) + "}"


def _no_text(position: int) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"parameter ${position} cannot be sent as text",
        hint="Pass None, a str, a number, a bool, a date or time, bytes, a list, a dict, "
             "or an object whose class defines __str__.",
    )
