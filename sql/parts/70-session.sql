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
