/* dblink_py 1.2: the functions of dblink 1.2, each a thin PL/Python wrapper. */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dblink_py" to load this file. \quit
