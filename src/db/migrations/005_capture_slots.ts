// Plan concurrency: at most C captures of a project run at once. A slot is a
// lease row held by one capture (a job, later a crawl page); captures take
// slots in submission order: a webhook job joins its project's line when it
// is submitted (under the project's row lock, so the line's order is the
// order of submission), and the line is served from its head. Leases change
// only under a per-project lock of their own (an advisory lock, so slot
// traffic does not queue behind submissions), so counts are exact under
// concurrency; both live in the database every process shares, so no
// worker's memory is the truth. A lease carries an expiry: one whose holder
// vanished (a workflow terminated by hand mid-capture) is reclaimed.
export const sql = `
ALTER TABLE projects ADD COLUMN concurrency integer CHECK (concurrency IS NULL OR concurrency BETWEEN 1 AND 100000);

CREATE TABLE capture_leases (
  holder       text PRIMARY KEY,
  project_id   uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  -- false: granted from the line, its holder has not come for it yet.
  started      boolean NOT NULL DEFAULT false,
  acquired_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX capture_leases_project ON capture_leases (project_id, expires_at);

CREATE TABLE capture_waiters (
  seq          bigserial PRIMARY KEY,
  holder       text NOT NULL UNIQUE,
  project_id   uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  -- true: its holder asked and was told to wait, so it must be woken when granted.
  parked       boolean NOT NULL DEFAULT false,
  enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX capture_waiters_project ON capture_waiters (project_id, seq);

-- Serializes one project's slot changes until the transaction ends.
CREATE FUNCTION capture_slots_lock(p_project uuid) RETURNS void
LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(hashtextextended(p_project::text, 51070)) $$;

-- Reclaims expired leases, then hands free slots to the head of the line.
-- Returns the parked holders it granted (their workflows are then woken);
-- the others find their lease when they ask. The caller holds capture_slots_lock.
CREATE FUNCTION capture_slots_fill(p_project uuid, p_limit integer, p_grant_ttl_ms integer) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  used integer;
  woken text[] := '{}';
  w record;
BEGIN
  DELETE FROM capture_leases WHERE project_id = p_project AND expires_at <= clock_timestamp();
  SELECT count(*) INTO used FROM capture_leases WHERE project_id = p_project;
  FOR w IN SELECT seq, holder, parked FROM capture_waiters WHERE project_id = p_project ORDER BY seq LIMIT greatest(p_limit - used, 0) LOOP
    DELETE FROM capture_waiters WHERE seq = w.seq;
    INSERT INTO capture_leases (holder, project_id, expires_at)
    VALUES (w.holder, p_project, clock_timestamp() + p_grant_ttl_ms * interval '1 millisecond');
    IF w.parked THEN woken := woken || w.holder; END IF;
  END LOOP;
  RETURN woken;
END $$;

-- A capture asks for its slot. 'granted': it holds one now (a holder that
-- has one, say a retried activity, keeps it with its expiry renewed);
-- 'queued': it waits in line and is woken when granted (p_wait); 'full':
-- no free slot and no waiting (synchronous calls, which never pass the line).
CREATE FUNCTION capture_slot_acquire(p_project uuid, p_holder text, p_limit integer, p_ttl_ms integer, p_grant_ttl_ms integer,
                                     p_wait boolean, OUT state text, OUT woken text[])
LANGUAGE plpgsql AS $$
DECLARE
  used integer;
BEGIN
  PERFORM capture_slots_lock(p_project);
  UPDATE capture_leases SET started = true, expires_at = clock_timestamp() + p_ttl_ms * interval '1 millisecond'
   WHERE holder = p_holder AND expires_at > clock_timestamp();
  IF FOUND THEN state := 'granted'; woken := '{}'; RETURN; END IF;
  IF NOT p_wait THEN
    woken := capture_slots_fill(p_project, p_limit, p_grant_ttl_ms);
    SELECT count(*) INTO used FROM capture_leases WHERE project_id = p_project;
    IF used < p_limit AND NOT EXISTS (SELECT 1 FROM capture_waiters WHERE project_id = p_project) THEN
      INSERT INTO capture_leases (holder, project_id, started, expires_at)
      VALUES (p_holder, p_project, true, clock_timestamp() + p_ttl_ms * interval '1 millisecond');
      state := 'granted';
    ELSE
      state := 'full';
    END IF;
    RETURN;
  END IF;
  -- Not in line yet (not submitted through the line, or its lease expired unused): the end of it.
  INSERT INTO capture_waiters (holder, project_id) VALUES (p_holder, p_project) ON CONFLICT (holder) DO NOTHING;
  woken := capture_slots_fill(p_project, p_limit, p_grant_ttl_ms);
  UPDATE capture_leases SET started = true, expires_at = clock_timestamp() + p_ttl_ms * interval '1 millisecond'
   WHERE holder = p_holder;
  IF FOUND THEN
    state := 'granted';
    woken := array_remove(woken, p_holder);
  ELSE
    UPDATE capture_waiters SET parked = true WHERE holder = p_holder;
    state := 'queued';
  END IF;
END $$;

-- A capture is done, or will never run: its slot or its place in line is
-- freed, and the line moves up. Returns the parked holders to wake.
CREATE FUNCTION capture_slot_release(p_project uuid, p_holder text, p_limit integer, p_grant_ttl_ms integer) RETURNS text[]
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM capture_slots_lock(p_project);
  DELETE FROM capture_leases WHERE holder = p_holder;
  DELETE FROM capture_waiters WHERE holder = p_holder;
  RETURN capture_slots_fill(p_project, p_limit, p_grant_ttl_ms);
END $$;
`;
