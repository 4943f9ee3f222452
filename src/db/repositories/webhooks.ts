import { randomBytes, randomUUID } from 'node:crypto';
import type { Db, DbClient } from '../pool';
import type { Env } from './projects';
import type { Attempt } from './jobs';

export const CONTENT_TYPES = ['application/json', 'application/msgpack'] as const;
export const CONTENT_ENCODINGS = ['identity', 'gzip', 'deflate', 'br'] as const;

export interface Webhook {
  id: string;
  project_id: string;
  env: Env;
  name: string;
  url: string;
  secret: string | null;
  signing_secret: string;
  content_type: (typeof CONTENT_TYPES)[number];
  content_encoding: (typeof CONTENT_ENCODINGS)[number];
  standard_webhooks: boolean;
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  consecutive_failed_count: number;
  created_at: Date;
  updated_at: Date;
}

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
  const { rows } = await db.query<Webhook>(
    'SELECT * FROM webhooks WHERE project_id = $1 AND env = $2 ORDER BY name',
    [projectId, env],
  );
  return rows;
}

export async function getWebhookByName(db: Q, projectId: string, env: Env, name: string): Promise<Webhook | null> {
  const { rows } = await db.query<Webhook>(
    'SELECT * FROM webhooks WHERE project_id = $1 AND env = $2 AND name = $3',
    [projectId, env, name],
  );
  return rows[0] ?? null;
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
  const { rows } = await db.query<Webhook>(
    `UPDATE webhooks SET ${sets}, updated_at = now() WHERE id = $1 RETURNING *`,
    [id, ...cols.map((c) => patch[c])],
  );
  return rows[0] ?? null;
}

/** The old secret stops signing at once: every attempt reads the current one. */
export async function rotateSigningSecret(db: Q, id: string): Promise<Webhook | null> {
  const { rows } = await db.query<Webhook>(
    'UPDATE webhooks SET signing_secret = $2, updated_at = now() WHERE id = $1 RETURNING *',
    [id, newSigningSecret()],
  );
  return rows[0] ?? null;
}

/**
 * Deletes a webhook unless deliveries are pending. The project row lock is
 * the one job submission takes, so no job can slip in between check and delete.
 */
export async function deleteWebhookIfIdle(client: DbClient, w: Pick<Webhook, 'id' | 'project_id'>): Promise<{ deleted: boolean; pending: number }> {
  await client.query('SELECT 1 FROM projects WHERE id = $1 FOR UPDATE', [w.project_id]);
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM jobs WHERE webhook_id = $1 AND delivery_status = 'pending'`,
    [w.id],
  );
  if (rows[0]!.n > 0) return { deleted: false, pending: rows[0]!.n };
  await client.query('DELETE FROM webhooks WHERE id = $1', [w.id]);
  return { deleted: true, pending: 0 };
}

export type DeliveryRow = Pick<
  Attempt,
  'id' | 'job_id' | 'series' | 'attempt' | 'started_at' | 'duration_ms' | 'url' | 'final_url' | 'success' | 'status_code' | 'error_code' | 'error_message' | 'response_snippet'
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
