// When the entity stored a disable (the moment no attempt may start after),
// and an index for paging a webhook's jobs by delivery state (bulk replay,
// waking jobs on a disable).
export const sql = `
ALTER TABLE webhooks ADD COLUMN disabled_at timestamptz;
CREATE INDEX jobs_webhook_delivery ON jobs (webhook_id, delivery_status, status, id);
`;
