"""dblink_py demo (run by scripts/demo, i.e. `make demo`).

Starts a throwaway pair of PostgreSQL servers with the test harness's
LocalProvider (a private copy of this machine's PostgreSQL installation with
dblink_py `make install`ed into it; a local server with dblink_py and a
password-protected remote server, both on 127.0.0.1), then runs examples of
PostgreSQL's dblink documentation through psql against the local server:
named, unnamed and ad-hoc connections, dblink_exec, cursors, asynchronous
queries, fail_on_error and dblink_error_message, a foreign server with a
user mapping used by a non-superuser, and two views beyond dblink. Everything is stopped and removed at the end, also
on Ctrl-C. DBLINK_PY_KEEP=1 keeps the directory (the servers are stopped).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from psycopg.conninfo import make_conninfo  # noqa: E402

from servers import EXTENSION, LocalProvider, Server, clean_client_env  # noqa: E402

# The role of the foreign-server part of the example, as in the documentation.
FDW_USER = "regress_dblink_user"
FDW_PASSWORD = "secret"


def say(text: str = "") -> None:
    print(text, flush=True)


def heading(text: str) -> None:
    say()
    say(f"==> {text}")


def lit(value: str | int) -> str:
    """A SQL string literal (standard_conforming_strings is on)."""
    return "'" + str(value).replace("'", "''") + "'"


def public_dsn(server: Server) -> str:
    """Where a server is, as a connection string without password."""
    return make_conninfo("", host=server.host, port=server.port, dbname=server.dbname, user=server.superuser)


def psql_binary(pg_config: str) -> str:
    bindir = subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout.strip()
    path = Path(bindir) / "psql"
    if not path.exists():
        sys.exit(f"no psql in {bindir}: apt-get install postgresql-client-<major>")
    return str(path)



def on_termination(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


class Psql:
    def __init__(self, binary: str) -> None:
        self.binary = binary

    def script(self, server: Server, title: str, sql: str) -> None:
        """Run sql through `psql -X -e` (statements echoed); stop at the first error."""
        heading(f"{title}   [psql on the {server.name} server]")
        argv = [self.binary, "-X", "-e", "-v", "ON_ERROR_STOP=1", "-P", "pager=off", "-d", server.dsn()]
        proc = subprocess.run(argv, input=sql, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"\ndemo failed: psql exited {proc.returncode} in \"{title}\"")

    def interactive(self, local: Server, remote: Server) -> int:
        """An interactive psql on the local server; Ctrl-C belongs to psql meanwhile."""
        argv = [self.binary, "-X", "-v", f"remote={remote.dsn()}", "-d", local.dsn()]
        previous = signal.signal(signal.SIGINT, lambda *_: None)  # reset to default in psql
        try:
            return subprocess.run(argv).returncode
        finally:
            signal.signal(signal.SIGINT, previous)


def remote_setup_sql() -> str:
    return """\
CREATE TABLE foo(f1 int, f2 text, f3 text[], PRIMARY KEY (f1, f2));
INSERT INTO foo SELECT i, chr(97 + i), ARRAY['a' || i, 'b' || i, 'c' || i] FROM generate_series(0, 3) AS i;
SELECT * FROM foo;
"""


def connect_example_sql(remote: Server) -> str:
    connstr = lit(remote.dsn())
    insert = lit("INSERT INTO foo VALUES (10, 'k', '{a10,b10,c10}')")
    return f"""\
CREATE EXTENSION {EXTENSION} CASCADE;
\\dx
\\echo
\\echo '-- the unnamed connection'
SELECT dblink_connect({connstr});
SELECT * FROM dblink('SELECT * FROM foo') AS t(a int, b text, c text[]);
\\echo
\\echo '-- a named connection'
SELECT dblink_connect('myconn', {connstr});
SELECT * FROM dblink('myconn', 'SELECT * FROM foo WHERE f1 > 1') AS t(a int, b text, c text[]);
SELECT dblink_exec('myconn', {insert});
SELECT * FROM dblink('myconn', 'SELECT * FROM foo WHERE f1 > 1') AS t(a int, b text, c text[]);
SELECT dblink_get_connections();
SELECT dblink_disconnect('myconn');
SELECT dblink_disconnect();
"""


def more_examples_sql(remote: Server) -> str:
    connstr = lit(remote.dsn())
    return f"""\
\\echo '-- ad hoc: a connection string instead of a name, for this call only'
SELECT * FROM dblink({connstr}, 'SELECT f1, f2 FROM foo ORDER BY f1') AS t(a int, b text);
SELECT dblink_connect('myconn', {connstr});
\\echo
\\echo '-- a cursor: dblink_open, dblink_fetch, dblink_close'
SELECT dblink_open('myconn', 'foo_cursor', 'SELECT * FROM foo ORDER BY f1');
SELECT * FROM dblink_fetch('myconn', 'foo_cursor', 2) AS t(a int, b text, c text[]);
SELECT * FROM dblink_fetch('myconn', 'foo_cursor', 2) AS t(a int, b text, c text[]);
SELECT dblink_close('myconn', 'foo_cursor');
\\echo
\\echo '-- asynchronous: dblink_send_query, dblink_is_busy, dblink_get_result'
SELECT dblink_send_query('myconn', 'SELECT f1, pg_sleep(0.2)::text FROM foo WHERE f1 < 2 ORDER BY f1');
SELECT dblink_is_busy('myconn');
SELECT * FROM dblink_get_result('myconn') AS t(a int, slept text);
SELECT * FROM dblink_get_result('myconn') AS t(a int, slept text);
\\echo
\\echo '-- errors: fail_on_error => false gives a NOTICE, and dblink_error_message the text'
SELECT * FROM dblink('myconn', 'SELECT * FROM no_such_table', false) AS t(a int);
SELECT dblink_error_message('myconn');
SELECT dblink_exec('myconn', 'INSERT INTO no_such_table VALUES (1)', false);
\\echo
\\echo '-- beyond dblink: this session''s connections, and dblink_py''s settings'
SELECT name, busy, open_cursors FROM dblink_connections;
SELECT name, setting FROM dblink_py_settings();
SELECT dblink_disconnect('myconn');
"""


def remote_role_sql() -> str:
    return f"""\
CREATE USER {FDW_USER} WITH PASSWORD {lit(FDW_PASSWORD)};
GRANT SELECT ON TABLE foo TO {FDW_USER};
"""


def foreign_server_sql(remote: Server) -> str:
    return f"""\
CREATE SERVER fdtest FOREIGN DATA WRAPPER dblink_fdw
    OPTIONS (hostaddr {lit(remote.host)}, port {lit(remote.port)}, dbname {lit(remote.dbname)});
CREATE USER {FDW_USER};
CREATE USER MAPPING FOR {FDW_USER} SERVER fdtest OPTIONS (user {lit(FDW_USER)}, password {lit(FDW_PASSWORD)});
GRANT USAGE ON FOREIGN SERVER fdtest TO {FDW_USER};
\\c - {FDW_USER}
SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser;
SELECT dblink_connect('myconn', 'fdtest');
SELECT * FROM dblink('myconn', 'SELECT * FROM foo') AS t(a int, b text, c text[]);
SELECT dblink_disconnect('myconn');
"""


def run_demo(provider: LocalProvider, want_psql: bool) -> int:
    psql = Psql(psql_binary(provider.pg_config))

    heading("Starting a local and a remote PostgreSQL server (private copy of this machine's PostgreSQL)")
    say("    copying the installation, `make install DESTDIR=...` of dblink_py (pip-installs psycopg"
        " for the server's Python), initdb x2; up to a minute")
    started = time.monotonic()
    local, remote = provider.start()
    problem = provider.extension_problem()
    if problem is not None:
        raise SystemExit(f"dblink_py could not be installed into the private copy:\n{problem}")
    assert provider.root is not None
    say(f"    ready after {time.monotonic() - started:.0f} s")
    fate = "kept (DBLINK_PY_KEEP=1), servers stopped" if provider.keep else "removed"
    say(f"    files:          {provider.root}  ({fate} at the end)")
    say(f"    local server:   {public_dsn(local)}   (trust on 127.0.0.1; dblink_py runs here)")
    say(f"    remote server:  {public_dsn(remote)}   (scram-sha-256, random password)")
    say(f"    server logs:    {provider.root}/local/server.log, {provider.root}/remote/server.log")

    psql.script(remote, "On the remote: the table of the example", remote_setup_sql())
    psql.script(local, "On the local server: CREATE EXTENSION, then dblink_connect's example",
                connect_example_sql(remote))
    psql.script(local, "On the local server: ad-hoc connections, cursors, asynchronous queries, errors",
                more_examples_sql(remote))

    psql.script(remote, "On the remote: a role with a password, for the foreign-server example",
                remote_role_sql())
    psql.script(local, "On the local server: a foreign server and a user mapping,"
                " used by a non-superuser", foreign_server_sql(remote))

    if want_psql:
        if sys.stdin.isatty():
            heading("Interactive psql on the local server (\\q to leave; the servers are removed afterwards)")
            say("    :'remote' holds the remote connection string, password included:")
            say("        SELECT dblink_connect(:'remote');")
            say("        SELECT * FROM dblink('SELECT * FROM foo') AS t(a int, b text, c text[]);")
            psql.interactive(local, remote)
        else:
            heading("No interactive psql: stdin is not a terminal")
            say("    run `make demo ARGS=--psql` (or scripts/demo --psql) from a terminal to be left in psql")
    else:
        heading("Done")
        say("    `make demo ARGS=--psql` (or scripts/demo --psql) leaves you in psql on the local server instead")
    return 0


def interrupted(exc: BaseException | None) -> bool:
    """Whether exc is Ctrl-C, or an error that Ctrl-C caused (a child killed, cleanup failing)."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__context__
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--psql", action="store_true",
                        help="end in an interactive psql on the local server (when stdin is a terminal)")
    args = parser.parse_args()

    clean_client_env()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_termination)
    if shutil.which("runuser") is None and os.geteuid() == 0:
        sys.exit("runuser is missing (util-linux): the servers run as the postgres OS user when root")

    provider = LocalProvider(keep=os.environ.get("DBLINK_PY_KEEP") == "1")
    try:
        return run_demo(provider, args.psql)
    except BaseException as e:
        if not interrupted(e):
            raise
        say("\ninterrupted")
        return 130
    finally:
        root = provider.root
        if root is not None:
            heading("Stopping the servers")
        try:
            provider.stop()
        except Exception as e:  # noqa: BLE001 - e.g. interrupted half-way through initdb
            say(f"    not stopped cleanly: {str(e).splitlines()[0]}")
        if root is not None and not provider.keep:
            shutil.rmtree(root, ignore_errors=True)
            say(f"    removed {root}")


if __name__ == "__main__":
    sys.exit(main())
