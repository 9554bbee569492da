-- Fan-out (beyond dblink): the same query on many connections at once, as
-- one result. Each element is a connection name, a foreign server or a
-- connection string, as for dblink(); the first declared column (text)
-- receives the element a row came from.
CREATE FUNCTION dblink_fanout(text[], text, boolean DEFAULT true)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_fanout(args[0], args[1], args[2]) $$;

-- The same command on many connections at once: each one's status.
CREATE FUNCTION dblink_fanout_exec(text[], text, boolean DEFAULT true, OUT conn text, OUT status text)
RETURNS SETOF record LANGUAGE plpython3u STRICT PARALLEL RESTRICTED
AS $$ from dblink_py import sql_functions as f; return f.dblink_fanout_exec(args[0], args[1], args[2]) $$;
