// Idempotency-Key on job submission: the first answer is kept for 24 h.
export const sql = `
CREATE TABLE idempotency_keys (
  project_id    uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  env           text NOT NULL,
  key           text NOT NULL,
  request_hash  text NOT NULL,
  -- Deferred: the key is claimed before the job row is written, in one transaction.
  job_id        uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  response      jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, env, key)
);
`;
