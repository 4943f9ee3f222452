import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { webhookCreator } from '../../../src/commands/webhookCreator';
import { webhookDeleter } from '../../../src/commands/webhookDeleter';
import { insertJob } from '../../../src/db/repositories/jobs';
import { AppError } from '../../../src/errors';
import { webhookWorkflowId } from '../../../src/shared/names';
import { webhookStateQuery } from '../../../src/shared/workflowApi';
import { startCommandEnv, type CommandEnv } from '../../helpers/commandEnv';
import { until } from '../../helpers/wait';

describe('webhookDeleter', () => {
  let env: CommandEnv;
  before(async () => {
    env = await startCommandEnv();
  });
  after(async () => {
    await env?.close();
  });

  const count = async (id: string) => (await env.db.query('SELECT count(*)::int AS n FROM webhooks WHERE id = $1', [id])).rows[0].n;

  it('deletes the row and ends its entity workflow', async () => {
    const w = await webhookCreator(env, { scope: env.scope, webhook: { name: 'gone', url: 'http://127.0.0.1:9/in' } });
    const handle = env.temporal.workflow.getHandle(webhookWorkflowId(w.id));
    await until(() => handle.query(webhookStateQuery).catch(() => undefined));
    const out = await webhookDeleter(env, { scope: env.scope, name: 'gone' });
    assert.equal(out.id, w.id);
    assert.equal(await count(w.id), 0);
    assert.equal((await handle.describe()).status.name, 'TERMINATED');
  });

  it('a webhook whose entity never started is deleted all the same', async () => {
    const w = await env.insertWebhook('no-entity', 'http://127.0.0.1:9/in');
    await webhookDeleter(env, { scope: env.scope, name: 'no-entity' });
    assert.equal(await count(w.id), 0);
  });

  it('refuses while deliveries are pending, and deletes nothing', async () => {
    const w = await webhookCreator(env, { scope: env.scope, webhook: { name: 'busy', url: 'http://127.0.0.1:9/in' } });
    await insertJob(
      env.db,
      { id: randomUUID(), project_id: env.scope.project.id, env: 'live', kind: 'scrape', webhook_id: w.id, webhook_name: w.name, params: {} },
      'pending',
    );
    await assert.rejects(
      webhookDeleter(env, { scope: env.scope, name: 'busy' }),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::DELIVERIES_PENDING' && /1 pending deliveries/.test(err.message),
    );
    assert.equal(await count(w.id), 1);
    assert.equal((await env.temporal.workflow.getHandle(webhookWorkflowId(w.id)).describe()).status.name, 'RUNNING');
  });

  it("another project's webhook is not found, and stays", async () => {
    const theirs = await env.insertWebhook('theirs', 'http://127.0.0.1:9/in', env.otherScope);
    await assert.rejects(
      webhookDeleter(env, { scope: env.scope, name: 'theirs' }),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::NOT_FOUND',
    );
    assert.equal(await count(theirs.id), 1);
  });
});
