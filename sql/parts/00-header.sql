/* dblink_py 1.3.0: the functions of dblink 1.2, each a thin PL/Python wrapper, and a few beyond dblink. */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dblink_py" to load this file. \quit
