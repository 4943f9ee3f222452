import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { migrate } from '../../src/db/migrate';
import { withTransaction } from '../../src/db/pool';
import { createProject } from '../../src/db/repositories/projects';
import { insertJob } from '../../src/db/repositories/jobs';
import { insertJobWithinQueueLimit, QueueFullError } from '../../src/commands/queueLimit';
import { freshDatabase, type TestDatabase } from '../helpers/env';

describe('plan queue limit', () => {
  let d: TestDatabase;
  before(async () => {
    d = await freshDatabase();
    await migrate(d.pool);
  });
  after(async () => {
    await d?.drop();
  });

  it('accepts exactly one of many concurrent submissions one below the limit', async () => {
    const project = await createProject(d.pool, { name: 'race', plan: 'DISCOVERY' });
    const limit = 20;
    for (let i = 0; i < limit - 1; i++) {
      await insertJob(
        d.pool,
        { id: randomUUID(), project_id: project.id, env: 'live', kind: 'scrape', webhook_id: null, webhook_name: 'w', params: {} },
        'pending',
      );
    }
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, () =>
        withTransaction(d.pool, (c) =>
          insertJobWithinQueueLimit(
            c,
            { id: randomUUID(), project_id: project.id, env: 'live', kind: 'scrape', webhook_id: null, webhook_name: 'w', params: {} },
            limit,
          ),
        ),
      ),
    );
    const ok = attempts.filter((a) => a.status === 'fulfilled');
    assert.equal(ok.length, 1);
    assert.equal((ok[0] as PromiseFulfilledResult<number>).value, limit, 'webhook_queued_element counts the new job');
    for (const a of attempts.filter((a) => a.status === 'rejected')) {
      assert.ok((a as PromiseRejectedResult).reason instanceof QueueFullError);
    }
    const { rows } = await d.pool.query(`SELECT count(*)::int AS n FROM jobs WHERE project_id = $1 AND delivery_status = 'pending'`, [project.id]);
    assert.equal(rows[0].n, limit);
  });

  it('FREE (limit 0) refuses every webhook job and stores nothing', async () => {
    const project = await createProject(d.pool, { name: 'free', plan: 'FREE' });
    await assert.rejects(
      withTransaction(d.pool, (c) =>
        insertJobWithinQueueLimit(
          c,
          { id: randomUUID(), project_id: project.id, env: 'test', kind: 'scrape', webhook_id: null, webhook_name: 'w', params: {} },
          0,
        ),
      ),
      QueueFullError,
    );
    const { rows } = await d.pool.query('SELECT count(*)::int AS n FROM jobs WHERE project_id = $1', [project.id]);
    assert.equal(rows[0].n, 0);
  });
});
