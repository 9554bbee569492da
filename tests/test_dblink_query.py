"""dblink(): rows from a remote query, through named, unnamed and ad-hoc connections."""

from __future__ import annotations

import psycopg
import pytest

from helpers import error_text, remote_pids, rows, scalar


@pytest.fixture(scope="module")
def foo(remote_admin):
    """dblink's regression table: foo(f1 int, f2 text, f3 text[]) with rows 0..9."""
    remote_admin.execute("DROP TABLE IF EXISTS foo")
    remote_admin.execute(
        "CREATE TABLE foo (f1 int, f2 text, f3 text[], PRIMARY KEY (f1, f2))"
    )
    remote_admin.execute(
        "INSERT INTO foo SELECT i, chr(97 + i),"
        " ARRAY['a' || i, 'b' || i, 'c' || i] FROM generate_series(0, 9) i"
    )
    return "foo"


def test_ad_hoc_connection_string_returns_rows(db, remote_dsn, foo):
    result = rows(
        db,
        "SELECT * FROM dblink(%s, 'SELECT * FROM foo WHERE f1 < 3') AS t(a int, b text, c text[])",
        [remote_dsn],
    )
    assert result == [
        (0, "a", ["a0", "b0", "c0"]),
        (1, "b", ["a1", "b1", "c1"]),
        (2, "c", ["a2", "b2", "c2"]),
    ]


def test_ad_hoc_connection_is_closed_afterwards(db, remote_dsn, remote_admin):
    dsn = remote_dsn + " application_name=adhoc"
    rows(db, "SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)", [dsn])
    assert remote_pids(remote_admin, "adhoc", wait=True) == []


def test_ad_hoc_connection_is_closed_after_a_remote_error(db, remote_dsn, remote_admin):
    dsn = remote_dsn + " application_name=adhoc_err"
    with pytest.raises(psycopg.Error):
        rows(db, "SELECT * FROM dblink(%s, 'SELECT 1/0') AS t(a int)", [dsn])
    assert remote_pids(remote_admin, "adhoc_err", wait=True) == []


def test_ad_hoc_connection_is_closed_after_a_local_conversion_error(db, remote_dsn, remote_admin):
    dsn = remote_dsn + " application_name=adhoc_conv"
    with pytest.raises(psycopg.Error):
        rows(db, "SELECT * FROM dblink(%s, 'SELECT ''abc''') AS t(a int)", [dsn])
    assert remote_pids(remote_admin, "adhoc_conv", wait=True) == []


def test_unnamed_connection_serves_the_one_argument_form(db, remote_dsn, foo):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    assert rows(db, "SELECT * FROM dblink('SELECT f1 FROM foo WHERE f1 = 7') AS t(a int)") == [(7,)]


def test_named_connection_is_used_and_kept_open(db, remote_dsn, foo):
    scalar(db, "SELECT dblink_connect('named', %s)", [remote_dsn])
    for _ in range(2):
        assert rows(db, "SELECT * FROM dblink('named', 'SELECT count(*) FROM foo') AS t(n bigint)") == [(10,)]
    assert scalar(db, "SELECT dblink_get_connections()") == ["named"]


def test_one_argument_form_without_unnamed_connection_fails(db):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('SELECT 1') AS t(a int)")
    assert info.value.sqlstate == "08003"
    assert error_text(info.value) == "connection not available"


def test_unknown_name_is_taken_as_a_connection_string(db):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('myconn', 'SELECT 1') AS t(a int)")
    assert info.value.sqlstate == "08001"
    assert info.value.diag.message_detail == 'missing "=" after "myconn" in connection info string'


def test_command_returns_one_status_row(db, remote_dsn):
    assert rows(db, "SELECT * FROM dblink(%s, 'SET work_mem = ''1MB''') AS t(status text)", [remote_dsn]) == [("SET",)]


def test_multiple_statements_return_the_last_result(db, remote_dsn):
    sql = "SELECT 1; SELECT 2 UNION ALL SELECT 3"
    assert rows(db, "SELECT * FROM dblink(%s, %s) AS t(a int)", [remote_dsn, sql]) == [(2,), (3,)]


def test_multiple_statements_ending_in_a_command_return_its_status(db, remote_dsn):
    sql = "SELECT 1; SET work_mem = '2MB'"
    assert rows(db, "SELECT * FROM dblink(%s, %s) AS t(s text)", [remote_dsn, sql]) == [("SET",)]


def test_statements_the_local_parser_does_not_know_still_return_the_last_result(db, remote_dsn):
    # not parseable by the bundled parser: falls back to holding each result
    sql = "SELECT 1 AS a; SELECT 2 AS \"unterminated"
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, %s) AS t(a int)", [remote_dsn, sql])
    assert info.value.sqlstate == "42601"


def test_empty_result_returns_no_rows(db, remote_dsn):
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT 1 WHERE false') AS t(a int)", [remote_dsn]) == []


@pytest.mark.parametrize(
    ("query", "declared", "detail"),
    [("SELECT 1, 2", "a int", "Too many columns."), ("SELECT 1", "a int, b int", "Too few columns.")],
)
def test_column_count_mismatch_is_record_ins_error(db, remote_dsn, query, declared, detail):
    # PL/Python never shows the column list to the function: the row's
    # literal meets it in record_in (see README, Differences from dblink)
    with pytest.raises(psycopg.Error) as info:
        rows(db, f"SELECT * FROM dblink(%s, '{query}') AS t({declared})", [remote_dsn])
    assert info.value.sqlstate == "22P02"
    assert info.value.diag.message_primary.startswith("malformed record literal: ")
    assert info.value.diag.message_detail == detail


def test_zero_column_result_does_not_match_any_column_list(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT FROM generate_series(1, 2)') AS t(a int)", [remote_dsn])
    assert info.value.sqlstate == "42804"
    assert error_text(info.value) == "remote query result rowtype does not match the specified FROM clause rowtype"


def test_missing_column_definition_list_is_an_error(db, remote_dsn):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT 1')", [remote_dsn])
    assert info.value.sqlstate in ("0A000", "42601")


def test_remote_error_keeps_message_detail_hint_and_sqlstate(db, remote_dsn, remote_admin):
    remote_admin.execute(
        "CREATE OR REPLACE FUNCTION raise_rich() RETURNS int LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'rich failure' USING DETAIL = 'the detail',"
        " HINT = 'the hint', ERRCODE = '22012'; END $$"
    )
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink(%s, 'SELECT raise_rich()') AS t(a int)", [remote_dsn])
    diag = info.value.diag
    assert info.value.sqlstate == "22012"
    assert error_text(info.value) == "rich failure"
    assert diag.message_detail == "the detail"
    assert diag.message_hint == "the hint"


def test_remote_error_says_which_named_connection(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('where', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('where', 'SELECT * FROM nowhere') AS t(a int)")
    assert info.value.sqlstate == "42P01"
    assert 'while executing query on dblink connection named "where"' in info.value.diag.context


def test_remote_error_on_unnamed_connection_says_so(db, remote_dsn):
    scalar(db, "SELECT dblink_connect(%s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('SELECT * FROM nowhere') AS t(a int)")
    assert "while executing query on unnamed dblink connection" in info.value.diag.context


def test_fail_on_error_false_turns_remote_error_into_notice_and_no_rows(db, remote_dsn):
    result = rows(db, "SELECT * FROM dblink(%s, 'SELECT * FROM nowhere', false) AS t(a int)", [remote_dsn])
    assert result == []
    notice = db.notices[-1]
    assert notice.severity_nonlocalized == "NOTICE"
    assert notice.sqlstate == "42P01"
    assert notice.message_primary == 'relation "nowhere" does not exist'


def test_fail_on_error_false_keeps_local_errors(db):
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('SELECT 1', false) AS t(a int)")
    assert info.value.sqlstate == "08003"


def test_named_connection_is_usable_after_a_remote_error(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('again', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error):
        rows(db, "SELECT * FROM dblink('again', 'SELECT 1/0') AS t(a int)")
    assert rows(db, "SELECT * FROM dblink('again', 'SELECT 5') AS t(a int)") == [(5,)]


def test_named_connection_is_usable_after_a_local_conversion_error(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('conv', %s)", [remote_dsn])
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT * FROM dblink('conv', 'SELECT ''x'' FROM generate_series(1, 5000)') AS t(a int)")
    assert info.value.sqlstate == "22P02"
    assert rows(db, "SELECT * FROM dblink('conv', 'SELECT 6') AS t(a int)") == [(6,)]


def test_strict_null_argument_returns_no_rows(db):
    assert rows(db, "SELECT * FROM dblink(NULL, 'SELECT 1') AS t(a int)") == []
    assert rows(db, "SELECT * FROM dblink('x', NULL) AS t(a int)") == []


def test_many_rows_arrive_in_order(db, remote_dsn):
    result = rows(db, "SELECT * FROM dblink(%s, 'SELECT g FROM generate_series(1, 25000) g') AS t(a int)", [remote_dsn])
    assert [r[0] for r in result] == list(range(1, 25001))


def test_lateral_calls_on_a_named_connection(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('lat', %s)", [remote_dsn])
    result = rows(
        db,
        "SELECT t.a FROM generate_series(1, 50) g,"
        " LATERAL dblink('lat', 'SELECT ' || g) AS t(a int)",
    )
    assert [r[0] for r in result] == list(range(1, 51))


def test_fail_on_error_false_returns_the_rows_before_an_error_mid_result(db, remote_dsn):
    sql = "SELECT g FROM generate_series(1, 10000) g WHERE g / (5000 - g) >= 0"
    result = rows(db, "SELECT * FROM dblink(%s, %s, false) AS t(a int)", [remote_dsn, sql])
    assert [r[0] for r in result] == list(range(1, 5000))
    assert db.notices[-1].sqlstate == "22012"


def test_remote_datestyle_does_not_stay_after_a_remote_error(db, remote_dsn):
    scalar(db, "SELECT dblink_connect('ds', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_exec('ds', 'SET datestyle = GERMAN, DMY')")
    db.execute("BEGIN")
    sql = "SELECT now()::date, 1 / (5000 - g) FROM generate_series(1, 10000) g"
    rows(db, "SELECT * FROM dblink('ds', %s, false) AS t(d date, a int)", [sql])
    assert scalar(db, "SHOW datestyle") == "ISO, MDY"
    db.execute("ROLLBACK")


def test_box_arrays_in_a_large_result(db, remote_dsn):
    result = rows(
        db,
        "SELECT count(*), sum(array_length(b, 1)) FROM dblink(%s,"
        " 'SELECT ARRAY[box(point(g, g), point(0, 0)), box(point(1, 1), point(2, 2))] FROM generate_series(1, 200) g')"
        " AS t(b box[])",
        [remote_dsn],
    )
    assert result == [(200, 400)]


def test_a_large_result_keeps_every_value(db, remote_dsn):
    result = rows(
        db,
        "SELECT count(*), sum(a), count(*) FILTER (WHERE b), sum(array_length(c, 1)), count(*) FILTER (WHERE d IS NULL)"
        " FROM dblink(%s, 'SELECT g, g %% 2 = 0, ARRAY[g::text, ''x''], CASE WHEN g %% 3 = 0 THEN NULL ELSE g END"
        " FROM generate_series(1, 20000) g') AS t(a int, b bool, c text[], d int)",
        [remote_dsn],
    )
    assert result == [(20000, 200010000, 10000, 40000, 6666)]


def test_local_conversion_error_mid_result_leaves_the_remote_transaction_usable(db, remote_dsn, remote_admin):
    remote_admin.execute("DROP TABLE IF EXISTS kept_after_error")
    remote_admin.execute("CREATE TABLE kept_after_error (a int)")
    scalar(db, "SELECT dblink_connect('tx', %s)", [remote_dsn])
    scalar(db, "SELECT dblink_exec('tx', 'BEGIN')")
    scalar(db, "SELECT dblink_exec('tx', 'INSERT INTO kept_after_error VALUES (1)')")
    sql = "SELECT CASE WHEN g = 30000 THEN 'x' ELSE g::text END FROM generate_series(1, 60000) g"
    with pytest.raises(psycopg.Error) as info:
        rows(db, "SELECT count(*) FROM dblink('tx', %s) AS t(a int)", [sql])
    assert info.value.sqlstate == "22P02"
    # as in C dblink, the remote query ran to its end: the transaction goes on
    assert rows(db, "SELECT * FROM dblink('tx', 'SELECT count(*) FROM kept_after_error') AS t(n bigint)") == [(1,)]
    assert scalar(db, "SELECT dblink_exec('tx', 'COMMIT')") == "COMMIT"
    assert scalar(remote_admin, "SELECT count(*) FROM kept_after_error") == 1
