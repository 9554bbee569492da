-- dblink_py's pg_regress suite (make installcheck): the examples of
-- PostgreSQL's dblink documentation and the errors users meet most. The
-- remote is the server the suite runs on, reached through its own socket.
CREATE EXTENSION dblink_py CASCADE;
-- how to reach this server (kept out of the expected output)
SELECT format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
              coalesce(nullif(trim(split_part(current_setting('unix_socket_directories'), ',', 1)), ''),
                       'localhost')) AS conn,
       current_database() AS db, current_setting('port') AS port, current_user AS me \gset

CREATE TABLE foo (f1 int, f2 text, f3 text[], PRIMARY KEY (f1, f2));
INSERT INTO foo SELECT g, chr(97 + g), ARRAY[chr(97 + g) || g, chr(98 + g) || g, chr(99 + g) || g]
FROM generate_series(0, 10) g;

-- dblink_connect, dblink
SELECT dblink_connect(:'conn');
SELECT * FROM dblink('SELECT f1, f2 FROM foo WHERE f1 < 3 ORDER BY f1') AS t(a int, b text);
SELECT dblink_connect('myconn', :'conn');
SELECT * FROM dblink('myconn', 'SELECT f1, f3 FROM foo WHERE f1 > 8 ORDER BY f1') AS t(a int, c text[]);
SELECT * FROM dblink(:'conn', 'SELECT f2, f3[2] FROM foo WHERE f1 = 4') AS t(b text, c text);
-- values become the declared types through their input functions
SELECT * FROM dblink('myconn', $$SELECT '2013-03-12'::date, '1 day 02:03:04'::interval, 'NaN'::float8, NULL$$)
  AS t(d date, i interval, f float8, n int);
SELECT a + 1 FROM dblink('myconn', 'SELECT ''41''') AS t(a int);

-- the errors users meet most
SELECT * FROM dblink('myconn', 'SELECT f1 FROM foo');
SELECT * FROM dblink('myconn', 'SELECT * FROM no_such_table') AS t(a int);
SELECT * FROM dblink('myconn', 'SELECT * FROM no_such_table', false) AS t(a int);
SELECT dblink_error_message('myconn');
SELECT * FROM dblink('myconn', 'SELECT ''x''') AS t(a int);
SELECT * FROM dblink('no_such_connection', 'SELECT 1') AS t(a int);
SELECT dblink_connect('myconn', :'conn');
SELECT dblink_connect('bad', 'host=127.0.0.1 port=1');

-- dblink_exec
SELECT dblink_exec('myconn', 'CREATE TEMP TABLE scratch (a int)');
SELECT dblink_exec('myconn', 'INSERT INTO scratch SELECT generate_series(1, 3)');
SELECT dblink_exec('myconn', 'SELECT 1');
SELECT dblink_exec('myconn', 'INSERT INTO no_such_table VALUES (1)', false);
SELECT dblink_error_message('myconn');

-- cursors: dblink_open, dblink_fetch, dblink_close
SELECT dblink_open('myconn', 'rmt_foo_cursor', 'SELECT * FROM foo ORDER BY f1');
SELECT * FROM dblink_fetch('myconn', 'rmt_foo_cursor', 4) AS t(a int, b text, c text[]);
SELECT * FROM dblink_fetch('myconn', 'rmt_foo_cursor', 4) AS t(a int, b text, c text[]);
SELECT * FROM dblink_fetch('myconn', 'rmt_foo_cursor', 4) AS t(a int, b text, c text[]);
SELECT * FROM dblink_fetch('myconn', 'rmt_foo_cursor', 4) AS t(a int, b text, c text[]);
SELECT dblink_close('myconn', 'rmt_foo_cursor');
SELECT * FROM dblink_fetch('myconn', 'rmt_foo_cursor', 4) AS t(a int, b text, c text[]);
SELECT * FROM dblink_fetch('myconn', 'rmt_foo_cursor', 4, false) AS t(a int, b text, c text[]);
SELECT dblink_close('myconn', 'rmt_foo_cursor', false);

-- asynchronous queries
SELECT dblink_connect('dtest1', :'conn');
SELECT dblink_send_query('dtest1', 'SELECT f1, f2 FROM foo WHERE f1 < 3 ORDER BY f1');
SELECT * FROM dblink_get_result('dtest1') AS t(a int, b text);
SELECT * FROM dblink_get_result('dtest1') AS t(a int, b text);
SELECT dblink_is_busy('dtest1');
SELECT dblink_cancel_query('dtest1');
SELECT dblink_send_query('dtest1', 'SELECT * FROM no_such_table');
SELECT * FROM dblink_get_result('dtest1', false) AS t(a int);
SELECT array_agg(c ORDER BY c) FROM unnest(dblink_get_connections()) c;
SELECT dblink_disconnect('dtest1');

-- dblink_get_pkey and the statement builders
SELECT * FROM dblink_get_pkey('foo');
SELECT dblink_build_sql_insert('foo', '1 2', 2, '{"0", "a"}', '{"99", "xyz"}');
SELECT dblink_build_sql_update('foo', '1 2', 2, '{"0", "a"}', '{"99", "xyz"}');
SELECT dblink_build_sql_delete('foo', '1 2', 2, '{"0", "a"}');
SELECT dblink_build_sql_insert('foo', '1 2', 2, '{"1000", "a"}', '{"99", "xyz"}');
SELECT dblink_build_sql_insert('foo', '1 2 3 4', 4, '{"0", "a", "{a0,b0,c0}", "x"}', '{"99", "xyz", "{za0,zb0,zc0}", "x"}');
SELECT dblink_build_sql_insert('no_such_table', '1', 1, '{"0"}', '{"1"}');

-- foreign servers and user mappings
CREATE SERVER fdtest FOREIGN DATA WRAPPER dblink_fdw OPTIONS (dbname :'db', port :'port');
CREATE USER MAPPING FOR public SERVER fdtest OPTIONS (user :'me');
SELECT dblink_connect('fs', 'fdtest');
SELECT * FROM dblink('fs', 'SELECT count(*) FROM foo') AS t(n bigint);
SELECT dblink_disconnect('fs');
\set VERBOSITY terse
CREATE SERVER badopt FOREIGN DATA WRAPPER dblink_fdw OPTIONS (no_such_option 'x');
CREATE SERVER badopt FOREIGN DATA WRAPPER dblink_fdw OPTIONS (client_encoding 'UTF8');
\set VERBOSITY default

-- non-superusers: a password of their own, and no dblink_connect_u
CREATE ROLE regress_dblink_py_user;
GRANT USAGE ON FOREIGN SERVER fdtest TO regress_dblink_py_user;
SET SESSION AUTHORIZATION regress_dblink_py_user;
SELECT dblink_connect('fs', 'fdtest');
SELECT * FROM dblink(:'conn', 'SELECT 1') AS t(a int);
SELECT dblink_connect_u('u', :'conn');
RESET SESSION AUTHORIZATION;

-- dblink_disconnect
SELECT dblink_disconnect('myconn');
SELECT dblink_disconnect('myconn');
SELECT dblink_disconnect();
SELECT dblink_disconnect();

DROP USER MAPPING FOR public SERVER fdtest;
REVOKE USAGE ON FOREIGN SERVER fdtest FROM regress_dblink_py_user;
DROP ROLE regress_dblink_py_user;
