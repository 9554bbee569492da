"""dblink_py.* values read by PostgreSQL's rules for booleans and integers (no server needed)."""

from __future__ import annotations

import pytest

from dblink_py.errors import InvalidParameterValue
from dblink_py.settings import SETTINGS, parse_bool, parse_seconds


@pytest.mark.parametrize(("text", "value"), [
    ("on", True), ("off", False), ("t", True), ("TRUE", True), (" yes ", True), ("y", True), ("1", True),
    ("f", False), ("fal", False), ("no", False), ("n", False), ("0", False), ("of", False),
    ("o", None), ("banana", None), ("", None), ("2", None), ("tru e", None),
])
def test_booleans_are_read_as_postgresql_reads_them(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize(("text", "value"), [
    ("60", 60), (" 90 ", 90), ("0x10", 16), ("010", 8), ("1.5", 2), ("2.5", 2), ("1e2", 100),
    ("2min", 120), ("2 min", 120), ("1h", 3600), ("1d", 86400), ("1500ms", 2), ("-5", -5),
])
def test_seconds_are_read_as_postgresql_reads_an_integer_with_a_time_unit(text, value):
    assert parse_seconds(text) == (value, None)


@pytest.mark.parametrize("text", ["soon", "", "1.2.3", "nan"])
def test_what_is_no_number_is_refused(text):
    assert parse_seconds(text)[0] is None


@pytest.mark.parametrize("text", ["5 parsecs", "5 MIN", "5s x"])
def test_an_unknown_unit_names_the_known_ones(text):
    assert parse_seconds(text) == (None, 'Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".')


def test_an_invalid_boolean_setting_is_22023_with_postgresqls_wording():
    setting = SETTINGS["dblink_py.reuse_connections"]
    with pytest.raises(InvalidParameterValue) as info:
        setting.parse("banana", setting)
    assert info.value.sqlstate == "22023"
    assert info.value.message == 'parameter "dblink_py.reuse_connections" requires a Boolean value'


def test_a_negative_timeout_is_outside_the_valid_range():
    setting = SETTINGS["dblink_py.reuse_idle_timeout"]
    with pytest.raises(InvalidParameterValue) as info:
        setting.parse("-5", setting)
    assert info.value.message == ('-5 s is outside the valid range for parameter "dblink_py.reuse_idle_timeout"'
                                  " (0 .. 2147483647)")
