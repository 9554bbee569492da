"""count_statements: how many statements a query string holds (no server needed)."""

from __future__ import annotations

import pytest

from dblink_py.sqltext import count_statements, shape


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
    ("sql", "count"),
    [
        ("SELECT 'unterminated; SELECT 2", 1),
        ('SELECT "unterminated; SELECT 2', 1),
        ("SELECT $$unterminated; SELECT 2", 1),
        ("SELECT 1; SELECT 2 /* unterminated", 2),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 2", 2),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END", 1),
    ],
)
def test_unterminated_text_and_atomic_bodies_end_no_statement_early(sql: str, count: int) -> None:
    assert count_statements(sql) == count


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        " select a, b from t where x = ';' ;  -- done",
        "VALUES (1), (2)",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "SELECT * FROM t FOR UPDATE",
        "SELECT (SELECT 1)",
    ],
)
def test_plain_queries_can_be_read_as_records(sql: str) -> None:
    assert shape(sql).plain


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; SELECT 2",  # several statements
        "SELECT FROM t",  # no columns
        "SELECT",
        "SELECT ALL FROM t",
        "SELECT * INTO copy FROM t",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "TABLE t",  # the table might have no columns
        "(SELECT 1)",
        "SELECT (1",  # cut short: the remote's own error must stay its own
        "SELECT 1)",
        "SELECT 'unterminated",
        "INSERT INTO t VALUES (1) RETURNING *",
        "FETCH 10 FROM c",
        "",
    ],
)
def test_other_statements_are_sent_as_they_are(sql: str) -> None:
    assert not shape(sql).plain


def test_the_last_statement_is_found_without_its_semicolon_and_comments() -> None:
    sql = "SET x = 1; SELECT 2 ;  -- trailing"
    start, end = shape(sql).last
    assert sql[start:end] == "SELECT 2"
