import psycopg
def q(conn, s):
    try:
        r = conn.execute(s).fetchall()
        print(s, "->", r)
    except psycopg.Error as e:
        print(s, "-> ERR", e.sqlstate, e.diag.message_primary, "|", e.diag.message_detail, "|", e.diag.context)

def test_explore(local_admin, db):
    db.execute("DROP DATABASE IF EXISTS scratch")
    db.execute("CREATE DATABASE scratch")
    c = psycopg.connect(db.info.dsn.replace("dbname=dblink_py_test", "dbname=scratch"), autocommit=True)
    c.execute("CREATE EXTENSION plpython3u")
    c.execute("CREATE TABLE b(x bool, y int, z int[])")
    c.execute("INSERT INTO b VALUES (false, 1, '{1,2}')")
    q(c, """DO $$ 
p = plpy.prepare("SELECT * FROM b WHERE x OPERATOR(pg_catalog.=) $1 AND y OPERATOR(pg_catalog.=) $2 AND z OPERATOR(pg_catalog.=) $3", ["pg_catalog.unknown"]*3)
plpy.notice(repr(plpy.execute(p, ['f', '01', '{1,2}'])))
plpy.notice(repr(plpy.execute(p, ['t', '1', '{1,2}'])))
$$ LANGUAGE plpython3u""")
    q(c, """DO $$ 
p = plpy.prepare("SELECT * FROM b WHERE y OPERATOR(pg_catalog.=) $1", ["pg_catalog.unknown"])
plpy.notice(repr(plpy.execute(p, ['x'])))
$$ LANGUAGE plpython3u""")
    for n in c.pgconn.notifies() if False else []: pass
    c.add_notice_handler(lambda d: print("NOTICE", d.message_primary))
    q(c, """DO $$ 
p = plpy.prepare("SELECT * FROM b WHERE x OPERATOR(pg_catalog.=) $1 AND y OPERATOR(pg_catalog.=) $2 AND z OPERATOR(pg_catalog.=) $3", ["pg_catalog.unknown"]*3)
plpy.notice(repr(plpy.execute(p, ['f', '01', '{1,2}'])))
plpy.notice(repr(plpy.execute(p, ['t', '1', '{1,2}'])))
$$ LANGUAGE plpython3u""")
    c.close()
