// A form's outcome for the next page of the same session, kept server-side
// and read once: the dashboard shows a rotated signing secret this way, so
// the secret is never in a URL or a cookie, and a reload does not show it again.
export const sql = `
ALTER TABLE dashboard_sessions ADD COLUMN flash jsonb;
`;
