import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool, type Db } from '../../src/db/pool';

/** Set by test/run.ts; a test file run on its own fails with this hint. */
export function testEnv() {
  const temporalAddress = process.env.HOOKSHOT_TEST_TEMPORAL_ADDRESS;
  const adminDbUrl = process.env.HOOKSHOT_TEST_ADMIN_DB_URL;
  const dbPrefix = process.env.HOOKSHOT_TEST_DB_PREFIX;
  if (!temporalAddress || !adminDbUrl || !dbPrefix) {
    throw new Error('run tests through `npm test` (test/run.ts starts Temporal and prepares PostgreSQL)');
  }
  return { temporalAddress, adminDbUrl, dbPrefix, cliPath: process.env.HOOKSHOT_TEST_TEMPORAL_CLI };
}

/**
 * What a test that starts its own Temporal server needs from test/run.ts:
 * the fault suite (`--faults`) sets these but runs no shared server.
 */
export function databaseEnv() {
  const adminDbUrl = process.env.HOOKSHOT_TEST_ADMIN_DB_URL;
  const dbPrefix = process.env.HOOKSHOT_TEST_DB_PREFIX;
  if (!adminDbUrl || !dbPrefix) {
    throw new Error('run tests through test/run.ts (`npm test` or `npm run test:faults`): it prepares PostgreSQL');
  }
  return { adminDbUrl, dbPrefix, cliPath: process.env.HOOKSHOT_TEST_TEMPORAL_CLI };
}

export interface TestDatabase {
  url: string;
  pool: Db;
  drop(): Promise<void>;
}

/** A new, empty database on the real server; drop() removes it. */
export async function freshDatabase(): Promise<TestDatabase> {
  const { adminDbUrl, dbPrefix } = databaseEnv();
  const name = `${dbPrefix}${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminDbUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(adminDbUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = createPool(url, 5);
  return {
    url,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const c = new pg.Client({ connectionString: adminDbUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
