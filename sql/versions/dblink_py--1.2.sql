/* dblink_py 1.2: the functions of dblink 1.2, each a thin PL/Python wrapper. */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dblink_py" to load this file. \quit
-- Connections: dblink_connect, dblink_disconnect

CREATE FUNCTION dblink_connect(text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_connect(None, args[0]) $$;

CREATE FUNCTION dblink_connect(text, text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_connect(args[0], args[1]) $$;

CREATE FUNCTION dblink_disconnect()
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_disconnect(None) $$;

CREATE FUNCTION dblink_disconnect(text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_disconnect(args[0]) $$;
-- Queries and commands: dblink, dblink_exec

CREATE FUNCTION dblink(text, text)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink(args[0], args[1]) $$;

CREATE FUNCTION dblink(text, text, boolean)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink(args[0], args[1], args[2]) $$;

CREATE FUNCTION dblink(text)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink(None, args[0]) $$;

CREATE FUNCTION dblink(text, boolean)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink(None, args[0], args[1]) $$;

CREATE FUNCTION dblink_exec(text, text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_exec(args[0], args[1]) $$;

CREATE FUNCTION dblink_exec(text, text, boolean)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_exec(args[0], args[1], args[2]) $$;

CREATE FUNCTION dblink_exec(text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_exec(None, args[0]) $$;

CREATE FUNCTION dblink_exec(text, boolean)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_exec(None, args[0], args[1]) $$;
-- Cursors: dblink_open, dblink_fetch, dblink_close

CREATE FUNCTION dblink_open(text, text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_open(None, args[0], args[1]) $$;

CREATE FUNCTION dblink_open(text, text, boolean)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_open(None, args[0], args[1], args[2]) $$;

CREATE FUNCTION dblink_open(text, text, text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_open(args[0], args[1], args[2]) $$;

CREATE FUNCTION dblink_open(text, text, text, boolean)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_open(args[0], args[1], args[2], args[3]) $$;

CREATE FUNCTION dblink_fetch(text, int)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_fetch(None, args[0], args[1]) $$;

CREATE FUNCTION dblink_fetch(text, int, boolean)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_fetch(None, args[0], args[1], args[2]) $$;

CREATE FUNCTION dblink_fetch(text, text, int)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_fetch(args[0], args[1], args[2]) $$;

CREATE FUNCTION dblink_fetch(text, text, int, boolean)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_fetch(args[0], args[1], args[2], args[3]) $$;

CREATE FUNCTION dblink_close(text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_close(None, args[0]) $$;

CREATE FUNCTION dblink_close(text, boolean)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_close(None, args[0], args[1]) $$;

CREATE FUNCTION dblink_close(text, text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_close(args[0], args[1]) $$;

CREATE FUNCTION dblink_close(text, text, boolean)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_close(args[0], args[1], args[2]) $$;
-- Asynchronous queries and notifications: dblink_send_query, dblink_is_busy,
-- dblink_get_result, dblink_cancel_query, dblink_get_notify

CREATE FUNCTION dblink_send_query(text, text)
RETURNS int LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_send_query(args[0], args[1]) $$;

CREATE FUNCTION dblink_is_busy(text)
RETURNS int LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_is_busy(args[0]) $$;

CREATE FUNCTION dblink_get_result(text)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_get_result(args[0]) $$;

CREATE FUNCTION dblink_get_result(text, boolean)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_get_result(args[0], args[1]) $$;

CREATE FUNCTION dblink_cancel_query(text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_cancel_query(args[0]) $$;

CREATE FUNCTION dblink_get_notify(OUT notify_name text, OUT be_pid int, OUT extra text)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_get_notify(None) $$;

CREATE FUNCTION dblink_get_notify(conname text, OUT notify_name text, OUT be_pid int, OUT extra text)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_get_notify(args[0]) $$;
-- Primary keys and SQL builders: dblink_get_pkey, dblink_build_sql_insert/delete/update

CREATE TYPE dblink_pkey_results AS (position int, colname text);

CREATE FUNCTION dblink_get_pkey(text)
RETURNS SETOF dblink_pkey_results LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_get_pkey(args[0]) $$;

CREATE FUNCTION dblink_build_sql_insert(text, int2vector, int, text[], text[])
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_build_sql_insert(args[0], args[1], args[2], args[3], args[4]) $$;

CREATE FUNCTION dblink_build_sql_delete(text, int2vector, int, text[])
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_build_sql_delete(args[0], args[1], args[2], args[3]) $$;

CREATE FUNCTION dblink_build_sql_update(text, int2vector, int, text[], text[])
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_build_sql_update(args[0], args[1], args[2], args[3], args[4]) $$;
-- Foreign servers: dblink_connect_u, dblink_fdw and its validator

-- dblink_connect as the function's owner: the password checks see a
-- superuser and pass, so only roles granted EXECUTE may use it.
CREATE FUNCTION dblink_connect_u(text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ from dblink_py import sql_functions as f; return f.dblink_connect(None, args[0]) $$;

CREATE FUNCTION dblink_connect_u(text, text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ from dblink_py import sql_functions as f; return f.dblink_connect(args[0], args[1]) $$;

REVOKE ALL ON FUNCTION dblink_connect_u(text) FROM public;
REVOKE ALL ON FUNCTION dblink_connect_u(text, text) FROM public;

CREATE FUNCTION dblink_fdw_validator(options text[], catalog oid)
RETURNS void LANGUAGE plpython3u STRICT PARALLEL SAFE
AS $$ from dblink_py import sql_functions as f; return f.dblink_fdw_validator(args[0], args[1]) $$;

CREATE FOREIGN DATA WRAPPER dblink_fdw VALIDATOR dblink_fdw_validator;

-- Reads the caller's user mapping for dblink_py's own code (pg_user_mapping
-- is superuser-only); the options stay in the backend's Python memory and
-- are never returned, so calling it from SQL reveals nothing.
CREATE FUNCTION dblink_py_read_user_mapping(oid)
RETURNS void LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ from dblink_py import sql_functions as f; return f.dblink_py_read_user_mapping(args[0]) $$;
-- Session information: dblink_get_connections, dblink_error_message, dblink_current_query

CREATE FUNCTION dblink_get_connections()
RETURNS text[] LANGUAGE plpython3u PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_get_connections() $$;

CREATE FUNCTION dblink_error_message(text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_error_message(args[0]) $$;

CREATE FUNCTION dblink_current_query()
RETURNS text LANGUAGE plpython3u PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_current_query() $$;
-- Beyond dblink 1.2: bind parameters, result descriptions, connection introspection

-- dblink() / dblink_exec() with $1, $2 ... bound to `params` (values as text,
-- NULLs allowed), sent with the extended query protocol: never spliced into SQL.
CREATE FUNCTION dblink_params(text, text, text[], boolean DEFAULT true)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink(args[0], args[1], args[3], args[2]) $$;

CREATE FUNCTION dblink_params(text, text[])
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink(None, args[0], True, args[1]) $$;

CREATE FUNCTION dblink_exec_params(text, text, text[], boolean DEFAULT true)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_exec(args[0], args[1], args[3], args[2]) $$;

CREATE FUNCTION dblink_exec_params(text, text[])
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_exec(None, args[0], True, args[1]) $$;

-- The columns a query on a connection (name, foreign server or connection
-- string) returns, without running it; and them as text for AS t(...).
CREATE FUNCTION dblink_describe(text, text, OUT "position" int, OUT name text, OUT type text)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_describe(args[0], args[1]) $$;

CREATE FUNCTION dblink_column_definitions(text, text)
RETURNS text LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_column_definitions(args[0], args[1]) $$;

-- One row per open connection of this session (the unnamed one has a NULL name).
CREATE FUNCTION dblink_connection_info(
    OUT name text, OUT host text, OUT port int, OUT dbname text, OUT "user" text,
    OUT backend_pid int, OUT server_version text, OUT transaction_status text,
    OUT busy boolean, OUT open_cursors int, OUT opened_at timestamptz, OUT last_used_at timestamptz)
RETURNS SETOF record LANGUAGE plpython3u PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_connection_info() $$;

CREATE VIEW dblink_connections AS SELECT * FROM dblink_connection_info();

-- Makes `import dblink_py` work in other PL/Python functions of the session:
--   plpy.execute("SELECT dblink_py_load()"); import dblink_py
CREATE FUNCTION dblink_py_load()
RETURNS void LANGUAGE plpython3u PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_py_load() $$;
