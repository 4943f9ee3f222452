import type { Db } from '../pool';
import type { Env, Notice, NoticeKind } from '../rows';

/**
 * Stored kinds the API and the dashboard show, by the names SPEC gives them.
 * webhook.enabled and webhook.disabled_manually are stored too, but they
 * record a person's own action rather than warn about one: they stay out of
 * the notices (and out of clients that switch on `kind`), and are in the log.
 */
export const NOTICE_KINDS = { 'webhook.warning': 'warning', 'webhook.disabled': 'disabled' } as const satisfies Record<string, NoticeKind>;

/** The scope's notices, newest first; `before` is the last id of the previous page. */
export async function listNotices(db: Db, projectId: string, env: Env, o: { before?: number; limit: number }): Promise<Notice[]> {
  const { rows } = await db.query<Omit<Notice, 'kind'> & { kind: keyof typeof NOTICE_KINDS }>(
    `SELECT n.id::int AS id, n.kind, COALESCE(w.name, n.details->>'webhook_name') AS webhook_name, w.id IS NOT NULL AS webhook_exists,
            (n.details->>'count')::int AS consecutive_failed_count, (n.details->>'threshold')::int AS threshold,
            n.message, n.created_at
       FROM notifications n LEFT JOIN webhooks w ON w.id = n.webhook_id
      WHERE n.project_id = $1 AND n.env = $2 AND n.kind = ANY($3::text[])
        AND ($4::bigint IS NULL OR n.id < $4)
      ORDER BY n.id DESC LIMIT $5`,
    [projectId, env, Object.keys(NOTICE_KINDS), o.before ?? null, o.limit],
  );
  return rows.map((r) => ({ ...r, kind: NOTICE_KINDS[r.kind] }));
}
