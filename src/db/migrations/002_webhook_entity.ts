// The webhook entity workflow writes notifications from a retried activity:
// a dedupe key makes each notification land once.
export const sql = `
ALTER TABLE notifications ADD COLUMN dedupe_key text;
CREATE UNIQUE INDEX notifications_dedupe ON notifications (dedupe_key) WHERE dedupe_key IS NOT NULL;
ALTER TABLE notifications ADD COLUMN details jsonb NOT NULL DEFAULT '{}';
`;
