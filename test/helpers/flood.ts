// Queries the flood tests share: what reached the receiver around the disable, and how jobs ended.
import type { TestHookshot } from './hookshot';

/** Attempts that reached the receiver, and those among them that started after the stored disable. */
export async function sendsAround(hs: TestHookshot, webhookId: string) {
  const { rows } = await hs.db.query<{ sent: number; after_disable: number; disabled_at: Date | null }>(
    `SELECT count(*) FILTER (WHERE a.status_code IS NOT NULL)::int AS sent,
            count(*) FILTER (WHERE a.status_code IS NOT NULL AND a.started_at >= w.disabled_at)::int AS after_disable,
            min(w.disabled_at) AS disabled_at
       FROM webhooks w LEFT JOIN delivery_attempts a ON a.webhook_id = w.id
      WHERE w.id = $1`,
    [webhookId],
  );
  return rows[0]!;
}

export async function jobOutcomes(hs: TestHookshot, webhookId: string) {
  const { rows } = await hs.db.query<{ error_code: string | null; delivery_status: string | null; n: number }>(
    `SELECT error_code, delivery_status, count(*)::int AS n FROM jobs WHERE webhook_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
    [webhookId],
  );
  return rows;
}
