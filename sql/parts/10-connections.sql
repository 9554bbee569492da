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
