// Tenancy, webhooks, jobs with their stored results, one row per delivery
// attempt, and notifications. Results live here, never in Temporal history.
export const sql = `
CREATE TABLE projects (
  id          uuid PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  plan        text NOT NULL CHECK (plan IN ('FREE','DISCOVERY','PRO','STARTUP','ENTERPRISE')),
  alert_url   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id          uuid PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  env         text NOT NULL CHECK (env IN ('test','live')),
  prefix      text NOT NULL UNIQUE,
  key_hash    bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE webhooks (
  id                        uuid PRIMARY KEY,
  project_id                uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  env                       text NOT NULL CHECK (env IN ('test','live')),
  name                      text NOT NULL,
  url                       text NOT NULL,
  secret                    text,
  signing_secret            text NOT NULL,
  content_type              text NOT NULL DEFAULT 'application/json',
  content_encoding          text NOT NULL DEFAULT 'identity',
  standard_webhooks         boolean NOT NULL DEFAULT false,
  status                    text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled','disabled')),
  disabled_reason           text,
  consecutive_failed_count  integer NOT NULL DEFAULT 0,
  created_at                timestamptz NOT NULL DEFAULT now(),
  updated_at                timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, env, name)
);

CREATE TABLE jobs (
  id               uuid PRIMARY KEY,
  project_id       uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  env              text NOT NULL CHECK (env IN ('test','live')),
  kind             text NOT NULL CHECK (kind IN ('scrape','screenshot')),
  webhook_id       uuid REFERENCES webhooks(id) ON DELETE SET NULL,
  webhook_name     text,
  status           text NOT NULL,
  -- pending while a webhook delivery is owed; the plan queue limit counts these.
  delivery_status  text CHECK (delivery_status IN ('pending','delivered','failed')),
  params           jsonb NOT NULL,
  error_code       text,
  error_message    text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz
);
CREATE INDEX jobs_project_pending ON jobs (project_id) WHERE delivery_status = 'pending';
CREATE INDEX jobs_webhook ON jobs (webhook_id, created_at DESC);

CREATE TABLE job_results (
  job_id        uuid PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  status_code   integer,
  final_url     text,
  headers       jsonb NOT NULL DEFAULT '{}',
  format        text NOT NULL,
  content_type  text,
  -- text results in content, binary (screenshots) in body; one is set.
  content       text,
  body          bytea,
  size_bytes    integer NOT NULL,
  duration_ms   integer NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE delivery_attempts (
  id                bigserial PRIMARY KEY,
  job_id            uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  webhook_id        uuid REFERENCES webhooks(id) ON DELETE SET NULL,
  series            integer NOT NULL DEFAULT 0,
  attempt           integer NOT NULL,
  started_at        timestamptz NOT NULL,
  duration_ms       integer NOT NULL,
  url               text NOT NULL,
  final_url         text,
  success           boolean NOT NULL,
  status_code       integer,
  error_code        text,
  error_message     text,
  request_headers   jsonb NOT NULL DEFAULT '{}',
  response_headers  jsonb,
  response_snippet  text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  -- A retried activity (worker died mid-attempt) re-records the same attempt.
  UNIQUE (job_id, series, attempt)
);
CREATE INDEX delivery_attempts_webhook ON delivery_attempts (webhook_id, created_at DESC);

CREATE TABLE notifications (
  id          bigserial PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  env         text,
  webhook_id  uuid REFERENCES webhooks(id) ON DELETE SET NULL,
  kind        text NOT NULL,
  message     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_project ON notifications (project_id, created_at DESC);
`;
