// Dashboard sessions: a random token per sign-in, stored hashed, scoped to the
// key's project and environment, ended by logout, expiry or revoking the key.
// One signing secret shared by every API process (made on first use).
export const sql = `
CREATE TABLE app_secrets (
  name        text PRIMARY KEY,
  value       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dashboard_sessions (
  token_hash  bytea PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  env         text NOT NULL CHECK (env IN ('test','live')),
  key_prefix  text NOT NULL,
  csrf_token  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
`;
