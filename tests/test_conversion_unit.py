"""dblink_py.conversion without a server: array literals, remote values, row converters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dblink_py.conversion import (
    RemoteArray,
    RemoteText,
    make_row_converter,
    parse_array_literal,
    parse_bool,
    parse_bytea,
    raise_unreported_error,
    remote_value,
)
from dblink_py.errors import ConversionError

Nested = list["Nested | str | None"]

# --- parse_array_literal ----------------------------------------------------


@pytest.mark.parametrize("literal", ["{}", "{ }", " {} ", "{\t\n}"])
def test_empty_array_is_an_empty_list(literal: str) -> None:
    assert parse_array_literal(literal) == []


def test_elements_are_remote_text() -> None:
    elements = parse_array_literal("{1,two,3.5}")
    assert elements == ["1", "two", "3.5"]
    assert all(type(element) is RemoteText for element in elements)


@pytest.mark.parametrize("null", ["NULL", "null", "NuLl", " NULL "])
def test_unquoted_null_in_any_case_is_none(null: str) -> None:
    assert parse_array_literal("{a," + null + ",b}") == ["a", None, "b"]


def test_quoted_null_is_the_string_null() -> None:
    assert parse_array_literal('{"NULL","null"}') == ["NULL", "null"]


def test_escaped_null_is_the_string_null() -> None:
    assert parse_array_literal("{NU\\LL}") == ["NULL"]


def test_quoted_elements_keep_delimiters_braces_and_spaces() -> None:
    assert parse_array_literal('{"a,b","{c}"," d "}') == ["a,b", "{c}", " d "]


def test_quoted_elements_undo_backslash_escapes() -> None:
    assert parse_array_literal(r'{"a\"b","c\\d","\e"}') == ['a"b', "c\\d", "e"]


def test_unquoted_elements_undo_backslash_escapes() -> None:
    assert parse_array_literal(r"{a\,b,c\\d,\{e\}}") == ["a,b", "c\\d", "{e}"]


def test_unquoted_elements_are_trimmed_but_keep_inner_space() -> None:
    assert parse_array_literal("{  a b\t,\nc  }") == ["a b", "c"]


def test_escaped_white_space_is_kept() -> None:
    assert parse_array_literal("{\\ a\\ }") == [" a "]


def test_empty_quoted_string_is_an_element() -> None:
    assert parse_array_literal('{"",x}') == ["", "x"]


def test_non_ascii_white_space_is_part_of_the_element() -> None:
    assert parse_array_literal("{\u00a0a\u00a0}") == ["\u00a0a\u00a0"]


def test_two_dimensional_literal_gives_remote_arrays() -> None:
    elements = parse_array_literal("{{1,2},{3,NULL}}")
    assert elements == [["1", "2"], ["3", None]]
    assert all(type(row) is RemoteArray for row in elements)


def test_sub_arrays_keep_their_literal_text() -> None:
    elements = parse_array_literal('{{"a b",c} , { d ,e}}')
    assert [str(row) for row in elements] == ['{"a b",c}', "{ d ,e}"]


def test_three_dimensional_literal() -> None:
    elements = parse_array_literal('{{{a,b},{c,d}},{{e,f},{"g}",NULL}}}')
    assert elements == [[["a", "b"], ["c", "d"]], [["e", "f"], ["g}", None]]]
    assert str(elements[1][1]) == '{"g}",NULL}'


@pytest.mark.parametrize(
    ("literal", "elements"),
    [
        ("[1:2]={a,b}", ["a", "b"]),
        ("[2]={a,b}", ["a", "b"]),
        (" [1:2] [1:1] = {{a},{b}}", [["a"], ["b"]]),
        ("[+1:2]={a,b}", ["a", "b"]),
    ],
)
def test_decoration_with_lower_bounds_of_one_is_dropped(literal: str, elements: Nested) -> None:
    assert parse_array_literal(literal) == elements


@pytest.mark.parametrize("literal", ["[0:1]={a,b}", "[1:2][2:2]={{a},{b}}", "[-3:-2]={a,b}"])
def test_other_lower_bounds_are_refused_as_unsupported(literal: str) -> None:
    with pytest.raises(ConversionError, match="lower bound") as caught:
        parse_array_literal(literal)
    assert caught.value.sqlstate == "0A000"


def test_decoration_must_match_the_contents() -> None:
    with pytest.raises(ConversionError) as caught:
        parse_array_literal("[1:3]={a,b}")
    assert caught.value.message == 'malformed array literal: "[1:3]={a,b}"'
    assert caught.value.detail == "Specified array dimensions do not match array contents."


def test_upper_bound_below_lower_bound_is_an_array_subscript_error() -> None:
    with pytest.raises(ConversionError, match="upper bound cannot be less") as error:
        parse_array_literal("[2:1]={}")
    assert error.value.sqlstate == "2202E"


def test_ragged_sub_arrays_are_malformed() -> None:
    with pytest.raises(ConversionError) as caught:
        parse_array_literal("{{1},{2,3}}")
    assert caught.value.sqlstate == "22P02"
    assert caught.value.detail == (
        "Multidimensional arrays must have sub-arrays with matching dimensions."
    )


@pytest.mark.parametrize(
    ("literal", "quoted", "detail"),
    [
        ("x", "x", 'Array value must start with "{" or dimension information.'),
        ("{a,}", "{a,}", 'Unexpected "}" character.'),
        ("{,a}", "{,a}", 'Unexpected "," character.'),
        ('{"a"b}', '{"a"b}', "Unexpected array element."),
        ('{a "b"}', '{a "b"}', "Unexpected array element."),
        ("{{1},2}", "{{1},2}", "Unexpected array element."),
        ("{1,{2}}", "{1,{2}}", 'Unexpected "{" character.'),
        ("{{}}", "{{}}", 'Unexpected "}" character.'),
        ('{"abc', '{"abc', "Unexpected end of input."),
        ("{{ab}", "{{ab}", "Unexpected end of input."),
        ("{a\\", "{a\\", "Unexpected end of input."),
        ("{1}x", "{1}x", "Junk after closing right brace."),
        (" {1} x", "{1} x", "Junk after closing right brace."),
        ("[1:1]{1}", "[1:1]{1}", 'Missing "=" after array dimensions.'),
        ("[1:1]=1", "[1:1]=1", 'Array contents must start with "{".'),
        ("[a]={1}", "[a]={1}", '"[" must introduce explicitly-specified array dimensions.'),
    ],
)
def test_malformed_literal_reports_array_in_message(literal: str, quoted: str, detail: str) -> None:
    with pytest.raises(ConversionError) as caught:
        parse_array_literal(literal)
    assert caught.value.message == f'malformed array literal: "{quoted}"'
    assert caught.value.detail == detail
    assert caught.value.sqlstate == "22P02"


def test_more_than_six_dimensions_are_refused() -> None:
    with pytest.raises(ConversionError, match="exceeds the maximum allowed") as caught:
        parse_array_literal("{" * 7 + "1" + "}" * 7)
    assert caught.value.sqlstate == "54000"


def test_semicolon_delimiter_splits_box_arrays() -> None:
    assert parse_array_literal("{(1,1),(0,0);(3,3),(2,2)}", ";") == ["(1,1),(0,0)", "(3,3),(2,2)"]


def test_comma_is_an_ordinary_character_with_another_delimiter() -> None:
    assert parse_array_literal("{{a,b;c}}", ";") == [["a,b", "c"]]


def test_remote_text_input_is_parsed_as_text() -> None:
    assert parse_array_literal(RemoteText("{a,b}")) == ["a", "b"]


# --- RemoteText as text -----------------------------------------------------------


@pytest.mark.parametrize("text", ["hello", "{a,b}", "{{1,2},{3,4}}", "", "Ünï ✓"])
def test_str_of_remote_text_is_the_exact_text(text: str) -> None:
    value = str(RemoteText(text))
    assert type(value) is str
    assert value == text


def test_remote_text_equals_and_hashes_as_its_text() -> None:
    assert RemoteText("{a,b}") == "{a,b}"
    assert hash(RemoteText("{a,b}")) == hash("{a,b}")


def test_str_methods_see_the_text() -> None:
    value = RemoteText("{a,b}")
    assert value.upper() == "{A,B}"
    assert value.encode() == b"{a,b}"
    assert str.__getitem__(value, slice(1, 4)) == "a,b"
    assert str.__len__(value) == 5
    assert "a,b" in value
    assert f"<{value}>" == "<{a,b}>"


# --- RemoteText as an array -------------------------------------------------------


def test_len_counts_array_elements() -> None:
    assert len(RemoteText('{a,"b,c",NULL}')) == 3


def test_indexing_gives_array_elements() -> None:
    value = RemoteText('{a,"b,c",NULL}')
    assert (value[0], value[1], value[2], value[-1]) == ("a", "b,c", None, None)


def test_slicing_gives_a_list_of_elements() -> None:
    assert RemoteText("{a,b,c}")[1:] == ["b", "c"]


def test_iteration_gives_array_elements() -> None:
    assert list(RemoteText("{1,2,3}")) == ["1", "2", "3"]


def test_elements_are_parsed_once() -> None:
    value = RemoteText("{a,b}")
    assert value[0] is value[0]


def test_multidimensional_text_gives_remote_array_elements() -> None:
    value = RemoteText("{{1,2},{3,4}}")
    assert len(value) == 2
    assert type(value[0]) is RemoteArray
    assert str(value[1]) == "{3,4}"


def test_len_of_text_that_is_no_array_raises_malformed() -> None:
    with pytest.raises(ConversionError, match='malformed array literal: "hello"'):
        len(RemoteText("hello"))


def test_a_failed_parse_raises_the_same_error_again() -> None:
    value = RemoteText("{a,}")
    with pytest.raises(ConversionError) as first:
        len(value)
    with pytest.raises(ConversionError) as second:
        len(value)
    assert second.value is first.value


def test_element_of_a_boolean_array_parses_as_boolean() -> None:
    assert [bool(element) for element in RemoteText("{t,f,yes,off}")] == [True, False, True, False]


def test_element_of_a_bytea_array_decodes_as_bytea() -> None:
    assert [bytes(element) for element in RemoteText('{"\\\\x0001","\\\\x"}')] == [b"\x00\x01", b""]


# --- booleans -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[(word, True) for word in ["t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"]],
        *[(word, False) for word in ["f", "fa", "fal", "fals", "false", "n", "no", "of", "off"]],
        ("0", False),
        ("TRUE", True),
        ("Off", False),
        (" \t yes\n", True),
        ("\r\v\fF ", False),
    ],
)
def test_bool_accepts_what_boolin_accepts(text: str, value: bool) -> None:
    assert bool(RemoteText(text)) is value


@pytest.mark.parametrize(
    "text",
    ["o", "x", "", "  ", "truex", "tru e", "yess", "2", "10", "onn", "offf", "-1"]
    + ["ｔ", "\u00a0t"],
)
def test_bool_rejects_what_boolin_rejects(text: str) -> None:
    with pytest.raises(ConversionError) as caught:
        bool(RemoteText(text))
    assert caught.value.message == f'invalid input syntax for type boolean: "{text}"'
    assert caught.value.sqlstate == "22P02"


def test_parse_bool_accepts_plain_str() -> None:
    assert parse_bool(" off ") is False


# --- bytea ------------------------------------------------------------------


def test_bytes_decodes_hex_format() -> None:
    assert bytes(RemoteText("\\x00fF10")) == b"\x00\xff\x10"


def test_bytes_of_empty_hex_is_empty() -> None:
    assert bytes(RemoteText("\\x")) == b""


def test_hex_format_allows_white_space_between_byte_pairs() -> None:
    assert bytes(RemoteText("\\x 00\tff\r\n10 ")) == b"\x00\xff\x10"


@pytest.mark.parametrize(
    ("text", "digit"), [("\\x0g", "g"), ("\\x0 1", " "), ("\\x00\f", "\f"), ("\\xé0", "é")]
)
def test_hex_format_rejects_a_bad_digit(text: str, digit: str) -> None:
    with pytest.raises(ConversionError) as caught:
        bytes(RemoteText(text))
    assert caught.value.message == f'invalid hexadecimal digit: "{digit}"'
    assert caught.value.sqlstate == "22023"


def test_hex_format_rejects_an_odd_number_of_digits() -> None:
    with pytest.raises(ConversionError, match="odd number of digits") as caught:
        bytes(RemoteText("\\x001"))
    assert caught.value.sqlstate == "22023"


def test_bytes_decodes_escape_format() -> None:
    assert bytes(RemoteText("a\\000b\\\\c\\377")) == b"a\x00b\\c\xff"


def test_bytes_of_text_without_escapes_is_its_utf8() -> None:
    assert bytes(RemoteText("plain é")) == "plain é".encode()


@pytest.mark.parametrize("text", ["\\q", "\\4", "\\12", "\\400", "a\\", "\\X41"])
def test_escape_format_rejects_a_bad_escape(text: str) -> None:
    with pytest.raises(ConversionError) as caught:
        bytes(RemoteText(text))
    assert caught.value.message == "invalid input syntax for type bytea"
    assert caught.value.sqlstate == "22P02"


def test_parse_bytea_accepts_plain_str() -> None:
    assert parse_bytea("\\x41") == b"A"


# --- RemoteArray and remote_value ---------------------------------------------


def test_remote_array_is_a_list_of_its_items() -> None:
    array = RemoteArray(["1", None], "{1,NULL}")
    assert array == ["1", None]
    assert isinstance(array, list)


def test_str_of_remote_array_is_its_literal() -> None:
    assert str(RemoteArray([["1"]], "{{1}}")) == "{{1}}"


def test_bool_of_remote_array_parses_its_literal() -> None:
    with pytest.raises(ConversionError, match="type boolean"):
        bool(RemoteArray([["1"]], "{{1}}"))


def test_bytes_of_remote_array_decodes_its_literal() -> None:
    assert bytes(RemoteArray([["1"]], "{{1}}")) == b"{{1}}"


def test_remote_value_of_multidimensional_literal_is_a_remote_array() -> None:
    value = remote_value("{{1,2},{3,4}}")
    assert type(value) is RemoteArray
    assert value == [["1", "2"], ["3", "4"]]


def test_remote_value_of_invalid_nested_text_is_remote_text() -> None:
    value = remote_value("{{not an array")
    assert type(value) is RemoteText
    assert value == "{{not an array"


def test_remote_value_of_one_dimensional_literal_is_remote_text() -> None:
    assert type(remote_value("{1,2}")) is RemoteText


def test_remote_value_with_another_delimiter_splits_on_it() -> None:
    assert list(remote_value("{(1,1),(0,0);(2,2),(1,1)}", ";")) == ["(1,1),(0,0)", "(2,2),(1,1)"]


# --- make_row_converter ---------------------------------------------------------


def test_converter_gives_remote_text_or_none() -> None:
    convert = make_row_converter([23, 25, 16], bytes.decode)
    row = convert([b"1", None, b"t"])
    assert row == ("1", None, "t")
    assert type(row) is tuple
    assert type(row[0]) is RemoteText


def test_converter_decodes_with_the_callable() -> None:
    convert = make_row_converter([25], lambda raw: raw.decode("latin-1"))
    assert convert([b"caf\xe9"]) == ("café",)


def test_converter_decodes_with_a_codec_name() -> None:
    convert = make_row_converter([25], "latin-1")
    assert convert([b"caf\xe9"]) == ("café",)


@pytest.mark.parametrize("oid", [1007, 25, 16400])
def test_converter_makes_multidimensional_literals_remote_arrays(oid: int) -> None:
    (value,) = make_row_converter([oid], bytes.decode)([b"{{1},{2}}"])
    assert type(value) is RemoteArray
    assert str(value) == "{{1},{2}}"


def test_converter_keeps_one_dimensional_literals_remote_text() -> None:
    (value,) = make_row_converter([1007], bytes.decode)([b"{1,2}"])
    assert type(value) is RemoteText
    assert list(value) == ["1", "2"]


def test_converter_splits_box_arrays_on_semicolons() -> None:
    (value,) = make_row_converter([1020], bytes.decode)([b"{(1,1),(0,0);(2,2),(1,1)}"])
    assert list(value) == ["(1,1),(0,0)", "(2,2),(1,1)"]


@pytest.mark.parametrize("oid", [22, 30])
def test_converter_refuses_vector_elements_but_keeps_their_text(oid: int) -> None:
    (value,) = make_row_converter([oid], bytes.decode)([b"1 2"])
    assert str(value) == "1 2"
    with pytest.raises(ConversionError, match="int2vector or oidvector") as caught:
        len(value)
    assert caught.value.sqlstate == "0A000"


def test_converter_for_no_columns_gives_an_empty_row() -> None:
    assert make_row_converter([], bytes.decode)([]) == ()


# --- raise_unreported_error -------------------------------------------------------


def test_unreported_boolean_error_is_raised_once() -> None:
    make_row_converter([], bytes.decode)
    with pytest.raises(ConversionError) as swallowed:
        bool(RemoteText("maybe"))
    with pytest.raises(ConversionError) as reported:
        raise_unreported_error()
    assert reported.value is swallowed.value
    raise_unreported_error()


def test_unreported_error_is_the_first_one() -> None:
    make_row_converter([], bytes.decode)
    for text in ("first", "second"):
        with pytest.raises(ConversionError):
            bool(RemoteText(text))
    with pytest.raises(ConversionError, match='"first"'):
        raise_unreported_error()


def test_new_converter_forgets_an_unreported_error() -> None:
    with pytest.raises(ConversionError):
        bool(RemoteText("maybe"))
    make_row_converter([16], bytes.decode)
    raise_unreported_error()


# --- round trip -----------------------------------------------------------------

_MUST_QUOTE = set('{}"\\ \t\n\r\v\f')


def _format_element(element: str | None, delimiter: str) -> str:
    """An element as array_out writes it."""
    if element is None:
        return "NULL"
    special = _MUST_QUOTE.intersection(element) or delimiter in element
    if element == "" or element.upper() == "NULL" or special:
        return '"' + element.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return element


def _format(items: Nested, delimiter: str) -> str:
    """A nested list as array_out writes it."""
    return "{" + delimiter.join(
        _format(item, delimiter) if isinstance(item, list) else _format_element(item, delimiter)
        for item in items
    ) + "}"


_CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_ELEMENTS = st.none() | st.text(_CHARACTERS | st.sampled_from('{}",;\\ \t\nNUL\u00a0'))
_SPACE = st.text(st.sampled_from(" \t\n\r\v\f"), max_size=2)


@st.composite
def _arrays(draw: st.DrawFn) -> Nested:
    """Rectangular nested lists of strings and None, as PostgreSQL arrays are."""
    dimensions = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4))

    def build(level: int) -> Nested:
        if level == len(dimensions) - 1:
            return [draw(_ELEMENTS) for _ in range(dimensions[level])]
        return [build(level + 1) for _ in range(dimensions[level])]

    return build(0)


@given(_arrays(), st.sampled_from([",", ";"]))
def test_formatted_arrays_parse_back(items: Nested, delimiter: str) -> None:
    assert parse_array_literal(_format(items, delimiter), delimiter) == items


def _format_loosely(items: Nested, draw: st.DrawFn) -> str:
    """A nested list as array_in also reads it: white space around items, any element
    quoted, or unquoted with every character escaped."""
    parts = []
    for item in items:
        if isinstance(item, list):
            text = _format_loosely(item, draw)
        elif item is None:
            text = draw(st.sampled_from(["NULL", "null", "Null"]))
        elif item and draw(st.booleans()):
            text = "".join("\\" + char for char in item)
        else:
            text = '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(draw(_SPACE) + text + draw(_SPACE))
    return "{" + ",".join(parts) + "}"


@given(_arrays(), st.data())
def test_loosely_formatted_arrays_parse_back(items: Nested, data: st.DataObject) -> None:
    literal = data.draw(_SPACE) + _format_loosely(items, data.draw) + data.draw(_SPACE)
    assert parse_array_literal(literal) == items


@given(_arrays())
def test_parsed_sub_arrays_keep_their_formatted_text(items: Nested) -> None:
    for parsed, item in zip(parse_array_literal(_format(items, ",")), items):
        if isinstance(item, list):
            assert str(parsed) == _format(item, ",")


@given(st.lists(_ELEMENTS, max_size=5))
def test_remote_text_of_a_formatted_array_reads_as_its_elements(items: list[str | None]) -> None:
    assert list(RemoteText(_format(items, ","))) == items
