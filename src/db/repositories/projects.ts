import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Db, DbClient } from '../pool';
import { onlyRow } from '../pool';
import type { Env, Plan, Project } from '../rows';

export const QUEUE_LIMITS: Record<Plan, number> = {
  FREE: 0,
  DISCOVERY: 500,
  PRO: 2000,
  STARTUP: 5000,
  ENTERPRISE: 10000,
};

/** Captures of one project that may run at once, by plan (a project's own `concurrency` overrides it). */
export const PLAN_CONCURRENCY: Record<Plan, number> = {
  FREE: 1,
  DISCOVERY: 5,
  PRO: 20,
  STARTUP: 50,
  ENTERPRISE: 100,
};

export interface KeyScope {
  project: Project;
  env: Env;
  keyPrefix: string;
}

type Q = Db | DbClient;

export async function createProject(db: Q, p: { name: string; plan: Plan; alert_url?: string | null }): Promise<Project> {
  const { rows } = await db.query<Project>(`INSERT INTO projects (id, name, plan, alert_url) VALUES ($1, $2, $3, $4) RETURNING *`, [
    randomUUID(),
    p.name,
    p.plan,
    p.alert_url ?? null,
  ]);
  return onlyRow(rows);
}

export async function getProjectById(db: Q, id: string): Promise<Project | null> {
  const { rows } = await db.query<Project>('SELECT * FROM projects WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export async function getProjectByName(db: Q, name: string): Promise<Project | null> {
  const { rows } = await db.query<Project>('SELECT * FROM projects WHERE name = $1', [name]);
  return rows[0] ?? null;
}

/** Serializes a project's queue and capture-slot changes for the rest of the transaction. */
export async function lockProject(c: DbClient, projectId: string): Promise<void> {
  await c.query('SELECT 1 FROM projects WHERE id = $1 FOR UPDATE', [projectId]);
}

/** The captures this project may run at once. */
export const concurrencyOf = (p: Pick<Project, 'plan' | 'concurrency'>): number => p.concurrency ?? PLAN_CONCURRENCY[p.plan];

export async function updateProject(
  db: Q,
  name: string,
  patch: { plan?: Plan; alert_url?: string | null; concurrency?: number | null },
): Promise<Project | null> {
  const { rows } = await db.query<Project>(
    `UPDATE projects SET
       plan = COALESCE($2, plan),
       alert_url = CASE WHEN $3::boolean THEN $4 ELSE alert_url END,
       concurrency = CASE WHEN $5::boolean THEN $6 ELSE concurrency END,
       updated_at = now()
     WHERE name = $1 RETURNING *`,
    [name, patch.plan ?? null, patch.alert_url !== undefined, patch.alert_url ?? null, patch.concurrency !== undefined, patch.concurrency ?? null],
  );
  return rows[0] ?? null;
}

// Keys look like hs_live_<40 hex>; the first 18 characters are the public
// prefix used to find the row, the whole key is only ever stored as SHA-256.
const PREFIX_LEN = 18;
const hashKey = (key: string) => createHash('sha256').update(key).digest();

export async function createApiKey(db: Q, projectId: string, env: Env): Promise<{ key: string; prefix: string }> {
  for (;;) {
    const key = `hs_${env}_${randomBytes(20).toString('hex')}`;
    const prefix = key.slice(0, PREFIX_LEN);
    const res = await db.query(
      `INSERT INTO api_keys (id, project_id, env, prefix, key_hash) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (prefix) DO NOTHING`,
      [randomUUID(), projectId, env, prefix, hashKey(key)],
    );
    if (res.rowCount === 1) return { key, prefix };
  }
}

export async function revokeApiKey(db: Q, prefix: string): Promise<boolean> {
  const res = await db.query('UPDATE api_keys SET revoked_at = now() WHERE prefix = $1 AND revoked_at IS NULL', [prefix]);
  return res.rowCount === 1;
}

export async function findKeyScope(db: Q, key: string): Promise<KeyScope | null> {
  if (key.length < PREFIX_LEN || key.length > 200) return null;
  const { rows } = await db.query<{ key_hash: Buffer; env: Env; prefix: string } & Project>(
    `SELECT k.key_hash, k.env, k.prefix, p.*
       FROM api_keys k JOIN projects p ON p.id = k.project_id
      WHERE k.prefix = $1 AND k.revoked_at IS NULL`,
    [key.slice(0, PREFIX_LEN)],
  );
  const row = rows[0];
  // Hash both sides first so the comparison is constant-time and length-blind.
  if (!row || !timingSafeEqual(row.key_hash, hashKey(key))) return null;
  const { key_hash: _h, env, prefix, ...project } = row;
  return { project, env, keyPrefix: prefix };
}

/** First start on an empty database: project `default` with a test and a live key. */
export async function bootstrapDefaultProject(db: Db): Promise<{ test: string; live: string } | null> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    // Serialises concurrent first boots (api + worker) on the same database.
    await client.query('LOCK TABLE projects IN SHARE ROW EXCLUSIVE MODE');
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM projects');
    if (onlyRow(rows).n > 0) {
      await client.query('ROLLBACK');
      return null;
    }
    const project = await createProject(client, { name: 'default', plan: 'ENTERPRISE' });
    const test = await createApiKey(client, project.id, 'test');
    const live = await createApiKey(client, project.id, 'live');
    await client.query('COMMIT');
    return { test: test.key, live: live.key };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
