-- job_log_probe: logs the steps of a job in their own transactions, through
-- dblink back into this database, so that the log survives the job's own
-- rollback. Like real consumers, it finds dblink's schema in the catalog
-- by the extension's name.
\echo Use "CREATE EXTENSION job_log_probe" to load this file. \quit

CREATE TABLE job_log_probe.config (conninfo text NOT NULL);
CREATE TABLE job_log_probe.job_log (
    id bigserial PRIMARY KEY,
    job text NOT NULL,
    step text NOT NULL,
    logged_by text NOT NULL DEFAULT current_user,
    logged_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION job_log_probe.dblink_schema() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT n.nspname::text FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'dblink'
$$;

-- Log one step in its own transaction: committed whatever the caller's does.
CREATE FUNCTION job_log_probe.log_step(p_job text, p_step text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_dblink text := job_log_probe.dblink_schema();
    v_conn text := 'job_log_probe_' || pg_catalog.pg_backend_pid();
    v_id bigint;
BEGIN
    IF v_conn <> ALL (COALESCE(job_log_probe.open_connections(), ARRAY[]::text[])) THEN
        EXECUTE pg_catalog.format('SELECT %I.dblink_connect(%L, (SELECT conninfo FROM job_log_probe.config))',
                                  v_dblink, v_conn);
    END IF;
    EXECUTE pg_catalog.format('SELECT id FROM %I.dblink(%L, %L) AS t(id bigint)', v_dblink, v_conn,
        pg_catalog.format('INSERT INTO job_log_probe.job_log (job, step) VALUES (%L, %L) RETURNING id', p_job, p_step))
    INTO v_id;
    RETURN v_id;
END
$$;

CREATE FUNCTION job_log_probe.open_connections() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    v_names text[];
BEGIN
    EXECUTE pg_catalog.format('SELECT %I.dblink_get_connections()', job_log_probe.dblink_schema()) INTO v_names;
    RETURN v_names;
END
$$;

-- A job: logs its start, does its work, logs its end; a failed job's work is
-- rolled back but its log is not.
CREATE FUNCTION job_log_probe.run_job(p_job text, p_fail boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM job_log_probe.log_step(p_job, 'start');
    IF p_fail THEN
        RAISE EXCEPTION 'job % failed', p_job;
    END IF;
    PERFORM job_log_probe.log_step(p_job, 'end');
END
$$;
