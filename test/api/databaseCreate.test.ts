// DATABASE_URL naming a database the server does not have: the first start
// creates it (a fresh machine's `npm start` with the README's URL), a second
// start uses it as it is.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startHookshot } from '../../src/runtime';
import { testEnv } from '../helpers/env';

describe('DATABASE_URL to a database that does not exist yet', () => {
  it('is created on the first start and reused on the next', async () => {
    const { adminDbUrl, dbPrefix, temporalAddress } = testEnv();
    // The run's prefix: test/run.ts drops it with the others whatever happens here.
    const name = `${dbPrefix}created_${randomBytes(3).toString('hex')}`;
    const url = Object.assign(new URL(adminDbUrl), { pathname: `/${name}` }).toString();
    const exists = async () => {
      const c = new pg.Client({ connectionString: adminDbUrl });
      await c.connect();
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      await c.end();
      return rowCount === 1;
    };
    assert.equal(await exists(), false);
    const start = async () => {
      const lines: string[] = [];
      const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
      const config = loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: url,
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_TASK_QUEUE: `create-${randomBytes(4).toString('hex')}`,
        LOG_LEVEL: 'info',
      });
      const hs = await startHookshot(config, createLogger(config.logLevel, sink));
      try {
        const health = await fetch(`${hs.apiUrl}/healthz`);
        assert.equal(health.status, 200);
        const { rows } = await hs.db.query<{ n: number }>('SELECT count(*)::int AS n FROM projects');
        assert.equal(rows[0]!.n, 1, 'migrated, with the default project');
      } finally {
        await hs.stop();
      }
      return lines.join('');
    };
    const first = await start();
    assert.match(first, /"msg":"database created"/);
    assert.equal(await exists(), true);
    const second = await start();
    assert.doesNotMatch(second, /database created/);
    assert.doesNotMatch(second, /default project created/, 'the same database: the keys are not printed again');
  });
});
