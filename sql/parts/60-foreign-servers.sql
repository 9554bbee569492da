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

-- Foreign-data wrapper names are per database: where the C dblink already
-- has dblink_fdw, dblink_py's is dblink_py_fdw (servers of either work with
-- dblink_py's functions, and the C extension is left as it is).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_foreign_data_wrapper w
               WHERE w.fdwname OPERATOR(pg_catalog.=) 'dblink_fdw') THEN
        CREATE FOREIGN DATA WRAPPER dblink_py_fdw VALIDATOR dblink_fdw_validator;
    ELSE
        CREATE FOREIGN DATA WRAPPER dblink_fdw VALIDATOR dblink_fdw_validator;
    END IF;
END
$$;

-- Reads the caller's user mapping for dblink_py's own code (pg_user_mapping
-- is superuser-only); the options stay in the backend's Python memory and
-- are never returned, so calling it from SQL reveals nothing.
CREATE FUNCTION dblink_py_read_user_mapping(oid)
RETURNS void LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ from dblink_py import sql_functions as f; return f.dblink_py_read_user_mapping(args[0]) $$;
