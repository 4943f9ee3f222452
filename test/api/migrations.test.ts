import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../src/db/migrate';
import { MIGRATIONS } from '../../src/db/migrations';
import { createPool } from '../../src/db/pool';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { bootstrapDefaultProject, findKeyScope } from '../../src/db/repositories/projects';
import { freshDatabase, type TestDatabase } from '../helpers/env';

const TABLES = [
  'api_keys',
  'app_secrets',
  'attempt_payloads',
  'capture_leases',
  'capture_waiters',
  'crawl_events',
  'crawl_page_captures',
  'crawl_pages',
  'crawls',
  'dashboard_sessions',
  'delivery_attempts',
  'event_secrets',
  'idempotency_keys',
  'job_results',
  'jobs',
  'notifications',
  'projects',
  'schema_migrations',
  'webhooks',
];

describe('migrations on real PostgreSQL', () => {
  const dbs: TestDatabase[] = [];
  after(async () => {
    for (const d of dbs) await d.drop();
  });

  it('create every table on an empty database, once', async () => {
    const d = await freshDatabase();
    dbs.push(d);
    assert.deepEqual(
      await migrate(d.pool),
      MIGRATIONS.map((m) => m.id),
    );
    const { rows } = await d.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    assert.deepEqual(
      rows.map((r) => r.table_name),
      TABLES,
    );
    assert.deepEqual(await migrate(d.pool), [], 'a second run applies nothing');
  });

  it('apply each migration exactly once when processes boot together', async () => {
    const d = await freshDatabase();
    dbs.push(d);
    const pools = [createPool(d.url, 2), createPool(d.url, 2), createPool(d.url, 2)];
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      assert.equal(results.flat().length, MIGRATIONS.length);
      const { rows } = await d.pool.query('SELECT id FROM schema_migrations');
      assert.equal(rows.length, MIGRATIONS.length);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('roll back a failing migration completely', async () => {
    const d = await freshDatabase();
    dbs.push(d);
    const broken = [{ id: '900_broken', sql: 'CREATE TABLE half_made (id int); SELECT no_such_function();' }];
    await assert.rejects(migrate(d.pool, broken), /migration 900_broken failed/);
    const { rows } = await d.pool.query(`SELECT to_regclass('half_made') AS t`);
    assert.equal(rows[0].t, null);
    assert.equal((await d.pool.query('SELECT * FROM schema_migrations')).rows.length, 0);
  });

  it('bootstrap the default project once, with working hashed keys', async () => {
    const d = await freshDatabase();
    dbs.push(d);
    await migrate(d.pool);
    const [a, b] = await Promise.all([bootstrapDefaultProject(d.pool), bootstrapDefaultProject(d.pool)]);
    const keys = a ?? b;
    assert.ok(keys && (a === null) !== (b === null), 'exactly one boot creates the project');
    assert.match(keys.test, /^hs_test_[0-9a-f]{40}$/);
    assert.match(keys.live, /^hs_live_[0-9a-f]{40}$/);
    const stored = await d.pool.query('SELECT key_hash FROM api_keys');
    for (const r of stored.rows) assert.ok(!r.key_hash.toString('latin1').includes(keys.test.slice(18)));
    assert.equal((await findKeyScope(d.pool, keys.live))?.env, 'live');
    assert.equal((await findKeyScope(d.pool, keys.test))?.project.name, 'default');
    // Another key of the same shape (the last digit changed, whatever it was) is not found.
    assert.equal(await findKeyScope(d.pool, `${keys.live.slice(0, -1)}${keys.live.endsWith('0') ? '1' : '0'}`), null);
    assert.equal(await bootstrapDefaultProject(d.pool), null, 'never again on a database with projects');
  });
});

describe('migrations on the embedded PostgreSQL (PGlite)', () => {
  it('apply, persist across a restart, and are not re-applied', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hookshot-pglite-'));
    try {
      let pg = await startEmbeddedPostgres(dir);
      let pool = createPool(pg.url, 1);
      assert.deepEqual(
        await migrate(pool),
        MIGRATIONS.map((m) => m.id),
      );
      const keys = await bootstrapDefaultProject(pool);
      assert.ok(keys);
      await pool.end();
      await pg.stop();

      pg = await startEmbeddedPostgres(dir);
      pool = createPool(pg.url, 1);
      try {
        assert.deepEqual(await migrate(pool), []);
        assert.equal(await bootstrapDefaultProject(pool), null);
        assert.equal((await findKeyScope(pool, keys.live))?.project.name, 'default');
      } finally {
        await pool.end();
        await pg.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
