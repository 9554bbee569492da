"""Security: password rules for non-superusers, dblink_connect_u, foreign servers, the validator."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from helpers import error_text, rows, scalar

pytestmark = pytest.mark.security

SECRET = "s3cret-pw"


@pytest.fixture
def alice(make_local_role, local_connect, dblink_py_created):
    """A session of a local non-superuser."""
    make_local_role("alice", password=SECRET)
    return local_connect(user="alice")


@pytest.fixture
def remote_user(make_remote_role):
    """A remote role that logs in with a password."""
    return make_remote_role("remote_user", password=SECRET)


@pytest.fixture
def remote_dsn_for(remote_server):
    def dsn(user: str, password: str | None) -> str:
        parts = [f"host=127.0.0.1 port={remote_server.port} dbname={remote_server.dbname} user={user}"]
        if password is not None:
            parts.append(f"password={password}")
        return " ".join(parts)

    return dsn


@pytest.fixture
def fdtest(db, remote_server):
    """A foreign server for the remote database; dropped afterwards."""
    db.execute(
        "CREATE SERVER fdtest FOREIGN DATA WRAPPER dblink_fdw"
        f" OPTIONS (host '127.0.0.1', port '{remote_server.port}', dbname '{remote_server.dbname}')"
    )
    yield "fdtest"
    db.execute("DROP SERVER fdtest CASCADE")


def assert_password_required(info, detail: str) -> None:
    assert info.value.sqlstate == "2F003"
    assert error_text(info.value) == "password is required"
    assert info.value.diag.message_detail == detail


NO_PASSWORD_DETAIL = "Non-superusers must provide a password in the connection string."
NOT_ASKED_DETAIL = "Non-superuser cannot connect if the server does not request a password."


# -- password rules for non-superusers ---------------------------------------------


def test_non_superuser_without_password_is_refused(alice, remote_dsn_for, remote_user):
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_connect(%s)", [remote_dsn_for(remote_user, None)])
    assert_password_required(info, NO_PASSWORD_DETAIL)


def test_password_check_comes_before_any_connection_attempt(alice):
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_connect('host=256.0.0.1 port=1')")
    assert_password_required(info, NO_PASSWORD_DETAIL)


def test_empty_password_counts_as_none(alice, remote_dsn_for, remote_user):
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_connect(%s)", [remote_dsn_for(remote_user, "''")])
    assert_password_required(info, NO_PASSWORD_DETAIL)


def test_password_in_a_uri_counts(alice, remote_server, remote_user):
    uri = f"postgresql://{remote_user}:{SECRET}@127.0.0.1:{remote_server.port}/{remote_server.dbname}"
    assert scalar(alice, "SELECT dblink_connect(%s)", [uri]) == "OK"


def test_non_superuser_with_correct_password_connects(alice, remote_dsn_for, remote_user):
    assert scalar(alice, "SELECT dblink_connect('c', %s)", [remote_dsn_for(remote_user, SECRET)]) == "OK"
    assert rows(alice, "SELECT * FROM dblink('c', 'SELECT current_user') AS t(u text)") == [(remote_user,)]


def test_ad_hoc_dblink_without_password_is_refused(alice, remote_dsn_for, remote_user):
    with pytest.raises(psycopg.Error) as info:
        rows(alice, "SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)", [remote_dsn_for(remote_user, None)])
    assert_password_required(info, NO_PASSWORD_DETAIL)


def test_ad_hoc_dblink_exec_without_password_is_refused(alice, remote_dsn_for, remote_user):
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_exec(%s, 'SET work_mem = ''1MB''')", [remote_dsn_for(remote_user, None)])
    assert_password_required(info, NO_PASSWORD_DETAIL)


@pytest.fixture
def trusting_remote(hba, remote_server, make_remote_role):
    """A remote role the remote server lets in without asking for a password."""
    role = make_remote_role("trusted_user")
    hba(remote_server, f"host all {role} 127.0.0.1/32 trust")
    return role


def test_server_that_does_not_ask_for_the_password_is_refused(alice, remote_dsn_for, trusting_remote):
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_connect('t', %s)", [remote_dsn_for(trusting_remote, "unused")])
    assert_password_required(info, NOT_ASKED_DETAIL)
    assert info.value.diag.message_hint == "Target server's authentication method must be changed."
    assert scalar(alice, "SELECT dblink_get_connections()") is None


def test_server_that_does_not_ask_is_refused_for_ad_hoc_queries(alice, remote_dsn_for, trusting_remote):
    with pytest.raises(psycopg.Error) as info:
        rows(alice, "SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)", [remote_dsn_for(trusting_remote, "unused")])
    assert_password_required(info, NOT_ASKED_DETAIL)


def test_refused_connection_is_closed_on_the_remote(alice, remote_dsn_for, trusting_remote, remote_admin):
    with pytest.raises(psycopg.Error):
        scalar(alice, "SELECT dblink_connect(%s)", [remote_dsn_for(trusting_remote, "unused") + " application_name=refused"])
    from helpers import remote_pids

    assert remote_pids(remote_admin, "refused", wait=True) == []


def test_superuser_may_connect_without_password(db, trusting_remote, remote_dsn_for):
    assert scalar(db, "SELECT dblink_connect(%s)", [remote_dsn_for(trusting_remote, None)]) == "OK"


def test_security_definer_function_of_a_superuser_counts_as_superuser(db, alice, trusting_remote, remote_dsn_for):
    db.execute(
        "CREATE FUNCTION connect_as_owner(c text) RETURNS text LANGUAGE sql SECURITY DEFINER"
        " AS $$ SELECT dblink_connect(c) $$"
    )
    try:
        assert scalar(alice, "SELECT connect_as_owner(%s)", [remote_dsn_for(trusting_remote, None)]) == "OK"
    finally:
        db.execute("DROP FUNCTION connect_as_owner(text)")


def test_set_role_to_a_non_superuser_applies_the_checks(db, make_local_role, remote_dsn_for, trusting_remote):
    make_local_role("bob")
    db.execute("SET ROLE bob")
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_connect(%s)", [remote_dsn_for(trusting_remote, None)])
    assert_password_required(info, NO_PASSWORD_DETAIL)


# -- the server process's own credentials ------------------------------------


@pytest.fixture
def server_env_credentials(db, remote_server):
    """Give this backend's environment the remote superuser's password (as a careless
    administrator might), through PGPASSWORD and a PGPASSFILE."""
    db.execute(
        "DO $$\nimport os, tempfile\n"
        "fd, path = tempfile.mkstemp()\n"
        f"os.write(fd, b'*:*:*:*:{remote_server.password}\\n'); os.close(fd)\n"
        "os.environ['PGPASSFILE'] = path\n"
        f"os.environ['PGPASSWORD'] = '{remote_server.password}'\n"
        "$$ LANGUAGE plpython3u"
    )
    yield
    db.execute("RESET ROLE")
    db.execute(
        "DO $$\nimport os\n"
        "os.unlink(os.environ.pop('PGPASSFILE'))\n"
        "os.environ.pop('PGPASSWORD', None)\n"
        "$$ LANGUAGE plpython3u"
    )


def test_server_environment_password_works_for_superuser(db, server_env_credentials, remote_dsn_for, remote_server):
    assert scalar(db, "SELECT dblink_connect(%s)", [remote_dsn_for(remote_server.superuser, None)]) == "OK"


def test_server_environment_password_is_not_usable_by_non_superuser(db, server_env_credentials, make_local_role, remote_dsn_for, remote_server):
    make_local_role("mallory")
    db.execute("SET ROLE mallory")
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_connect(%s)", [remote_dsn_for(remote_server.superuser, None)])
    assert_password_required(info, NO_PASSWORD_DETAIL)


def test_server_passfile_is_not_usable_with_a_wrong_password(db, server_env_credentials, make_local_role, remote_dsn_for, remote_server):
    make_local_role("mallory")
    db.execute("SET ROLE mallory")
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_connect(%s)", [remote_dsn_for(remote_server.superuser, "wrong")])
    assert info.value.sqlstate == "08001"


# -- dblink_connect_u ---------------------------------------------------------------


def test_connect_u_is_not_executable_by_default(alice, remote_dsn_for, trusting_remote):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        scalar(alice, "SELECT dblink_connect_u(%s)", [remote_dsn_for(trusting_remote, None)])


def test_connect_u_skips_the_checks_once_granted(db, alice, remote_dsn_for, trusting_remote):
    db.execute("GRANT EXECUTE ON FUNCTION dblink_connect_u(text, text) TO alice")
    assert scalar(alice, "SELECT dblink_connect_u('u', %s)", [remote_dsn_for(trusting_remote, None)]) == "OK"
    assert rows(alice, "SELECT * FROM dblink('u', 'SELECT 7') AS t(a int)") == [(7,)]


def test_connect_u_functions_are_security_definer_with_pinned_search_path(db):
    result = rows(
        db,
        "SELECT p.prosecdef, p.proconfig FROM pg_proc p WHERE p.proname = 'dblink_connect_u' ORDER BY p.pronargs",
    )
    assert result == [(True, ["search_path=pg_catalog, pg_temp"])] * 2


# -- foreign servers and user mappings ------------------------------------------


def test_foreign_server_with_user_mapping_connects(db, alice, fdtest, remote_user):
    db.execute(f"CREATE USER MAPPING FOR alice SERVER fdtest OPTIONS (user '{remote_user}', password '{SECRET}')")
    db.execute("GRANT USAGE ON FOREIGN SERVER fdtest TO alice")
    assert scalar(alice, "SELECT dblink_connect('myconn', 'fdtest')") == "OK"
    assert rows(alice, "SELECT * FROM dblink('myconn', 'SELECT current_user') AS t(u text)") == [(remote_user,)]


def test_foreign_server_name_works_for_ad_hoc_queries(db, alice, fdtest, remote_user):
    db.execute(f"CREATE USER MAPPING FOR alice SERVER fdtest OPTIONS (user '{remote_user}', password '{SECRET}')")
    db.execute("GRANT USAGE ON FOREIGN SERVER fdtest TO alice")
    assert rows(alice, "SELECT * FROM dblink('fdtest', 'SELECT 3') AS t(a int)") == [(3,)]
    assert scalar(alice, "SELECT dblink_exec('fdtest', 'SET work_mem = ''2MB''')") == "SET"


def test_public_user_mapping_is_used_when_the_user_has_none(db, alice, fdtest, remote_user):
    db.execute(f"CREATE USER MAPPING FOR PUBLIC SERVER fdtest OPTIONS (user '{remote_user}', password '{SECRET}')")
    db.execute("GRANT USAGE ON FOREIGN SERVER fdtest TO alice")
    assert scalar(alice, "SELECT dblink_connect('fdtest')") == "OK"


def test_own_user_mapping_wins_over_public(db, alice, fdtest, remote_user, remote_server):
    db.execute("CREATE USER MAPPING FOR PUBLIC SERVER fdtest OPTIONS (user 'nobody', password 'x')")
    db.execute(f"CREATE USER MAPPING FOR alice SERVER fdtest OPTIONS (user '{remote_user}', password '{SECRET}')")
    db.execute("GRANT USAGE ON FOREIGN SERVER fdtest TO alice")
    assert rows(alice, "SELECT * FROM dblink('fdtest', 'SELECT current_user') AS t(u text)") == [(remote_user,)]


def test_missing_user_mapping_is_an_error(db, alice, fdtest):
    db.execute("GRANT USAGE ON FOREIGN SERVER fdtest TO alice")
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_connect('fdtest')")
    assert info.value.sqlstate == "42704"
    assert error_text(info.value) == 'user mapping not found for "alice"'


def test_missing_usage_privilege_is_an_error(db, alice, fdtest, remote_user):
    db.execute(f"CREATE USER MAPPING FOR alice SERVER fdtest OPTIONS (user '{remote_user}', password '{SECRET}')")
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_connect('fdtest')")
    assert info.value.sqlstate == "42501"
    assert error_text(info.value) == "permission denied for foreign server fdtest"


def test_user_mapping_without_password_is_refused_for_non_superuser(db, alice, fdtest, trusting_remote):
    db.execute(f"CREATE USER MAPPING FOR alice SERVER fdtest OPTIONS (user '{trusting_remote}')")
    db.execute("GRANT USAGE ON FOREIGN SERVER fdtest TO alice")
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_connect('fdtest')")
    assert_password_required(info, NO_PASSWORD_DETAIL)


def test_option_values_with_quotes_and_backslashes_survive(db, make_remote_role, fdtest):
    password = "it's a \\ pass"
    role = make_remote_role("quoted_user", password=password)
    escaped = password.replace("'", "''")
    db.execute(f"CREATE USER MAPPING FOR CURRENT_USER SERVER fdtest OPTIONS (user '{role}', password '{escaped}')")
    assert rows(db, "SELECT * FROM dblink('fdtest', 'SELECT current_user') AS t(u text)") == [(role,)]


def test_options_of_other_wrappers_that_libpq_does_not_know_are_skipped(db, remote_server):
    db.execute("CREATE FOREIGN DATA WRAPPER other_fdw")
    try:
        db.execute(
            "CREATE SERVER other FOREIGN DATA WRAPPER other_fdw OPTIONS"
            f" (host '127.0.0.1', port '{remote_server.port}', dbname '{remote_server.dbname}', fetch_size '100')"
        )
        db.execute(
            "CREATE USER MAPPING FOR CURRENT_USER SERVER other OPTIONS"
            f" (user '{remote_server.superuser}', password '{remote_server.password}', use_remote_estimate 'true')"
        )
        assert rows(db, "SELECT * FROM dblink('other', 'SELECT 1') AS t(a int)") == [(1,)]
    finally:
        db.execute("DROP FOREIGN DATA WRAPPER other_fdw CASCADE")


def test_calling_the_mapping_reader_directly_reveals_nothing(db, alice, fdtest):
    db.execute(f"CREATE USER MAPPING FOR PUBLIC SERVER fdtest OPTIONS (user 'u', password '{SECRET}')")
    oid = scalar(db, "SELECT oid FROM pg_foreign_server WHERE srvname = 'fdtest'")
    assert rows(alice, "SELECT dblink_py_read_user_mapping(%s)::text", [oid]) == [("",)]


# -- the validator ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "option"),
    [
        ("CREATE SERVER v FOREIGN DATA WRAPPER dblink_fdw OPTIONS (user 'x')", "user"),
        ("CREATE SERVER v FOREIGN DATA WRAPPER dblink_fdw OPTIONS (password 'x')", "password"),
        ("CREATE SERVER v FOREIGN DATA WRAPPER dblink_fdw OPTIONS (client_encoding 'LATIN1')", "client_encoding"),
        ("CREATE SERVER v FOREIGN DATA WRAPPER dblink_fdw OPTIONS (replication 'true')", "replication"),
        ("CREATE SERVER v FOREIGN DATA WRAPPER dblink_fdw OPTIONS (nonsense 'x')", "nonsense"),
    ],
)
def test_validator_rejects_options_a_server_may_not_have(db, statement, option):
    with pytest.raises(psycopg.Error) as info:
        db.execute(statement)
    assert info.value.sqlstate == "HV00J"
    assert error_text(info.value) == f'invalid option "{option}"'
    hint = info.value.diag.message_hint
    assert hint.startswith("Valid options in this context are: ")
    valid = hint.removeprefix("Valid options in this context are: ").split(", ")
    assert {"host", "port", "dbname", "sslmode"} <= set(valid)
    assert not {"user", "password", "client_encoding", "replication"} & set(valid)


def test_validator_accepts_connection_options_on_a_server(db):
    db.execute("CREATE SERVER v FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host 'h', port '1', dbname 'd', sslmode 'disable')")
    db.execute("DROP SERVER v")


def test_validator_accepts_user_and_password_in_a_user_mapping(db, fdtest):
    db.execute("CREATE USER MAPPING FOR CURRENT_USER SERVER fdtest OPTIONS (user 'u', password 'p', sslpassword 's')")


def test_validator_rejects_server_options_in_a_user_mapping(db, fdtest):
    with pytest.raises(psycopg.Error) as info:
        db.execute("CREATE USER MAPPING FOR CURRENT_USER SERVER fdtest OPTIONS (host 'h')")
    assert info.value.sqlstate == "HV00J"
    assert info.value.diag.message_hint.startswith("Valid options in this context are: user, password")


def test_validator_rejects_every_option_on_the_wrapper(db):
    with pytest.raises(psycopg.Error) as info:
        db.execute("ALTER FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host 'h')")
    assert info.value.sqlstate == "HV00J"
    assert info.value.diag.message_hint == "There are no valid options in this context."


def test_validator_checks_altered_options(db, fdtest):
    with pytest.raises(psycopg.Error) as info:
        db.execute("ALTER SERVER fdtest OPTIONS (ADD user 'x')")
    assert info.value.sqlstate == "HV00J"


# -- no way around the checks ---------------------------------------------------------


@pytest.fixture
def hostile_schema(db):
    """A schema whose objects shadow pg_catalog's for whoever puts it first on search_path."""
    db.execute("DROP SCHEMA IF EXISTS evil CASCADE")
    db.execute("CREATE SCHEMA evil")
    db.execute("GRANT USAGE ON SCHEMA evil TO PUBLIC")
    for ddl in (
        "CREATE FUNCTION evil.current_user() RETURNS name LANGUAGE sql AS $$ SELECT 'postgres'::name $$",
        "CREATE FUNCTION evil.current_setting(text) RETURNS text LANGUAGE sql AS $$ SELECT 'evil' $$",
        "CREATE FUNCTION evil.getdatabaseencoding() RETURNS name LANGUAGE sql AS $$ SELECT 'SQL_ASCII'::name $$",
        "CREATE FUNCTION evil.has_server_privilege(oid, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$",
        "CREATE FUNCTION evil.texteq_always(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$",
        "CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.texteq_always)",
        "CREATE VIEW evil.pg_roles AS SELECT oid, rolname, true AS rolsuper FROM pg_catalog.pg_roles",
    ):
        db.execute(ddl.replace("evil.texteq_always(text, text)", "evil.texteq_always(name, name)"))
    yield "evil"
    db.execute("DROP SCHEMA evil CASCADE")


def test_hostile_search_path_does_not_make_a_superuser(alice, hostile_schema, remote_dsn_for, trusting_remote):
    alice.execute("SET search_path = evil, pg_catalog, public")
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT public.dblink_connect(%s)", [remote_dsn_for(trusting_remote, None)])
    assert_password_required(info, NO_PASSWORD_DETAIL)


def test_hostile_search_path_does_not_grant_server_usage(db, alice, hostile_schema, fdtest, remote_user):
    db.execute(f"CREATE USER MAPPING FOR alice SERVER fdtest OPTIONS (user '{remote_user}', password '{SECRET}')")
    alice.execute("SET search_path = evil, pg_catalog, public")
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT public.dblink_connect('fdtest')")
    assert info.value.sqlstate == "42501"


def test_hostile_search_path_changes_no_result(db, hostile_schema, remote_dsn):
    db.execute("SET search_path = evil, pg_catalog, public")
    scalar(db, "SELECT public.dblink_connect('h', %s)", [remote_dsn])
    assert rows(db, "SELECT * FROM public.dblink('h', 'SELECT ''é''') AS t(a text)") == [("é",)]


# -- passwords stay secret -----------------------------------------------------------------


def test_password_is_not_in_a_connection_error(db, remote_server):
    dsn = f"host=127.0.0.1 port={remote_server.port} dbname={remote_server.dbname} user=postgres password=Wr0ngSecretXyz"
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_connect('p', %s)", [dsn])
    diag = info.value.diag
    for text in (diag.message_primary, diag.message_detail, diag.message_hint, diag.context):
        assert "Wr0ngSecretXyz" not in (text or "")


def test_a_hostile_parameter_type_cannot_run_as_a_later_caller(db, alice, remote_dsn_for, trusting_remote):
    """A domain over text in the caller's schema, seen when dblink_py first
    prepares its statements, must not be used for them: its CHECK would then
    run as whoever calls next (here the owner of dblink_connect_u)."""
    db.execute("CREATE SCHEMA IF NOT EXISTS alice_s AUTHORIZATION alice")
    db.execute("CREATE TABLE IF NOT EXISTS public.hostile_calls (who name)")
    db.execute("GRANT INSERT ON public.hostile_calls TO PUBLIC")
    alice.execute(
        "CREATE FUNCTION alice_s.note() RETURNS boolean LANGUAGE sql AS"
        " $$ INSERT INTO public.hostile_calls VALUES (current_user) RETURNING true $$"
    )
    for type_name in ("text", "name", "oid"):
        base = {"text": "pg_catalog.text", "name": "pg_catalog.name", "oid": "pg_catalog.oid"}[type_name]
        alice.execute(f"CREATE DOMAIN alice_s.{type_name} AS {base} CHECK (alice_s.note())")
    db.execute("GRANT EXECUTE ON FUNCTION dblink_connect_u(text, text) TO alice")
    alice.execute("SET search_path = alice_s, pg_catalog, public")
    with pytest.raises(psycopg.Error):
        scalar(alice, "SELECT public.dblink_connect('fdtest_absent_' || 'x')")
    scalar(alice, "SELECT public.dblink_connect_u('u', %s)", [remote_dsn_for(trusting_remote, None)])
    try:
        assert scalar(db, "SELECT count(*) FROM public.hostile_calls WHERE who <> 'alice'") == 0
    finally:
        db.execute("DROP TABLE public.hostile_calls")
        db.execute("DROP SCHEMA alice_s CASCADE")


# -- connection options a non-superuser may not use ---------------------------------


def libpq_knows(option: str) -> bool:
    """Whether the libpq dblink_py is built against (pg_config's) has the option."""
    version = subprocess.run(["pg_config", "--version"], check=True, capture_output=True, text=True).stdout
    major = int(version.split()[1].split(".")[0])
    return major >= {"sslkeylogfile": 18}[option]


@pytest.fixture
def tls_server(tmp_path):
    from tlsserver import TlsServer

    server = TlsServer(tmp_path)
    yield server
    server.close()


def test_a_non_superuser_cannot_make_the_server_write_a_key_log(alice, tls_server, tmp_path):
    keylog = tmp_path / "keylog"
    tmp_path.chmod(0o777)
    conninfo = (f"host=127.0.0.1 port={tls_server.port} sslmode=require dbname=x user=y password=z"
                f" sslkeylogfile={keylog}")
    for statement in ("SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)", "SELECT dblink_connect(%s)",
                      "SELECT dblink_exec(%s, 'SELECT 1')"):
        with pytest.raises(psycopg.Error) as info:
            rows(alice, statement, [conninfo])
        if libpq_knows("sslkeylogfile"):
            assert info.value.sqlstate == "42501"
            assert error_text(info.value) == 'connection option "sslkeylogfile" is not allowed for non-superusers'
        else:  # libpq cannot read the string at all, so no password is found in it (as for C dblink)
            assert info.value.sqlstate == "2F003"
    assert not keylog.exists()
    assert tls_server.handshakes == 0  # refused before connecting


@pytest.mark.parametrize("option", ["sslkey=/etc/ssl/private/x.key", "sslkey=engine:pkcs11:key", "sslcert=/tmp/c.crt",
                                    "passfile=/tmp/pgpass", "service=prod", "krbsrvname=postgres",
                                    "gssdelegation=1", "sslpassword_unknown=1"])
def test_options_that_reach_the_servers_files_or_credentials_are_refused(alice, remote_dsn_for, remote_user,
                                                                         option):
    conninfo = remote_dsn_for(remote_user, SECRET) + " " + option
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_connect(%s)", [conninfo])
    # an option the libpq in use does not know at all makes the string unreadable:
    # then no password can be found in it, as for C dblink
    assert info.value.sqlstate in ("42501", "2F003")
    if info.value.sqlstate == "42501":
        assert info.value.diag.message_hint.startswith("A superuser can provide it through a foreign server")


def test_options_a_non_superuser_needs_keep_working(alice, remote_dsn_for, remote_user):
    conninfo = (remote_dsn_for(remote_user, SECRET) + " sslmode=prefer connect_timeout=5 application_name=mine"
                " options='-c search_path=public' keepalives=1 keepalives_idle=30 target_session_attrs=any"
                " sslrootcert=/nonexistent/root.crt gssencmode=disable")
    assert rows(alice, "SELECT * FROM dblink(%s, 'SELECT current_setting(''application_name'')') AS t(a text)",
                [conninfo]) == [("mine",)]


def test_a_uri_is_held_to_the_same_options(alice, remote_server, remote_user):
    uri = (f"postgresql://{remote_user}:{SECRET}@127.0.0.1:{remote_server.port}/{remote_server.dbname}"
           "?passfile=/tmp/pgpass")
    with pytest.raises(psycopg.Error) as info:
        scalar(alice, "SELECT dblink_connect(%s)", [uri])
    assert info.value.sqlstate == "42501"


def test_superusers_keep_every_option(db, remote_dsn):
    assert rows(db, "SELECT * FROM dblink(%s, 'SELECT 1') AS t(a int)",
                [remote_dsn + " passfile=/nonexistent/pgpass sslcert=/nonexistent/c.crt"]) == [(1,)]


def test_a_superusers_foreign_server_may_set_any_option(db, alice, fdtest, remote_user):
    db.execute("ALTER SERVER fdtest OPTIONS (ADD sslcert '/nonexistent/c.crt')")
    db.execute(f"CREATE USER MAPPING FOR alice SERVER fdtest OPTIONS (user '{remote_user}', password '{SECRET}')")
    db.execute("GRANT USAGE ON FOREIGN SERVER fdtest TO alice")
    assert rows(alice, "SELECT * FROM dblink('fdtest', 'SELECT 1') AS t(a int)") == [(1,)]


def test_a_non_superusers_foreign_server_is_held_to_the_same_options(db, alice, make_local_role, remote_server,
                                                                     remote_user):
    db.execute("GRANT USAGE ON FOREIGN DATA WRAPPER dblink_fdw TO alice")
    alice.execute("CREATE SERVER alices FOREIGN DATA WRAPPER dblink_fdw"
                  f" OPTIONS (host '127.0.0.1', port '{remote_server.port}', dbname '{remote_server.dbname}',"
                  " passfile '/tmp/pgpass')")
    alice.execute(f"CREATE USER MAPPING FOR alice SERVER alices OPTIONS (user '{remote_user}', password '{SECRET}')")
    try:
        with pytest.raises(psycopg.Error) as info:
            rows(alice, "SELECT * FROM dblink('alices', 'SELECT 1') AS t(a int)")
        assert info.value.sqlstate == "42501"
        assert error_text(info.value) == 'connection option "passfile" is not allowed for non-superusers'
    finally:
        alice.execute("DROP SERVER alices CASCADE")
        db.execute("REVOKE USAGE ON FOREIGN DATA WRAPPER dblink_fdw FROM alice")


# -- remote text is never passed on as SQL ---------------------------------------------


@pytest.fixture
def hostile_remote(remote_server, remote_admin):
    """A remote database whose format_type answers with SQL instead of a type name."""
    remote_admin.execute("DROP DATABASE IF EXISTS hostile_types")
    remote_admin.execute("CREATE DATABASE hostile_types")
    with psycopg.connect(remote_server.dsn("hostile_types"), autocommit=True) as conn:
        conn.execute("SET allow_system_table_mods = on")
        conn.execute("CREATE OR REPLACE FUNCTION pg_catalog.format_type(oid, integer) RETURNS text LANGUAGE sql"
                     " AS $$ SELECT 'integer) CROSS JOIN LATERAL (SELECT 1) x --'::text $$")
    yield remote_server.dsn("hostile_types")
    remote_admin.execute("DROP DATABASE hostile_types WITH (FORCE)")


def test_column_definitions_refuse_a_type_name_that_is_not_one(db, hostile_remote):
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_column_definitions(%s, 'SELECT 1 AS a')", [hostile_remote])
    assert info.value.sqlstate == "42704"
    assert error_text(info.value) == ('the type of remote column "a" is not a type name:'
                                      ' "integer) CROSS JOIN LATERAL (SELECT 1) x --"')


def test_column_definitions_are_written_by_the_local_server(db, remote_dsn):
    definitions = scalar(db, "SELECT dblink_column_definitions(%s, %s)",
                         [remote_dsn, "SELECT 1 AS a, 'x'::varchar(3) AS \"B c\", ARRAY[1.5]::numeric(5,2)[] AS d"])
    assert definitions == 'a integer, "B c" character varying(3), d numeric(5,2)[]'


def test_column_definitions_refuse_a_type_the_local_server_lacks(db, remote_dsn, remote_admin):
    remote_admin.execute("DROP TYPE IF EXISTS remote_only")
    remote_admin.execute("CREATE TYPE remote_only AS ENUM ('x')")
    with pytest.raises(psycopg.Error) as info:
        scalar(db, "SELECT dblink_column_definitions(%s, 'SELECT ''x''::remote_only AS a')", [remote_dsn])
    assert info.value.sqlstate == "42704"
    assert error_text(info.value) == 'the type of remote column "a" is not a type of this server: "remote_only"'


# -- introspection ----------------------------------------------------------------------


def test_a_non_superuser_may_read_the_connections_view(alice, remote_dsn_for, remote_user):
    scalar(alice, "SELECT dblink_connect('mine', %s)", [remote_dsn_for(remote_user, SECRET)])
    assert rows(alice, "SELECT name FROM dblink_connections") == [("mine",)]
