// The disable gate. Every delivery attempt reads its webhook's status, just
// before sending, under a shared per-webhook lock; storing a disable takes
// that lock exclusively and stamps disabled_at. PostgreSQL's lock manager
// queues requests fairly, so a disable waits only for the reads already under
// way (a row lock would let a steady stream of readers starve it), and every
// attempt that was sent started before disabled_at, none after. Also an index
// for paging a webhook's jobs by delivery state (bulk replay, wake-ups).
export const sql = `
ALTER TABLE webhooks ADD COLUMN disabled_at timestamptz;
CREATE INDEX jobs_webhook_delivery ON jobs (webhook_id, delivery_status, status, id);

CREATE FUNCTION webhook_gate_key(p_webhook uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT hashtextextended(p_webhook::text, 40404) $$;

-- Everything one delivery attempt needs, read after the shared gate lock is
-- held (each statement of a function takes a new snapshot), in one call.
CREATE FUNCTION delivery_attempt_context(p_job uuid, p_series integer, p_attempt integer)
RETURNS TABLE (job jsonb, webhook jsonb, project_name text, prior jsonb, result jsonb, result_body bytea, gate_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  wid uuid;
BEGIN
  SELECT j.webhook_id INTO wid FROM jobs j WHERE j.id = p_job;
  IF wid IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock_shared(webhook_gate_key(wid));
  END IF;
  RETURN QUERY
    SELECT to_jsonb(j), to_jsonb(w), p.name, to_jsonb(a), to_jsonb(r) - 'body', r.body, clock_timestamp()
      FROM jobs j
      JOIN projects p ON p.id = j.project_id
      LEFT JOIN webhooks w ON w.id = j.webhook_id
      LEFT JOIN delivery_attempts a ON a.job_id = j.id AND a.series = p_series AND a.attempt = p_attempt
      LEFT JOIN job_results r ON r.job_id = j.id
     WHERE j.id = p_job;
END $$;
`;
