import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../pool';
import { onlyRow } from '../pool';
import type { DashboardSession, Env, Project } from '../rows';

const hash = (token: string) => createHash('sha256').update(token).digest();

/** A named secret shared by every process, made once (the first writer wins). */
export async function appSecret(db: Db, name: string): Promise<string> {
  const { rows } = await db.query<{ value: string }>(
    `INSERT INTO app_secrets (name, value) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET name = app_secrets.name RETURNING value`,
    [name, randomBytes(32).toString('hex')],
  );
  return onlyRow(rows).value;
}

/** A new session for the key's scope; returns its token (for the cookie) and CSRF token. */
export async function createSession(
  db: Db,
  s: { projectId: string; env: Env; keyPrefix: string; ttlMs: number },
): Promise<{ token: string; csrfToken: string }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  await db.query(
    `INSERT INTO dashboard_sessions (token_hash, project_id, env, key_prefix, csrf_token, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond')`,
    [hash(token), s.projectId, s.env, s.keyPrefix, csrfToken, s.ttlMs],
  );
  // Expired sessions are swept now and then, on sign-in.
  await db.query('DELETE FROM dashboard_sessions WHERE expires_at < now()');
  return { token, csrfToken };
}

/** The live session of a token: not expired, and its key not revoked. */
export async function findSession(db: Db, token: string): Promise<DashboardSession | null> {
  const { rows } = await db.query<{ project: Project; env: Env; key_prefix: string; csrf_token: string; expires_at: Date; token_hash: Buffer }>(
    `SELECT to_jsonb(p) AS project, s.env, s.key_prefix, s.csrf_token, s.expires_at, s.token_hash
       FROM dashboard_sessions s
       JOIN projects p ON p.id = s.project_id
       JOIN api_keys k ON k.prefix = s.key_prefix AND k.revoked_at IS NULL
      WHERE s.token_hash = $1 AND s.expires_at > now()`,
    [hash(token)],
  );
  const r = rows[0];
  if (!r) return null;
  return { project: r.project, env: r.env, keyPrefix: r.key_prefix, csrfToken: r.csrf_token, expiresAt: r.expires_at, tokenHash: r.token_hash };
}

export async function deleteSession(db: Db, token: string): Promise<void> {
  await db.query('DELETE FROM dashboard_sessions WHERE token_hash = $1', [hash(token)]);
}

/** Leaves one message for the session's next page (a newer one replaces it). */
export async function setFlash(db: Db, tokenHash: Buffer, flash: unknown): Promise<void> {
  await db.query('UPDATE dashboard_sessions SET flash = $2 WHERE token_hash = $1', [tokenHash, JSON.stringify(flash)]);
}

/** The session's message, removed as it is read: two concurrent reads cannot both get it. */
export async function takeFlash(db: Db, tokenHash: Buffer): Promise<unknown> {
  const { rows } = await db.query<{ flash: unknown }>(
    `UPDATE dashboard_sessions s SET flash = NULL
       FROM (SELECT token_hash, flash FROM dashboard_sessions WHERE token_hash = $1 AND flash IS NOT NULL FOR UPDATE) old
      WHERE s.token_hash = old.token_hash
    RETURNING old.flash`,
    [tokenHash],
  );
  return rows[0]?.flash ?? null;
}
