-- Moving from C dblink: in a database that has both, replaces each of C
-- dblink's functions in place (same OID, so views and functions that use
-- them keep working) by dblink_py's, takes over dblink_fdw with its servers
-- and user mappings, drops the emptied C extension and moves dblink_py to
-- C dblink's schema; returns what it did, one line per object. (Not a set:
-- PL/Python cannot go on returning rows from a function whose own pg_proc
-- row the call changed.)
CREATE FUNCTION dblink_py_adopt_dblink()
RETURNS text LANGUAGE plpython3u VOLATILE
AS $$ from dblink_py import sql_functions as f; return f.dblink_py_adopt_dblink() $$;

REVOKE ALL ON FUNCTION dblink_py_adopt_dblink() FROM public;
