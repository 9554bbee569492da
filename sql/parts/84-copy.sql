-- Bulk copy (beyond dblink) over the COPY protocol, text both ways.
-- The rows of a local query into a remote table (every column, or those
-- named): how many were copied.
CREATE FUNCTION dblink_copy_to(conn text, remote_table text, local_query text)
RETURNS bigint LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_copy_to(args[0], args[1], args[2], None) $$;

CREATE FUNCTION dblink_copy_to(conn text, remote_table text, local_query text, columns text[])
RETURNS bigint LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_copy_to(args[0], args[1], args[2], args[3]) $$;

-- The rows of a remote query into a local table (every column COPY would
-- fill, or those named): how many were copied.
CREATE FUNCTION dblink_copy_from(conn text, remote_query text, local_table text)
RETURNS bigint LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_copy_from(args[0], args[1], args[2], None) $$;

CREATE FUNCTION dblink_copy_from(conn text, remote_query text, local_table text, columns text[])
RETURNS bigint LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_copy_from(args[0], args[1], args[2], args[3]) $$;

-- Internal to dblink_copy_from: record literals back as rows of the caller's
-- column definition list, each field through its type's input function.
CREATE FUNCTION dblink_py_record_rows(text[])
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL SAFE
AS $$ from dblink_py import sql_functions as f; return f.dblink_py_record_rows(args[0]) $$;
