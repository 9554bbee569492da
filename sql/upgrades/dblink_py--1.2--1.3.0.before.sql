/* dblink_py 1.2 -> 1.3.0: dblink_py's own version; loaded by the server, built from sql/ by the Makefile. */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION dblink_py UPDATE TO '1.3.0'" to load this file. \quit

-- dblink_connection_info() gains the column "pooled": the function and the
-- view over it are made again (a view of yours over dblink_connections
-- stops the update with PostgreSQL's own error: drop it first).
DROP VIEW dblink_connections;
DROP FUNCTION dblink_connection_info();
