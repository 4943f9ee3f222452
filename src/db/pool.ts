import pg from 'pg';

export type Db = pg.Pool;
export type DbClient = pg.PoolClient;

// int8 (COUNT, bigserial) as number: our counts and ids stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export function createPool(connectionString: string, max: number): Db {
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  // An idle client that dies (server restart) must not crash the process.
  pool.on('error', () => undefined);
  // Nor one that is checked out (a transaction between two queries) when the
  // server's "terminating connection" arrives: pg emits that on the client,
  // which has no listener then, and the process would exit. The client's next
  // query fails instead (an outage error), and release drops the dead client.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Runs fn in a transaction on one client; rolls back on any throw. */
export async function withTransaction<T>(db: Db, fn: (c: DbClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * The row a query always yields (an aggregate, a RETURNING of an upsert).
 * Its absence is a bug in the query, said plainly rather than as a
 * TypeError further on.
 */
export function onlyRow<T>(rows: readonly T[]): T {
  const [row] = rows;
  if (row === undefined) throw new Error('query returned no row where one is always expected');
  return row;
}
