"""The wrapper's errors told as the user's query's, and libpq's position marker (no server needed;
test_differential compares both with C dblink)."""

from __future__ import annotations

from dblink_py.wrapping import END_OF_INPUT, PREFIX, Wrapped, position_marker, retold


def test_an_error_inside_the_statement_moves_back_by_the_prefix():
    wrapped = Wrapped("  SELECT nosuch;", 2, 15)
    at = wrapped.text.index("nosuch") + 1
    assert wrapped.original_error('column "nosuch" does not exist', at, "42703") == \
        ('column "nosuch" does not exist', 10)


def test_a_statement_cut_short_ends_at_the_end_of_the_user_s_text():
    wrapped = Wrapped("SELECT 1 + -- c\n", 0, 10)
    at = wrapped.text.rindex(")") + 1
    assert wrapped.original_error('syntax error at or near ")"', at, "42601") == (END_OF_INPUT, 17)


def test_a_statement_cut_short_by_its_semicolon_ends_there():
    wrapped = Wrapped("SELECT 1 + /* c */ ;", 0, 10)
    at = wrapped.text.rindex(")") + 1
    assert wrapped.original_error('syntax error at or near ")"', at, "42601") == ('syntax error at or near ";"', 20)


def test_an_error_in_the_prefix_is_not_the_user_s():
    assert Wrapped("SELECT 1", 0, 8).original_error("x", len(PREFIX) - 3, "42601") is None


def test_the_marker_shows_the_line_and_a_caret_under_the_position():
    assert position_marker("SELECT 1\nFROM nosuch", 15) == "LINE 2: FROM nosuch\n             ^\n"


def test_the_marker_counts_a_carriage_return_and_newline_as_one_line():
    assert position_marker("SELECT\r\n1,\r\nx", 13).startswith("LINE 3: x\n")


def test_the_marker_cuts_a_long_line_around_the_position():
    marker = position_marker("SELECT " + "1, " * 40 + "x" + ", 2" * 30, 128)
    line, caret = marker.splitlines()
    assert line.startswith("LINE 1: ...") and line.endswith("...")
    assert len(caret) - 1 == line.index("x")


def test_the_marker_gives_double_width_characters_two_columns():
    assert position_marker("SELECT '\u65e5' || x", 15).splitlines()[1] == " " * 23 + "^"


def test_no_marker_past_the_end():
    assert position_marker("SELECT", 8) == ""


def test_a_message_not_laid_out_as_expected_is_left_as_it_is():
    wrapped = Wrapped("SELECT nosuch", 0, 13)
    assert retold("ERROR:  something else", wrapped, 40, ("m", 8), "m") == "ERROR:  something else"
