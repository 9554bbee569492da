"""dblink_py benchmark: C dblink and dblink_py on one local server, same remote data.

Run by bench/run (`make bench`). Starts a throwaway local and remote server
with the test harness's LocalProvider (a private copy of this machine's
PostgreSQL with dblink_py `make install`ed into it; contrib's C dblink comes
with the copy). On the local server, database bench_c has the C extension
(CREATE EXTENSION dblink) and bench_py has dblink_py (they cannot share a
database: both define dblink_fdw and functions of the same names). The remote
server holds the data, generated once into tables. Every measurement uses a
new local session (so that the backend's peak RSS starts afresh), warmed up
untimed, and times one scenario with the wall clock of this client around the
statements; the remote is reached over 127.0.0.1 with a password
(scram-sha-256). Repetitions alternate C, dblink_py (, floor); the medians and
the ratios dblink_py / C are printed as a table and written, with every
sample, to bench/results/<timestamp>.json.

Scenarios (full run; --quick divides the sizes by 10):
  bulk    SELECT count(*) FROM dblink('c', 'SELECT id, t, arr FROM <n rows>')
          AS t(id int, t text, arr text[]) on an open named connection, for
          1,000,000 and 5,000,000 rows; the backend's peak RSS (VmHWM) of the
          same runs is the memory scenario.
  mixed   1,000,000 rows of nine everyday columns (int, bool, bytea,
          timestamptz, numeric, int[][], text, jsonb, text[]).
  arrays  1,000,000 rows of a 2-D int[] with a NULL and a text[] whose
          elements need quotes and backslashes.
  floor   the same rows as bulk, as ready-made record literals (one str per
          row, what PL/Python converts fastest) yielded by a bare PL/Python
          set-returning function without network: what no PL/Python
          implementation can beat.
          For point, the floor is a bare PL/Python set-returning function
          doing one blocking psycopg.pq round trip per call.
  point   10,000 single-row queries on an open named connection:
          generate_series(1, 10000) g, LATERAL dblink('c', 'SELECT ' || g).
  adhoc   1,000 dblink('<connection string>', ...) calls, each connecting.
  cursor  1,000,000 rows through dblink_open / dblink_fetch(10,000) /
          dblink_close, one statement per call.
  fanout  dblink_fanout over 4 named connections: each running
          pg_sleep(1) (against 4 dblink() calls one after the other), and
          each returning its own 250,000 of the bulk rows (a table of its
          own, through its search_path), against one dblink() of the
          1,000,000 rows, C dblink and dblink_py.
  copy    dblink_copy_to of 1,000,000 local rows (id int, t text, arr
          text[]) into a remote table, against C dblink's fastest way
          (dblink_exec of 1,000-row INSERTs) and psql's \copy piping the same
          rows between the two servers.
  first   a fresh backend's first calls, dblink_connect and one dblink()
          on that connection, not warmed up (20 backends each), and the
          backend's RSS (VmRSS) after them.
  profile (only with --profile, after the rest) py-spy on the dblink_py
          backend during bulk (the smaller size) and point; perf, if
          installed, on the bulk runs of dblink_py, the floor and C dblink.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from servers import REMOTE_DB, LocalProvider, LocalServer, clean_client_env  # noqa: E402

RESULTS = REPO / "bench" / "results"
MB = 1024 * 1024

C, PY, FLOOR, REUSE, PY_SINGLE, PSQL = "c", "py", "floor", "py_reuse", "py_single", "psql"
DATABASES = {C: "bench_c", PY: "bench_py", FLOOR: "bench_py", REUSE: "bench_py", PY_SINGLE: "bench_py",
             PSQL: "bench_py"}
LABELS = {C: "C dblink", PY: "dblink_py", FLOOR: "PL/Python floor", REUSE: "dblink_py, reuse on",
          PY_SINGLE: "dblink_py dblink()", PSQL: "psql \\copy pipe"}
# With dblink_py.reuse_connections = on, ad-hoc calls are to be this many
# times faster than C dblink's.
REUSE_SPEEDUP_TARGET = 5.0

COLUMNS = "t(id int, t text, arr text[])"
# One row of the data; the floor function builds the same values in Python.
ROW_SQL = (
    "SELECT g AS id, md5(g::text) AS t, ARRAY[g::text, (g * 7)::text, 'x' || (g % 100)] AS arr"
    " FROM generate_series(1, {n}) g"
)
FLOOR_POOL = 10_000  # distinct ready-made rows the floor function cycles through
# The rows as ready-made record literals (one str per row, which PL/Python
# hands to record_in): the cheapest way PL/Python returns a row.
FLOOR_FUNCTION = f"""
CREATE FUNCTION bench_floor(n int) RETURNS SETOF record LANGUAGE plpython3u AS $$
import itertools
pool = GD.get("bench_floor_pool")
if pool is None:
    import hashlib
    pool = GD["bench_floor_pool"] = [
        '(%d,%s,"{{%d,%d,x%d}}")' % (g, hashlib.md5(str(g).encode()).hexdigest(), g, g * 7, g % 100)
        for g in range(1, {FLOOR_POOL} + 1)
    ]
full, rest = divmod(n, len(pool))
return itertools.chain(itertools.chain.from_iterable(itertools.repeat(pool, full)), pool[:rest])
$$
"""

# Wider rows: everyday types, and arrays that need quoting and nesting.
MIXED_COLUMNS = ("t(id int, b bool, by bytea, ts timestamptz, num numeric, ia int[], t text, j jsonb,"
                 " ta text[])")
MIXED_SQL = (
    "SELECT g AS id, g % 2 = 0 AS b, decode(md5(g::text), 'hex') AS by,"
    " timestamptz '2020-01-01 00:00+00' + g * interval '1 minute' AS ts, (g / 7.0)::numeric(12,4) AS num,"
    " ARRAY[[g, g + 1], [g + 2, g + 3]] AS ia, md5(g::text) AS t,"
    " jsonb_build_object('k', g, 'v', md5(g::text)) AS j, ARRAY['x y' || g, 'q\"' || g, 'p\\' || g] AS ta"
    " FROM generate_series(1, {n}) g"
)
ARRAYS_COLUMNS = "t(ia int[], ta text[])"
ARRAYS_SQL = (
    "SELECT ARRAY[[g, -g, 0], [g * 2, g * 3, NULL]] AS ia,"
    " ARRAY['a b', 'say \"' || g || '\"', 'c,d', 'back\\slash', NULL, chr(123) || g || chr(125)] AS ta"
    " FROM generate_series(1, {n}) g"
)
WIDE = {"mixed": (MIXED_SQL, MIXED_COLUMNS), "arrays": (ARRAYS_SQL, ARRAYS_COLUMNS)}

# The point floor: one remote round trip per call through psycopg's libpq
# wrapper, blocking, on a connection kept in GD, values returned as they
# came: what no PL/Python implementation on psycopg can beat per call.
POINT_FLOOR_FUNCTION = """
CREATE FUNCTION bench_point_floor(conninfo text, query text) RETURNS SETOF record
LANGUAGE plpython3u AS $$
conn = GD.get("bench_point_floor_conn")
if conn is None:
    plpy.execute("SELECT dblink_py_load()")  # dblink_py's own psycopg.pq, the same libpq
    from dblink_py.libpq import pq
    GD["bench_pq"] = pq
pq = GD["bench_pq"]
if conn is None:
    conn = GD["bench_point_floor_conn"] = pq.PGconn.connect(conninfo.encode())
conn.send_query(query.encode())
rows = []
while (result := conn.get_result()) is not None:
    rows.extend((result.get_value(i, 0).decode(),) for i in range(result.ntuples))
return rows
$$
"""

# Targets of the issue: dblink_py time / C dblink time, same run.
TARGETS = {"bulk": 2.3, "mixed": 1.8, "arrays": 1.8, "point": 1.5, "adhoc": 1.3, "cursor": 1.8, "first": 3.0,
           "fanout_sleep": 1.3, "fanout_rows": 1.3, "copy": 1.5}
FANOUT = 4  # connections of the fan-out scenarios
FANOUT_SLEEP_TARGET_S = 1.3  # 4 queries of 1 s each, at once
COPY_SPEEDUP_TARGET = 5.0  # dblink_copy_to against C dblink's batched INSERTs
FLOOR_TARGET = 1.25  # bulk dblink_py time / floor time
MEMORY_GROWTH_TARGET_MB = 64  # dblink_py peak RSS, larger bulk size minus smaller


@dataclass(frozen=True)
class Sizes:
    bulk: tuple[int, int]
    wide: int  # rows of the mixed and arrays scenarios
    point: int
    adhoc: int
    cursor: int
    batch: int
    fanout: int  # rows of the fan-out scenario, all connections together
    copy: int

    def tables(self) -> list[int]:
        return sorted({*self.bulk, self.cursor, self.fanout})


FULL = Sizes(bulk=(1_000_000, 5_000_000), wide=1_000_000, point=10_000, adhoc=1_000, cursor=1_000_000,
             batch=10_000, fanout=1_000_000, copy=1_000_000)
QUICK = Sizes(bulk=(100_000, 500_000), wide=100_000, point=1_000, adhoc=100, cursor=100_000, batch=10_000,
              fanout=100_000, copy=100_000)

SCENARIOS = ("bulk", "mixed", "arrays", "point", "adhoc", "cursor", "fanout", "copy", "first")
FIRST_CALLS = 20  # fresh backends for the first-call scenario
FIRST_TARGETS = {"ms": 30.0, "rss_mb": 30.0}  # dblink_py's first call, and its backend's RSS after it


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def table_name(n: int) -> str:
    return f"bench_rows_{n}"


def human(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000 and n % 100 == 0:
        return f"{n / 1_000:g}k"
    return str(n)


# -- measuring -----------------------------------------------------------------


def memory_of(pid: int) -> dict[str, float]:
    """VmHWM (peak RSS), VmRSS and RssAnon of a process, in MB."""
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon"):
                found[key] = int(value.split()[0]) / 1024  # kB
    return found


@dataclass
class Sample:
    seconds: float
    peak_rss_mb: float  # VmHWM after the timed statements
    base_rss_mb: float  # VmHWM after the warm-up, before them
    load: float = field(default_factory=lambda: os.getloadavg()[0])  # 1-minute load average after

    def as_json(self) -> dict[str, float]:
        return {"seconds": round(self.seconds, 4), "peak_rss_mb": round(self.peak_rss_mb, 1),
                "base_rss_mb": round(self.base_rss_mb, 1), "load1": round(self.load, 2)}


class Bench:
    """The servers, the databases, and one measurement per call."""

    def __init__(self, local: LocalServer, remote: LocalServer, sizes: Sizes) -> None:
        self.local = local
        self.remote = remote
        self.sizes = sizes
        self.connstr = remote.dsn()  # 127.0.0.1, password (scram-sha-256)

    # -- setup ------------------------------------------------------------

    def prepare(self) -> None:
        with self.remote.admin(REMOTE_DB) as conn:
            # A JIT compile of the remote SELECT is noise common to both sides.
            conn.execute(sql.SQL("ALTER DATABASE {} SET jit = off").format(sql.Identifier(REMOTE_DB)))
            for n in self.sizes.tables():
                started = time.monotonic()
                log(f"remote: generating {table_name(n)} ({n:,} rows)")
                conn.execute(sql.SQL("CREATE TABLE {} AS " + ROW_SQL.format(n=n)).format(
                    sql.Identifier(table_name(n))))
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table_name(n))))
                conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table_name(n))))
                log(f"        done in {time.monotonic() - started:.1f} s")
            for kind, (query, _columns) in WIDE.items():
                name = f"bench_{kind}_{self.sizes.wide}"
                log(f"remote: generating {name}")
                conn.execute(sql.SQL("CREATE TABLE {} AS " + query.format(n=self.sizes.wide)).format(
                    sql.Identifier(name)))
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(name)))
            conn.execute("CREATE TABLE bench_copy_target (id int, t text, arr text[])")
            for part in range(FANOUT):  # a quarter of the fan-out rows each, found through search_path
                conn.execute(f"CREATE SCHEMA bench_part{part}")
                conn.execute(f"CREATE TABLE bench_part{part}.fanout_rows AS SELECT * FROM {table_name(self.sizes.fanout)}"
                             f" WHERE mod(id, {FANOUT}) = {part}")
                conn.execute(f"VACUUM ANALYZE bench_part{part}.fanout_rows")
        with self.local.admin() as conn:
            for db in sorted(set(DATABASES.values())):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
        for db in sorted(set(DATABASES.values())):
            with self.local.admin(db) as conn:  # the rows copied to the remote
                log(f"local {db}: generating bench_copy_source ({self.sizes.copy:,} rows)")
                conn.execute("CREATE TABLE bench_copy_source AS " + ROW_SQL.format(n=self.sizes.copy))
                conn.execute("ALTER TABLE bench_copy_source ADD PRIMARY KEY (id)")
                conn.execute("VACUUM ANALYZE bench_copy_source")
        with self.local.admin(DATABASES[C]) as conn:
            conn.execute("CREATE EXTENSION dblink")
            lang = conn.execute("SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
                                " WHERE p.proname = 'dblink' LIMIT 1").fetchone()
            if lang != ("c",):
                raise RuntimeError(f"{DATABASES[C]}: dblink is not the C extension (language {lang})")
        with self.local.admin(DATABASES[PY]) as conn:
            conn.execute("CREATE EXTENSION dblink_py CASCADE")
            conn.execute(FLOOR_FUNCTION)
            conn.execute(POINT_FLOOR_FUNCTION)
            conn.execute("CREATE FUNCTION bench_python_version() RETURNS text LANGUAGE plpython3u"
                         " AS $$ import sys; return sys.version $$")

    # -- sessions -----------------------------------------------------------

    @contextmanager
    def session(self, variant: str, *, named: bool = True) -> Iterator[tuple[psycopg.Connection, int]]:
        """A new warmed-up local session for `variant`: (connection, backend pid).

        Warm-up (untimed): the extension's library or Python package is
        loaded by one ad-hoc dblink call; `named` opens connection 'c' to the
        remote; the floor builds its pool of ready-made rows.
        """
        conn = psycopg.connect(self.local.dsn(DATABASES[variant], via_socket=True), autocommit=True)
        try:
            conn.execute(sql.SQL("SELECT count(*) FROM dblink({}, 'SELECT 1') AS t(a int)").format(
                sql.Literal(self.connstr)))
            if variant == REUSE:
                conn.execute("SET dblink_py.reuse_connections = on")
            if variant == FLOOR:
                conn.execute(f"SELECT count(*) FROM bench_floor(10) AS {COLUMNS}")
                conn.execute(sql.SQL("SELECT count(*) FROM bench_point_floor({}, 'SELECT 1') AS t(a int)")
                             .format(sql.Literal(self.connstr)))
            elif named:
                conn.execute(sql.SQL("SELECT dblink_connect('c', {})").format(sql.Literal(self.connstr)))
            yield conn, conn.info.backend_pid
        finally:
            conn.close()

    def timed(self, variant: str, body: Callable[[psycopg.Connection], int], expected: int,
              *, named: bool = True) -> Sample:
        """Time body(conn) in a new session; body returns a row count to check."""
        with self.session(variant, named=named) as (conn, pid):
            base = memory_of(pid)["VmHWM"]
            started = time.perf_counter()
            count = body(conn)
            seconds = time.perf_counter() - started
            peak = memory_of(pid)["VmHWM"]
        if count != expected:
            raise RuntimeError(f"{LABELS[variant]}: {count} rows, expected {expected}")
        return Sample(seconds, peak, base)

    # -- scenarios ----------------------------------------------------------

    def bulk_sql(self, variant: str, n: int) -> str:
        if variant == FLOOR:
            return f"SELECT count(*) FROM bench_floor({n}) AS {COLUMNS}"
        remote_sql = f"SELECT id, t, arr FROM {table_name(n)}"
        return f"SELECT count(*) FROM dblink('c', '{remote_sql}') AS {COLUMNS}"

    def bulk(self, variant: str, n: int) -> Sample:
        statement = self.bulk_sql(variant, n)
        return self.timed(variant, lambda conn: scalar(conn, statement), n)

    def first(self, variant: str) -> Sample:
        """A fresh backend's first calls: dblink_connect to the remote, then
        one dblink() on that connection; `peak_rss_mb` holds VmRSS after."""
        conn = psycopg.connect(self.local.dsn(DATABASES[variant], via_socket=True), autocommit=True)
        try:
            pid = conn.info.backend_pid
            started = time.perf_counter()
            conn.execute(sql.SQL("SELECT dblink_connect('c', {})").format(sql.Literal(self.connstr)))
            count = scalar(conn, "SELECT count(*) FROM dblink('c', 'SELECT 1') AS t(a int)")
            seconds = time.perf_counter() - started
            rss = memory_of(pid)["VmRSS"]
        finally:
            conn.close()
        if count != 1:
            raise RuntimeError(f"{LABELS[variant]}: {count} rows, expected 1")
        return Sample(seconds, rss, rss)

    def wide(self, variant: str, kind: str) -> Sample:
        n = self.sizes.wide
        statement = f"SELECT count(*) FROM dblink('c', 'SELECT * FROM bench_{kind}_{n}') AS {WIDE[kind][1]}"
        return self.timed(variant, lambda conn: scalar(conn, statement), n)

    def point_sql(self, variant: str) -> sql.Composable:
        call = sql.SQL("dblink('c', 'SELECT ' || g)")
        if variant == FLOOR:
            call = sql.SQL("bench_point_floor({}, 'SELECT ' || g)").format(sql.Literal(self.connstr))
        return sql.SQL("SELECT count(*) FROM generate_series(1, {}) g, LATERAL {} AS t(a int)").format(
            sql.Literal(self.sizes.point), call)

    def point(self, variant: str) -> Sample:
        statement = self.point_sql(variant)
        return self.timed(variant, lambda conn: scalar(conn, statement), self.sizes.point)

    def adhoc(self, variant: str) -> Sample:
        n = self.sizes.adhoc
        statement = sql.SQL("SELECT count(*) FROM generate_series(1, {}) g,"
                            " LATERAL dblink({}, 'SELECT ' || g) AS t(a int)").format(
            sql.Literal(n), sql.Literal(self.connstr))
        return self.timed(variant, lambda conn: scalar(conn, statement), n, named=False)

    def cursor(self, variant: str) -> Sample:
        n, batch = self.sizes.cursor, self.sizes.batch
        fetch = f"SELECT count(*) FROM dblink_fetch('c', 'cur', {batch}) AS {COLUMNS}"

        def body(conn: psycopg.Connection) -> int:
            conn.execute(f"SELECT dblink_open('c', 'cur', 'SELECT id, t, arr FROM {table_name(n)}')")
            total = 0
            while True:  # as a client would: until a batch comes back short
                got = scalar(conn, fetch)
                total += got
                if got < batch:
                    break
            conn.execute("SELECT dblink_close('c', 'cur')")
            return total

        return self.timed(variant, body, n)


    # -- beyond dblink ------------------------------------------------------

    def fanout_sessions(self, conn: psycopg.Connection) -> list[str]:
        """Named connections f1..f4 to the remote, each finding its own quarter
        of the rows as table fanout_rows (its search_path)."""
        names = [f"f{i}" for i in range(1, FANOUT + 1)]
        for part, name in enumerate(names):
            conn.execute("SELECT dblink_connect(%s, %s)", [name, self.connstr])
            conn.execute("SELECT dblink_exec(%s, %s)", [name, f"SET search_path = bench_part{part}"])
        return names

    def fanout_sleep(self, variant: str) -> Sample:
        """C: four dblink() calls of pg_sleep(1), one after the other; dblink_py: one fan-out."""
        query = "SELECT pg_sleep(1)::text"

        def body(conn: psycopg.Connection) -> int:
            if variant == C:
                return sum(scalar(conn, f"SELECT count(*) FROM dblink('{name}', '{query}') AS t(s text)")
                           for name in names)
            return scalar(conn, f"SELECT count(*) FROM dblink_fanout(%s, '{query}') AS t(conn text, s text)",
                          [names])

        with self.session(variant, named=False) as (conn, _pid):
            names = self.fanout_sessions(conn)
            started = time.perf_counter()
            count = body(conn)
            seconds = time.perf_counter() - started
        if count != FANOUT:
            raise RuntimeError(f"{LABELS[variant]}: {count} rows, expected {FANOUT}")
        return Sample(seconds, 0.0, 0.0)

    def fanout_rows(self, variant: str) -> Sample:
        """dblink_py: a fan-out of FANOUT x (n / FANOUT) rows; C and PY_SINGLE: one dblink() of n rows."""
        n = self.sizes.fanout
        if variant == PY:
            statement = ("SELECT count(*) FROM dblink_fanout(%s, 'SELECT id, t, arr FROM fanout_rows')"
                         " AS t(conn text, id int, t text, arr text[])")
        else:
            statement = f"SELECT count(*) FROM dblink('c', 'SELECT id, t, arr FROM {table_name(n)}') AS {COLUMNS}"
        session_variant = PY if variant == PY_SINGLE else variant
        with self.session(session_variant) as (conn, pid):
            names = self.fanout_sessions(conn) if variant == PY else None
            base = memory_of(pid)["VmHWM"]
            started = time.perf_counter()
            count = scalar(conn, statement) if names is None else scalar(conn, statement, [names])
            seconds = time.perf_counter() - started
            peak = memory_of(pid)["VmHWM"]
        if count != n:
            raise RuntimeError(f"{LABELS[variant]}: {count} rows, expected {n}")
        return Sample(seconds, peak, base)

    def copy(self, variant: str) -> Sample:
        """The local rows into the remote table: C dblink's INSERTs of 1,000 rows, dblink_copy_to, or psql."""
        n = self.sizes.copy
        with self.remote.admin(REMOTE_DB) as admin:
            admin.execute("TRUNCATE bench_copy_target")
        if variant == PSQL:
            seconds = self.psql_copy()
            count = n
        else:
            with self.session(variant) as (conn, _pid):
                started = time.perf_counter()
                if variant == C:
                    conn.execute(C_BATCHED_INSERTS.format(n=n))
                else:
                    conn.execute("SELECT dblink_copy_to('c', 'bench_copy_target', 'SELECT * FROM bench_copy_source')")
                seconds = time.perf_counter() - started
        with self.remote.admin(REMOTE_DB) as admin:
            count = scalar(admin, "SELECT count(*) FROM bench_copy_target")
        if count != n:
            raise RuntimeError(f"{LABELS[variant]}: {count} rows, expected {n}")
        return Sample(seconds, 0.0, 0.0)

    def psql_copy(self) -> float:
        """psql's \\copy out of the local table piped into psql's \\copy into the remote one."""
        psql = str(Path(self.local.install.bindir) / "psql")
        out = [psql, "-X", "-q", "-d", self.local.dsn(DATABASES[PY], via_socket=True),
               "-c", "\\copy bench_copy_source TO STDOUT"]
        into = [psql, "-X", "-q", "-d", self.connstr, "-c", "\\copy bench_copy_target FROM STDIN"]
        started = time.perf_counter()
        reader = subprocess.Popen(out, stdout=subprocess.PIPE)
        writer = subprocess.run(into, stdin=reader.stdout, capture_output=True, text=True)
        assert reader.stdout is not None
        reader.stdout.close()
        reader.wait()
        seconds = time.perf_counter() - started
        if reader.returncode or writer.returncode:
            raise RuntimeError(f"psql \\copy pipe failed: {writer.stderr}")
        return seconds


# C dblink's fastest way to move rows: one dblink_exec per 1,000-row INSERT.
C_BATCHED_INSERTS = """
DO $$
DECLARE
    batch int;
    values_ text;
BEGIN
    FOR batch IN 0 .. ({n} - 1) / 1000 LOOP
        SELECT string_agg(format('(%s,%L,%L)', id, t, arr), ',') INTO values_
        FROM bench_copy_source WHERE id > batch * 1000 AND id <= (batch + 1) * 1000;
        PERFORM dblink_exec('c', 'INSERT INTO bench_copy_target VALUES ' || values_);
    END LOOP;
END
$$
"""


def scalar(conn: psycopg.Connection, statement: Any, params: Any = None) -> Any:
    row = conn.execute(statement, params).fetchone()
    assert row is not None
    return row[0]


# -- running and reporting -------------------------------------------------------


@dataclass
class Result:
    scenario: str
    size: int
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.scenario} {human(self.size)}"

    def median(self, variant: str) -> float | None:
        samples = self.samples.get(variant)
        return statistics.median(s.seconds for s in samples) if samples else None

    def median_peak(self, variant: str) -> float | None:
        samples = self.samples.get(variant)
        return statistics.median(s.peak_rss_mb for s in samples) if samples else None

    def ratio(self, over: str = C) -> float | None:
        py, other = self.median(PY), self.median(over)
        return py / other if py is not None and other else None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "size": self.size,
            "samples": {v: [s.as_json() for s in ss] for v, ss in self.samples.items()},
            "median_seconds": {v: round(self.median(v), 4) for v in self.samples},  # type: ignore[arg-type]
            "median_peak_rss_mb": {v: round(self.median_peak(v), 1) for v in self.samples},  # type: ignore[arg-type]
        }
        if self.scenario not in BEYOND[1:]:  # those compare otherwise: see report_beyond
            out.update(ratio_py_c=rounded(self.ratio()), target_py_c=TARGETS[self.scenario],
                       ok=ok(self.ratio(), TARGETS[self.scenario]))
        if FLOOR in self.samples:
            out["ratio_py_floor"] = rounded(self.ratio(FLOOR))
            out["ratio_floor_c"] = rounded(floor_c(self))
            if self.scenario == "bulk":
                out["target_py_floor"] = FLOOR_TARGET
                out["ok_floor"] = ok(self.ratio(FLOOR), FLOOR_TARGET)
        return out


def rounded(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


def ok(ratio: float | None, target: float) -> bool | None:
    return None if ratio is None else ratio <= target


def floor_c(result: Result) -> float | None:
    floor, c = result.median(FLOOR), result.median(C)
    return floor / c if floor is not None and c else None


def run_scenarios(bench: Bench, wanted: list[str], reps: int) -> list[Result]:
    sizes = bench.sizes
    plan: list[tuple[Result, list[str], Callable[[str], Sample]]] = []
    if "bulk" in wanted:
        for n in sizes.bulk:
            plan.append((Result("bulk", n), [C, PY, FLOOR], lambda v, n=n: bench.bulk(v, n)))
    for kind in WIDE:
        if kind in wanted:
            plan.append((Result(kind, sizes.wide), [C, PY], lambda v, kind=kind: bench.wide(v, kind)))
    if "point" in wanted:
        plan.append((Result("point", sizes.point), [C, PY, FLOOR], bench.point))
    if "adhoc" in wanted:
        plan.append((Result("adhoc", sizes.adhoc), [C, PY, REUSE], bench.adhoc))
    if "cursor" in wanted:
        plan.append((Result("cursor", sizes.cursor), [C, PY], bench.cursor))
    if "fanout" in wanted:
        plan.append((Result("fanout_sleep", FANOUT), [C, PY], bench.fanout_sleep))
        plan.append((Result("fanout_rows", sizes.fanout), [C, PY_SINGLE, PY], bench.fanout_rows))
    if "copy" in wanted:
        plan.append((Result("copy", sizes.copy), [C, PSQL, PY], bench.copy))
    first_reps = {}
    if "first" in wanted:
        plan.append((Result("first", 1), [C, PY], bench.first))
        first_reps[len(plan) - 1] = FIRST_CALLS
    results = []
    for index, (result, variants, measure) in enumerate(plan):
        count = first_reps.get(index, reps)
        for rep in range(1, count + 1):
            for variant in variants:  # interleaved: C, py(, floor), C, py(, floor), ...
                sample = measure(variant)
                result.samples.setdefault(variant, []).append(sample)
                log(f"{result.name:<12} rep {rep}/{count}  {LABELS[variant]:<16} {sample.seconds:8.3f} s"
                    f"   peak RSS {sample.peak_rss_mb:7.1f} MB   load {sample.load:4.1f}")
        results.append(result)
    return results


def fmt_seconds(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f} s"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def verdict(good: bool | None) -> str:
    return "" if good is None else ("ok" if good else "MISSED")


def render_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in [header, ["-" * w for w in widths], *rows]]
    return "\n".join(lines)


BEYOND = ("first", "fanout_sleep", "fanout_rows", "copy")  # reported on their own


def report_beyond(results: list[Result]) -> list[str]:
    """The fan-out and copy scenarios: their own comparisons and targets."""
    rows = []
    for r in results:
        py = r.median(PY)
        if r.scenario == "fanout_sleep" and py is not None:
            rows.append([f"fan-out {FANOUT} x pg_sleep(1)", f"{LABELS[C]}, one call after the other",
                         fmt_seconds(r.median(C)), fmt_seconds(py), "-",
                         f"<= {FANOUT_SLEEP_TARGET_S} s", verdict(py <= FANOUT_SLEEP_TARGET_S)])
        elif r.scenario == "fanout_rows" and py is not None:
            for other in (C, PY_SINGLE):
                ratio = py / r.median(other)  # type: ignore[operator]
                rows.append([f"fan-out {FANOUT} x {human(r.size // FANOUT)} rows", f"{LABELS[other]} of {human(r.size)}",
                             fmt_seconds(r.median(other)), fmt_seconds(py), fmt_ratio(ratio),
                             f"<= {TARGETS['fanout_rows']}", verdict(ratio <= TARGETS["fanout_rows"])])
        elif r.scenario == "copy" and py is not None:
            c, psql = r.median(C), r.median(PSQL)
            rows.append([f"dblink_copy_to {human(r.size)}", f"{LABELS[C]}, INSERTs of 1,000 rows", fmt_seconds(c),
                         fmt_seconds(py), f"{c / py:.1f}x faster", f">= {COPY_SPEEDUP_TARGET:g}x faster",  # type: ignore[operator]
                         verdict(c / py >= COPY_SPEEDUP_TARGET)])  # type: ignore[operator]
            rows.append([f"dblink_copy_to {human(r.size)}", LABELS[PSQL], fmt_seconds(psql), fmt_seconds(py),
                         fmt_ratio(py / psql), f"<= {TARGETS['copy']}", verdict(py / psql <= TARGETS["copy"])])  # type: ignore[operator]
    if not rows:
        return []
    return ["", "Beyond dblink: fan-out and bulk copy (median; ratio = dblink_py / the other)",
            render_table(["scenario", "against", "other", "dblink_py", "ratio", "target", ""], rows)]


def report(results: list[Result], reps: int) -> tuple[str, dict[str, Any]]:
    """The text tables, and the memory verdict for the JSON."""
    out = []
    rows = []
    for r in results:
        if r.scenario in BEYOND:
            continue
        rows.append([r.name, fmt_seconds(r.median(C)), fmt_seconds(r.median(PY)), fmt_ratio(r.ratio()),
                     f"<= {TARGETS[r.scenario]}", verdict(ok(r.ratio(), TARGETS[r.scenario]))])
    out.append(f"Time: median of {reps} (wall clock around the statements; ratio = dblink_py / C dblink)")
    out.append(render_table(["scenario", "C dblink", "dblink_py", "ratio", "target", ""], rows))

    bulk = [r for r in results if r.scenario == "bulk"]
    floored = [r for r in results if r.median(FLOOR) is not None]
    if floored:
        rows = []
        for r in floored:
            target, good = (f"<= {FLOOR_TARGET}", ok(r.ratio(FLOOR), FLOOR_TARGET)) if r.scenario == "bulk" else ("", None)
            rows.append([r.name, fmt_seconds(r.median(FLOOR)), fmt_ratio(floor_c(r)), fmt_ratio(r.ratio(FLOOR)),
                         target, verdict(good)])
        out.append("")
        out.append("PL/Python floor. bulk: the same rows yielded by a bare PL/Python SRF, no network;"
                   " point: a bare PL/Python SRF doing one blocking psycopg.pq round trip per call")
        out.append(render_table(["scenario", "floor", "floor/C", "dblink_py/floor", "target", ""], rows))

    out += report_beyond(results)

    memory: dict[str, Any] = {}
    if bulk:
        rows = []
        for variant in (C, PY, FLOOR):
            peaks = [r.median_peak(variant) for r in bulk]
            bases = [statistics.median(s.base_rss_mb for s in r.samples[variant]) for r in bulk]
            growth = peaks[-1] - peaks[0] if len(peaks) > 1 else None  # type: ignore[operator]
            memory[variant] = {"peak_rss_mb": {str(r.size): p for r, p in zip(bulk, peaks)},
                               "base_rss_mb": {str(r.size): b for r, b in zip(bulk, bases)},
                               "growth_mb": rounded(growth, 1)}
            target = ""
            if variant == PY and growth is not None:
                memory["ok"] = growth <= MEMORY_GROWTH_TARGET_MB
                target = f"<= {MEMORY_GROWTH_TARGET_MB} MB  {verdict(memory['ok'])}"
            rows.append([LABELS[variant], *(f"{b:.0f} MB" for b in bases[:1]),
                         *(f"{p:.0f} MB" for p in peaks),
                         "-" if growth is None else f"{growth:+.0f} MB", target])
        names = [f"peak {human(r.size)}" for r in bulk]
        out.append("")
        out.append("Memory: local backend peak RSS (VmHWM) over the bulk runs (median); baseline = after warm-up")
        out.append(render_table(["backend", "baseline", *names, "growth", "target (dblink_py)"], rows))

    for r in results:
        if r.scenario == "first":
            ms = {v: 1000 * r.median(v) for v in (C, PY)}  # type: ignore[operator]
            rss = {v: r.median_peak(v) for v in (C, PY)}
            out.append("")
            out.append(f"First call in a fresh backend (dblink_connect + one dblink(), median of {FIRST_CALLS}):"
                       f" C dblink {ms[C]:.1f} ms, dblink_py {ms[PY]:.1f} ms"
                       f" (target <= {FIRST_TARGETS['ms']:g} ms  {verdict(ms[PY] <= FIRST_TARGETS['ms'])});"
                       f" backend RSS after it: C dblink {rss[C]:.1f} MB, dblink_py {rss[PY]:.1f} MB"
                       f" (target <= {FIRST_TARGETS['rss_mb']:g} MB"
                       f"  {verdict(rss[PY] <= FIRST_TARGETS['rss_mb'])})")
        if r.scenario == "adhoc" and r.median(REUSE) and r.median(C):
            speedup = r.median(C) / r.median(REUSE)  # type: ignore[operator]
            out.append("")
            out.append(f"Ad-hoc with dblink_py.reuse_connections = on: {fmt_seconds(r.median(REUSE))},"
                       f" {speedup:.1f}x faster than C dblink (target >= {REUSE_SPEEDUP_TARGET:g}x)"
                       f"  {verdict(speedup >= REUSE_SPEEDUP_TARGET)}")
    return "\n".join(out), memory


def environment(provider: LocalProvider, local: LocalServer) -> dict[str, Any]:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return proc.stdout.strip()

    with local.admin(DATABASES[PY]) as conn:
        pg = scalar(conn, "SELECT version()")
        server_python = scalar(conn, "SELECT bench_python_version()")
        py_version = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'dblink_py'").fetchone()
    return {
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "postgres": pg,
        "dblink_py_extversion": py_version[0] if py_version else None,
        "server_python": server_python,
        "client_psycopg": psycopg.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "private_install": str(provider.root),
    }


# -- profiling -------------------------------------------------------------------


PY_SPY_RATE = 200


def venv_tool(name: str, package: str) -> str:
    """A tool from this venv, pip-installed into it on first use."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        log(f"installing {package} into {Path(sys.executable).parent.parent}")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        package], check=True)
    return str(path)


def profile(bench: Bench, stamp: str, native: bool) -> dict[str, Any]:
    """py-spy on the dblink_py backend during one bulk run (smaller size) and one point run;
    perf (if installed) on the bulk runs of dblink_py, the floor and C dblink."""
    pyspy = venv_tool("py-spy", "py-spy")
    perf = shutil.which("perf")
    RESULTS.mkdir(parents=True, exist_ok=True)
    n = bench.sizes.bulk[0]
    out: dict[str, Any] = {"rows": n}
    for variant in (PY, FLOOR, C) if perf else (PY,):
        out[variant] = record(bench, bench.bulk_sql(variant, n), variant, RESULTS / f"{stamp}-bulk-{variant}-{human(n)}",
                              pyspy if variant == PY else None, perf, native)
    out["point"] = record(bench, bench.point_sql(PY), PY, RESULTS / f"{stamp}-point-py-{human(bench.sizes.point)}",
                          pyspy, None, native)
    return out


def record(bench: Bench, statement: str | sql.Composable, variant: str, base: Path, pyspy: str | None,
           perf: str | None, native: bool) -> dict[str, Any]:
    """Run one statement in a new session of `variant` under py-spy and/or perf."""
    speedscope = base.with_suffix(".speedscope.json")
    perf_data = base.with_suffix(".perf.data")
    with bench.session(variant) as (conn, pid):
        # as text for the JSON file (the point statement is a psycopg Composed)
        entry: dict[str, Any] = {"statement": statement if isinstance(statement, str) else statement.as_string(conn)}
        log(f"profile: backend {pid}: {entry['statement']}")
        spy = recorder = None
        if pyspy:
            argv = [pyspy, "record", "--pid", str(pid), "--rate", str(PY_SPY_RATE), "--format", "speedscope",
                    "--output", str(speedscope)]
            if native:
                argv.append("--native")
            spy = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if perf:
            recorder = subprocess.Popen(
                [perf, "record", "-F", "499", "-g", "-p", str(pid), "-o", str(perf_data)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)  # let them attach
        started = time.perf_counter()
        scalar(conn, statement)
        seconds = time.perf_counter() - started
        for proc in (spy, recorder):
            if proc is not None:
                proc.send_signal(signal.SIGINT)
        spy_output = spy.communicate(timeout=120)[0] if spy is not None else ""
        if recorder is not None:
            recorder.wait(timeout=120)
    entry["seconds"] = round(seconds, 3)
    log(f"profile: {LABELS[variant]} took {seconds:.3f} s under the profilers")
    if spy is not None:
        if not speedscope.exists():
            raise RuntimeError(f"py-spy wrote no profile:\n{spy_output}")
        entry["speedscope"] = str(speedscope)
        entry["py_spy"] = summarize_speedscope(speedscope, seconds, PY_SPY_RATE)
    if perf and perf_data.exists():
        entry["perf_data"] = str(perf_data)
        entry["perf_dso"] = perf_report(perf, perf_data, "dso", 12)
        entry["perf_symbols"] = perf_report(perf, perf_data, "dso,sym", 40)
    return entry


def summarize_speedscope(path: Path, seconds: float, rate: int, top: int = 25) -> dict[str, Any]:
    """Top frames by self and total samples, as shares of all non-idle samples.

    A non-idle sample with an empty stack is the backend running outside
    Python: PostgreSQL's executor, or PL/Python's C code converting a row.
    A stack whose root is a dunder method (RemoteText.__len__, ...) is
    PL/Python's conversion calling back into Python.
    """
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    self_counts: Counter[int] = Counter()
    total_counts: Counter[int] = Counter()
    roots: Counter[int] = Counter()
    samples = empty = 0
    for prof in data["profiles"]:
        for stack in prof["samples"]:
            samples += 1
            if not stack:
                empty += 1
                continue
            roots[stack[0]] += 1
            self_counts[stack[-1]] += 1
            for frame in set(stack):
                total_counts[frame] += 1

    def name(i: int) -> str:
        f = frames[i]
        file = f.get("file") or ""
        where = f"{Path(file).name}:{f.get('line')}" if file else ""
        return f"{f['name']} ({where})" if where else f["name"]

    def table(counts: Counter[int], n: int = top) -> list[dict[str, Any]]:
        return [{"frame": name(i), "samples": c, "percent": round(100 * c / samples, 1)}
                for i, c in counts.most_common(n)] if samples else []

    return {"samples": samples, "samples_without_python": empty, "expected_samples": int(seconds * rate),
            "roots": table(roots, 8), "self": table(self_counts), "total": table(total_counts)}


def perf_report(perf: str, data: Path, sort: str, top: int) -> list[str]:
    proc = subprocess.run([perf, "report", "-i", str(data), "--no-children", "--sort", sort, "--stdio",
                           "-g", "none", "--percent-limit", "0.5"], capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.strip() and not line.startswith("#")]
    return lines[:top]


def render_py_spy(title: str, entry: dict[str, Any]) -> list[str]:
    spy = entry["py_spy"]
    no_python = 100 * spy["samples_without_python"] / max(spy["samples"], 1)
    out = [f"{title}, {entry['seconds']} s under the profilers",
           f"  py-spy at {PY_SPY_RATE} Hz: {spy['samples']} non-idle samples ({spy['expected_samples']} expected);"
           f" {no_python:.1f}% without Python frames (executor, PL/Python's C code)",
           f"  {entry['speedscope']}",
           "  py-spy stack roots (the function, or PL/Python's conversion calling into Python):"]
    out += [f"    {e['percent']:5.1f}%  {e['frame']}" for e in spy["roots"]]
    for kind in ("self", "total"):
        out.append(f"  py-spy top by {kind} samples (% of non-idle samples):")
        out += [f"    {e['percent']:5.1f}%  {e['frame']}" for e in spy[kind][:20]]
    return out


def render_profile(prof: dict[str, Any]) -> str:
    n = human(prof["rows"])
    out = render_py_spy(f"Profile: dblink_py bulk {n} rows", prof[PY])
    for variant in (PY, FLOOR, C):
        entry = prof.get(variant, {})
        if "perf_dso" in entry:
            out.append(f"  perf, {LABELS[variant]} bulk {n} ({entry['seconds']} s), by shared object"
                       f" ({entry['perf_data']}):")
            out += ["    " + line.strip() for line in entry["perf_dso"]]
            out.append("    top symbols:")
            out += ["      " + line.strip() for line in entry["perf_symbols"][:25]]
    out.append("")
    out += render_py_spy("Profile: dblink_py point", prof["point"])
    return "\n".join(out)


# -- main ------------------------------------------------------------------------



def on_termination(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, help="repetitions per scenario and extension (default 3, --quick 1)")
    parser.add_argument("--quick", action="store_true", help="sizes / 10 and 1 repetition: a smoke check")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help=f"comma-separated scenarios to run (default: {','.join(SCENARIOS)}; "
                             "memory comes with bulk, the floor too)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, profile dblink_py's bulk (smaller size) and point runs with py-spy "
                             "(pip-installed into the venv if missing), and the bulk runs with perf (if "
                             "installed); files in bench/results/")
    parser.add_argument("--native", action="store_true", help="py-spy --native (C frames too)")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/<timestamp>.json")
    args = parser.parse_args()

    wanted = [s for s in args.only.split(",") if s]
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))} (known: {', '.join(SCENARIOS)})")
    reps = args.reps or (1 if args.quick else 3)
    sizes = QUICK if args.quick else FULL

    clean_client_env()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_termination)
    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")

    provider = LocalProvider(keep=os.environ.get("DBLINK_PY_KEEP") == "1")
    try:
        log("starting the servers (private copy of the installation, make install, initdb x2)")
        local, remote = provider.start()
        problem = provider.extension_problem()
        if problem is not None:
            raise SystemExit(f"dblink_py could not be installed into the private copy:\n{problem}")
        assert isinstance(local, LocalServer) and isinstance(remote, LocalServer)
        bench = Bench(local, remote, sizes)
        bench.prepare()
        env = environment(provider, local)
        results = run_scenarios(bench, wanted, reps)
        finished = dt.datetime.now(dt.timezone.utc)
        # The results first: a failing profiler must not lose them.
        text, memory = report(results, reps)
        print(f"dblink_py benchmark, {'quick' if args.quick else 'full'} run, {started:%Y-%m-%d %H:%M} UTC,"
              f" {(finished - started).total_seconds() / 60:.1f} min; {env['git_commit'][:12]}"
              f"{' (uncommitted changes)' if env['git_dirty'] else ''}; {os.cpu_count()} CPUs")
        print(load_summary(results))
        print(text, flush=True)
        doc = {
            "started": started.isoformat(), "finished": finished.isoformat(), "argv": sys.argv[1:],
            "mode": "quick" if args.quick else "full", "reps": reps, "sizes": sizes.__dict__,
            "environment": env,
            "targets": {"ratio_py_c": TARGETS, "ratio_py_floor": FLOOR_TARGET,
                        "memory_growth_mb": MEMORY_GROWTH_TARGET_MB},
            "results": [r.as_json() for r in results],
            "memory": memory,
            "profile": None,
        }
        path = RESULTS / f"{stamp}.json"
        if not args.no_json:
            write_json(path, doc)
        if args.profile:
            doc["profile"] = profile(bench, stamp, args.native)
            print()
            print(render_profile(doc["profile"]), flush=True)
            if not args.no_json:
                write_json(path, doc)
    finally:
        provider.stop()
    return 0


def load_summary(results: list[Result]) -> str:
    loads = [s.load for r in results for ss in r.samples.values() for s in ss]
    if not loads:
        return "no samples"
    cpus = os.cpu_count() or 1
    warning = "; WARNING: other work competed for the CPUs, the times are noisy" if max(loads) > cpus + 0.5 else ""
    return (f"1-minute load average after the samples: {min(loads):.1f} .. {max(loads):.1f}"
            f" (median {statistics.median(loads):.1f}) on {cpus} CPUs{warning}")


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    sys.exit(main())
