import { randomBytes, randomUUID } from 'node:crypto';
import { withTransaction, type Db, type DbClient, onlyRow } from '../pool';
import type { Attempt, Env, Webhook } from '../rows';
import type { StoredWebhookState } from '../../shared/contracts/webhook';

type Q = Db | DbClient;

/** 32 random bytes, as Standard Webhooks spells them: whsec_<base64>. */
export const newSigningSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export async function createWebhook(
  db: Q,
  w: Pick<Webhook, 'project_id' | 'env' | 'name' | 'url'> &
    Partial<Pick<Webhook, 'secret' | 'content_type' | 'content_encoding' | 'standard_webhooks'>>,
): Promise<Webhook | null> {
  const { rows } = await db.query<Webhook>(
    `INSERT INTO webhooks (id, project_id, env, name, url, secret, signing_secret,
                           content_type, content_encoding, standard_webhooks)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (project_id, env, name) DO NOTHING
     RETURNING *`,
    [
      randomUUID(),
      w.project_id,
      w.env,
      w.name,
      w.url,
      w.secret ?? null,
      newSigningSecret(),
      w.content_type ?? 'application/json',
      w.content_encoding ?? 'identity',
      w.standard_webhooks ?? false,
    ],
  );
  return rows[0] ?? null;
}

export async function listWebhooks(db: Q, projectId: string, env: Env): Promise<Webhook[]> {
  const { rows } = await db.query<Webhook>('SELECT * FROM webhooks WHERE project_id = $1 AND env = $2 ORDER BY name', [projectId, env]);
  return rows;
}

export async function getWebhookByName(db: Q, projectId: string, env: Env, name: string): Promise<Webhook | null> {
  const { rows } = await db.query<Webhook>('SELECT * FROM webhooks WHERE project_id = $1 AND env = $2 AND name = $3', [projectId, env, name]);
  return rows[0] ?? null;
}

/** The webhook's status now, or null when it no longer exists. */
export async function getWebhookStatus(db: Q, id: string): Promise<Webhook['status'] | null> {
  const { rows } = await db.query<{ status: Webhook['status'] }>('SELECT status FROM webhooks WHERE id = $1', [id]);
  return rows[0]?.status ?? null;
}

export async function getWebhookById(db: Q, id: string): Promise<Webhook | null> {
  const { rows } = await db.query<Webhook>('SELECT * FROM webhooks WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export type WebhookPatch = Partial<Pick<Webhook, 'url' | 'secret' | 'content_type' | 'content_encoding' | 'standard_webhooks'>>;

export async function updateWebhook(db: Q, id: string, patch: WebhookPatch): Promise<Webhook | null> {
  const cols = Object.keys(patch) as Array<keyof WebhookPatch>;
  if (cols.length === 0) return getWebhookById(db, id);
  const sets = cols.map((c, i) => `${c} = $${i + 2}`).join(', ');
  const { rows } = await db.query<Webhook>(`UPDATE webhooks SET ${sets}, updated_at = now() WHERE id = $1 RETURNING *`, [
    id,
    ...cols.map((c) => patch[c]),
  ]);
  return rows[0] ?? null;
}

/** The old secret stops signing at once: every attempt reads the current one. */
export async function rotateSigningSecret(db: Q, id: string): Promise<Webhook | null> {
  const { rows } = await db.query<Webhook>('UPDATE webhooks SET signing_secret = $2, updated_at = now() WHERE id = $1 RETURNING *', [
    id,
    newSigningSecret(),
  ]);
  return rows[0] ?? null;
}

/**
 * Deletes a webhook unless deliveries are pending. The caller holds the
 * project's row lock (lockProject), the one job submission takes, so no job
 * can slip in between check and delete.
 */
export async function deleteWebhookIfIdle(client: DbClient, w: Pick<Webhook, 'id'>): Promise<{ deleted: boolean; pending: number }> {
  const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE webhook_id = $1 AND delivery_status = 'pending'`, [
    w.id,
  ]);
  const pending = onlyRow(rows).n;
  if (pending > 0) return { deleted: false, pending };
  await client.query('DELETE FROM webhooks WHERE id = $1', [w.id]);
  return { deleted: true, pending: 0 };
}

export type DeliveryRow = Pick<
  Attempt,
  | 'id'
  | 'job_id'
  | 'series'
  | 'attempt'
  | 'started_at'
  | 'duration_ms'
  | 'url'
  | 'final_url'
  | 'success'
  | 'status_code'
  | 'error_code'
  | 'error_message'
  | 'response_snippet'
>;

/** Newest first; `before` is the last id of the previous page. */
export async function listDeliveries(
  db: Q,
  webhookId: string,
  opts: { status?: 'success' | 'failed'; before?: number; limit: number },
): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT id, job_id, series, attempt, started_at, duration_ms, url, final_url, success, status_code,
            error_code, error_message, response_snippet
       FROM delivery_attempts
      WHERE webhook_id = $1
        AND ($2::text IS NULL OR success = ($2 = 'success'))
        AND ($3::bigint IS NULL OR id < $3)
      ORDER BY id DESC LIMIT $4`,
    [webhookId, opts.status ?? null, opts.before ?? null, opts.limit],
  );
  return rows;
}

export interface WebhookOwner {
  id: string;
  name: string;
  env: Env;
  project_id: string;
  project: string;
  alert_url: string | null;
}

/**
 * The entity's write of its state (it is the only writer of these columns).
 * A disable first takes the webhook's gate lock exclusively, which waits for
 * the attempts reading their context under it (004_disable_gate) and holds
 * new ones back; disabled_at is read after that, so every attempt that was
 * let through started before it, and none after.
 * Returns the webhook's owner, or null when the webhook was deleted.
 */
export async function storeEntityState(db: Db, webhookId: string, s: StoredWebhookState, disabling: boolean): Promise<WebhookOwner | null> {
  const write = async (q: Q) => {
    const { rows } = await q.query<WebhookOwner>(
      `UPDATE webhooks w SET status = $2, disabled_reason = $3, consecutive_failed_count = $4,
              disabled_at = CASE WHEN $2 = 'enabled' THEN NULL WHEN $5 THEN clock_timestamp() ELSE w.disabled_at END,
              updated_at = now()
         FROM projects p WHERE w.id = $1 AND p.id = w.project_id
       RETURNING w.id, w.name, w.env, w.project_id, p.alert_url, p.name AS project`,
      [webhookId, s.status, s.disabledReason, s.consecutiveFailedCount, disabling],
    );
    return rows[0] ?? null;
  };
  if (!disabling) return write(db);
  return withTransaction(db, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(webhook_gate_key($1))', [webhookId]);
    return write(c);
  });
}

/** One notification, once: true when this call inserted it (an activity retry does not). */
export async function insertNotification(
  db: Q,
  n: { project_id: string; env: Env; webhook_id: string; kind: string; message: string; details: Record<string, unknown>; dedupe_key: string },
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO notifications (project_id, env, webhook_id, kind, message, details, dedupe_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
    [n.project_id, n.env, n.webhook_id, n.kind, n.message, n.details, n.dedupe_key],
  );
  return r.rowCount === 1;
}

/** Attempts sent per webhook since a time (the dashboard's success rate), by the (webhook_id, created_at) index. */
export async function attemptStats(db: Q, webhookIds: string[], since: Date): Promise<Map<string, { attempts: number; succeeded: number }>> {
  if (webhookIds.length === 0) return new Map();
  const { rows } = await db.query<{ webhook_id: string; attempts: number; succeeded: number }>(
    `SELECT webhook_id, count(*)::int AS attempts, count(*) FILTER (WHERE success)::int AS succeeded
       FROM delivery_attempts WHERE webhook_id = ANY($1::uuid[]) AND created_at >= $2
        -- An attempt that ended its series unsent (webhook disabled or gone) says nothing of the receiver.
        AND NOT (status_code IS NULL AND error_code IN ('ERR::WEBHOOK::DISABLED', 'ERR::WEBHOOK::NOT_FOUND'))
      GROUP BY webhook_id`,
    [webhookIds, since],
  );
  return new Map(rows.map((r) => [r.webhook_id, { attempts: r.attempts, succeeded: r.succeeded }]));
}
