import { randomBytes, randomUUID } from 'node:crypto';
import type { Db, DbClient } from '../pool';
import type { Env } from './projects';

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
