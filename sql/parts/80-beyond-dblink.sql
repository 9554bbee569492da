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

-- One row per open connection of this session (the unnamed one has a NULL
-- name; `pooled`: an ad-hoc connection kept idle by dblink_py.reuse_connections).
CREATE FUNCTION dblink_connection_info(
    OUT name text, OUT host text, OUT port int, OUT dbname text, OUT "user" text,
    OUT backend_pid int, OUT server_version text, OUT transaction_status text,
    OUT busy boolean, OUT open_cursors int, OUT opened_at timestamptz, OUT last_used_at timestamptz,
    OUT pooled boolean)
RETURNS SETOF record LANGUAGE plpython3u PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_connection_info() $$;

CREATE VIEW dblink_connections AS SELECT * FROM dblink_connection_info();
-- the same as the function: each session sees only its own connections
GRANT SELECT ON dblink_connections TO PUBLIC;

-- dblink_py's settings (dblink_py.*): value, where it comes from, what it accepts.
CREATE FUNCTION dblink_py_settings(OUT name text, OUT setting text, OUT source text, OUT accepted text,
    OUT description text)
RETURNS SETOF record LANGUAGE plpython3u PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_py_settings() $$;

-- Makes `import dblink_py` work in other PL/Python functions of the session:
--   plpy.execute("SELECT dblink_py_load()"); import dblink_py
CREATE FUNCTION dblink_py_load()
RETURNS void LANGUAGE plpython3u PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_py_load() $$;
