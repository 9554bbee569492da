"""Fast rows without a server: the chunk conversion gives what the smart values would."""

from __future__ import annotations

import pytest

from dblink_py.conversion import RemoteText, value_maker
from dblink_py.fastrows import (
    ARRAY_OF_PLAIN,
    BOOLEAN,
    BYTEA,
    PLAIN,
    SMART,
    _all_simple_arrays,
    _build,
    _simple_array,
)

TEXT_ARRAY_OID = 1009


def smart_for(oid: int = 25):
    return value_maker(oid)


@pytest.mark.parametrize(
    "column",
    [
        ["{a,b}", "{c}", "{d,e,f}"],
        ["{1,2}", "{3,4}"],
    ],
)
def test_simple_array_columns_are_recognised(column):
    assert _all_simple_arrays(column)


@pytest.mark.parametrize(
    "column",
    [
        ["{a,b}", None],
        ["{a,b}", "{}"],
        ['{"a b",c}'],
        ["{a\\,b}"],
        ["{a, b}"],
        ["{{1,2},{3,4}}"],
        ["{a,NULL}"],
        ["{a,null}"],
        ["x{a}"],
        ["{a}x"],
        ["[2:3]={1,2}"],
        ["{a}x", "{b}"],
        ["{a}", "x{b}"],
        ["{a", "b}"],
        ["{a}{b}"],
        ["{a}", "{b\tc}"],
        ["{a}", "{b,c}\u00a0"],
        [""],
        [" "],
        [],
        ["{,}"],
        ["{a,}"],
        ["{,a}"],
        ["{a,,b}"],
    ],
)
def test_anything_else_is_not(column):
    assert not _all_simple_arrays(column)


def test_simple_array_splits_and_reads_nulls():
    assert _simple_array("{a,NULL,b}", smart_for()) == ["a", None, "b"]
    assert _simple_array("{}", smart_for()) == []


@pytest.mark.parametrize("literal", ["{a,,b}", "{,a}", "{a,}", "{,}"])
def test_simple_array_leaves_empty_elements_to_the_smart_value(literal):
    value = _simple_array(literal, smart_for(TEXT_ARRAY_OID))
    assert isinstance(value, RemoteText)


def test_simple_array_leaves_other_literals_to_the_smart_value():
    value = _simple_array('{"a b",c}', smart_for(TEXT_ARRAY_OID))
    assert isinstance(value, RemoteText)
    assert list(value) == ["a b", "c"]


def test_plain_columns_need_no_conversion():
    assert _build([PLAIN, PLAIN], [smart_for(), smart_for()]) is None


def test_chunk_conversion_builds_booleans_bytea_and_arrays():
    convert = _build([PLAIN, BOOLEAN, BYTEA, ARRAY_OF_PLAIN], [smart_for()] * 3 + [smart_for(TEXT_ARRAY_OID)])
    chunk = convert([("1", "t", "\\x00ff", "{a,b}"), ("2", "f", None, "{c}"), ("3", None, "\\x", "{d}")])
    assert list(chunk) == [
        ("1", True, b"\x00\xff", ["a", "b"]),
        ("2", False, None, ["c"]),
        ("3", None, b"", ["d"]),
    ]
    assert chunk.safe


def test_a_chunk_with_booleans_other_than_t_and_f_is_not_safe():
    convert = _build([BOOLEAN], [smart_for()])
    chunk = convert([("t",), ("maybe",)])
    assert chunk[0] == (True,)
    assert isinstance(chunk[1][0], RemoteText)
    assert not chunk.safe


def test_smart_columns_keep_smart_values_and_make_the_chunk_unsafe():
    convert = _build([SMART], [smart_for()])
    chunk = convert([("f",)])
    assert isinstance(chunk[0][0], RemoteText)
    assert not chunk.safe


def test_arrays_that_are_not_simple_fall_back_per_value():
    convert = _build([ARRAY_OF_PLAIN], [smart_for(TEXT_ARRAY_OID)])
    chunk = convert([("{a,b}",), ('{"x y"}',)])
    assert chunk[0][0] == ["a", "b"]
    assert list(chunk[1][0]) == ["x y"]
