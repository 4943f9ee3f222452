// The project's queue, as the plan's limit and the metrics count it: a read
// over jobs and crawls together (a tight group: neither table alone says
// how much work waits). Admission under the limit is src/commands/queueLimit.ts.
import type { Db, DbClient } from '../pool';
import { onlyRow } from '../pool';

type Q = Db | DbClient;

/** What the plan's queue limit counts: webhook jobs owing a delivery, and crawls not yet settled. */
export async function countQueued(db: Q, projectId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM jobs WHERE project_id = $1 AND delivery_status = 'pending')
           + (SELECT count(*) FROM crawls WHERE project_id = $1 AND NOT settled))::int AS n`,
    [projectId],
  );
  return onlyRow(rows).n;
}

/** Jobs owing a webhook delivery (pending or retrying), all projects: the metrics' queue depth, on the partial index jobs_project_pending. */
export async function countPendingDeliveries(db: Q): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE delivery_status = 'pending'`);
  return onlyRow(rows).n;
}
