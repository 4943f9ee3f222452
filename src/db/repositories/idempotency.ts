import type { DbClient } from '../pool';
import type { Env, IdempotencyHit } from '../rows';

export const IDEMPOTENCY_WINDOW = '24 hours';

/**
 * Claims `key` for this request inside the submission's transaction. Returns
 * the earlier claim when one exists within the window (a concurrent twin
 * waits on the row lock and then sees the winner's claim).
 */
export async function claimIdempotencyKey(
  c: DbClient,
  scope: { projectId: string; env: Env; key: string; requestHash: string; jobId: string },
): Promise<IdempotencyHit | null> {
  await c.query(
    `DELETE FROM idempotency_keys WHERE project_id = $1 AND env = $2 AND key = $3 AND created_at < now() - interval '${IDEMPOTENCY_WINDOW}'`,
    [scope.projectId, scope.env, scope.key],
  );
  const ins = await c.query(
    `INSERT INTO idempotency_keys (project_id, env, key, request_hash, job_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (project_id, env, key) DO NOTHING`,
    [scope.projectId, scope.env, scope.key, scope.requestHash, scope.jobId],
  );
  if (ins.rowCount === 1) return null;
  const { rows } = await c.query<IdempotencyHit>(
    'SELECT request_hash, job_id, response FROM idempotency_keys WHERE project_id = $1 AND env = $2 AND key = $3',
    [scope.projectId, scope.env, scope.key],
  );
  return rows[0] ?? null;
}

export async function saveIdempotentResponse(c: DbClient, jobId: string, response: unknown): Promise<void> {
  await c.query('UPDATE idempotency_keys SET response = $2 WHERE job_id = $1', [jobId, response]);
}

/** Frees the key claimed for a job that never started, so the client may retry with it. */
export async function releaseIdempotencyKey(c: DbClient, jobId: string): Promise<void> {
  await c.query('DELETE FROM idempotency_keys WHERE job_id = $1', [jobId]);
}
