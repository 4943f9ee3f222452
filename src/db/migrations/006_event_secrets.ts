// Firecrawl-style event webhooks (crawl, batch scrape) are signed with one
// secret per project environment, shown by GET /account and rotated there.
export const sql = `
CREATE TABLE event_secrets (
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  env         text NOT NULL CHECK (env IN ('test','live')),
  secret      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, env)
);
`;
