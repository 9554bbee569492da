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
