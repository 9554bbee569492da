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
