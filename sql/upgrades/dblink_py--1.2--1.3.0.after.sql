CREATE VIEW dblink_connections AS SELECT * FROM dblink_connection_info();
GRANT SELECT ON dblink_connections TO PUBLIC;
REVOKE ALL ON FUNCTION dblink_py_adopt_dblink() FROM public;
