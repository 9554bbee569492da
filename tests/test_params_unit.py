"""Python values as bind parameters: the text PostgreSQL would write for them (no server needed)."""

from __future__ import annotations

import datetime
import decimal
import uuid

import pytest

from dblink_py.errors import InvalidParameterValue
from dblink_py.params import as_text


@pytest.mark.parametrize(("value", "text"), [
    (None, None),
    ("x'y", "x'y"),
    (41, "41"),
    (True, "true"),
    (False, "false"),
    (0.1, "0.1"),
    (1e300, "1e+300"),
    (float("inf"), "inf"),
    (decimal.Decimal("1.50"), "1.50"),
    (b"\x00\xff", "\\x00ff"),
    (datetime.date(2024, 2, 29), "2024-02-29"),
    (datetime.datetime(2024, 2, 29, 13, 14, 15, tzinfo=datetime.timezone.utc), "2024-02-29T13:14:15+00:00"),
    (datetime.timedelta(days=-1, seconds=5), "-1 days 5 seconds 0 microseconds"),
    (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ([1, None, 'a"b'], '{"1",NULL,"a\\"b"}'),
    ([[1, 2], [3, 4]], '{{"1","2"},{"3","4"}}'),
    ({"k": [1, 2]}, '{"k": [1, 2]}'),
])
def test_values_are_written_as_postgresql_writes_them(value, text):
    assert as_text([value]) == [text]


def test_an_object_with_a_text_form_goes_as_that_text():
    class Money:
        def __str__(self) -> str:
            return "$1.00"

    assert as_text([Money()]) == ["$1.00"]


def test_an_object_without_a_text_form_is_refused_naming_its_position():
    with pytest.raises(InvalidParameterValue) as info:
        as_text(["ok", object()])
    assert info.value.message == "parameter $2 cannot be sent as text"
    assert info.value.sqlstate == "22023"


def test_a_string_is_not_a_list_of_parameters():
    with pytest.raises(InvalidParameterValue):
        as_text("41")
