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
