import { randomBytes } from 'node:crypto';
import type { Db } from '../pool';
import { onlyRow } from '../pool';
import type { Env } from '../rows';

/** 32 random bytes, hex: the HMAC key of X-Firecrawl-Signature. */
const newEventSecret = () => randomBytes(32).toString('hex');

/** The environment's event signing secret, made on first use. */
export async function getEventSecret(db: Db, projectId: string, env: Env): Promise<string> {
  const { rows } = await db.query<{ secret: string }>(
    `INSERT INTO event_secrets (project_id, env, secret) VALUES ($1, $2, $3)
     ON CONFLICT (project_id, env) DO UPDATE SET secret = event_secrets.secret
     RETURNING secret`,
    [projectId, env, newEventSecret()],
  );
  return onlyRow(rows).secret;
}

/** A new secret; the old one stops signing at once. */
export async function rotateEventSecret(db: Db, projectId: string, env: Env): Promise<string> {
  const { rows } = await db.query<{ secret: string }>(
    `INSERT INTO event_secrets (project_id, env, secret) VALUES ($1, $2, $3)
     ON CONFLICT (project_id, env) DO UPDATE SET secret = EXCLUDED.secret, created_at = now()
     RETURNING secret`,
    [projectId, env, newEventSecret()],
  );
  return onlyRow(rows).secret;
}

/** Capture slots of the project held now. */
export async function countSlotsHeld(db: Db, projectId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM capture_leases WHERE project_id = $1 AND expires_at > clock_timestamp()',
    [projectId],
  );
  return onlyRow(rows).n;
}
