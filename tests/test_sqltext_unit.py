"""count_statements: how many statements a query string holds (no server needed)."""

from __future__ import annotations

import pytest

from dblink_py.sqltext import count_statements


@pytest.mark.parametrize(
    ("sql", "count"),
    [
        ("SELECT 1", 1),
        ("SELECT 1;", 1),
        ("SELECT 1; SELECT 2", 2),
        ("SELECT 1;; ;SELECT 2;", 2),
        ("", 0),
        ("  -- only a comment\n", 0),
        ("SELECT ';'", 1),
        ("SELECT 'it''s; fine'", 1),
        ("SELECT E'a\\'; b'", 1),
        ('SELECT 1 AS ";"; SELECT 2', 2),
        ("SELECT $$a;b$$; SELECT $x$ $$; $x$", 2),
        ("SELECT 1 /* ; /* nested ; */ ; */ ; SELECT 2", 2),
        ("SELECT 1 -- ; comment\n; SELECT 2", 2),
        ("SELECT $1; SELECT $2", 2),
        ("SELECT a$b FROM t; SELECT 2", 2),
        ("SELECT 'é;'; SELECT '✓'", 2),
    ],
)
def test_counts_statements(sql: str, count: int) -> None:
    assert count_statements(sql) == count


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'unterminated; SELECT 2",
        'SELECT "unterminated; SELECT 2',
        "SELECT $$unterminated; SELECT 2",
        "SELECT 1 /* unterminated",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 2",
    ],
)
def test_is_unsure_rather_than_wrong(sql: str) -> None:
    assert count_statements(sql) is None
