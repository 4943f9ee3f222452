import type { Db } from '../pool';

/** Resolves when the database answers a query. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.query('SELECT 1');
}
