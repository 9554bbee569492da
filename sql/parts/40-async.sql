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
