import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webhookCreator } from '../../../src/commands/webhookCreator';
import { AppError } from '../../../src/errors';
import { webhookWorkflowId } from '../../../src/shared/names';
import { webhookStateQuery } from '../../../src/shared/workflowApi';
import { startCommandEnv, type CommandEnv } from '../../helpers/commandEnv';
import { until } from '../../helpers/wait';

describe('webhookCreator', () => {
  let env: CommandEnv;
  before(async () => {
    env = await startCommandEnv();
  });
  after(async () => {
    await env?.close();
  });

  it('stores the webhook in its scope and starts its entity workflow', async () => {
    const w = await webhookCreator(env, {
      scope: env.scope,
      webhook: { name: 'orders', url: 'http://127.0.0.1:9/in', content_type: 'application/json', standard_webhooks: true },
    });
    const { rows } = await env.db.query('SELECT * FROM webhooks WHERE id = $1', [w.id]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].project_id, env.scope.project.id);
    assert.equal(rows[0].env, 'live');
    assert.equal(rows[0].name, 'orders');
    assert.equal(rows[0].url, 'http://127.0.0.1:9/in');
    assert.equal(rows[0].standard_webhooks, true);
    assert.equal(rows[0].status, 'enabled');
    assert.match(rows[0].signing_secret, /\S{16,}/);
    assert.equal(w.signing_secret, rows[0].signing_secret);
    const state = await until(() =>
      env.temporal.workflow
        .getHandle(webhookWorkflowId(w.id))
        .query(webhookStateQuery)
        .catch(() => undefined),
    );
    assert.equal(state.webhookId, w.id);
    assert.equal(state.status, 'enabled');
    assert.equal(state.disableAfter, env.config.webhook.disableAfter);
  });

  it('refuses a name already used in the scope, and writes nothing', async () => {
    await webhookCreator(env, { scope: env.scope, webhook: { name: 'twice', url: 'http://127.0.0.1:9/a' } });
    await assert.rejects(
      webhookCreator(env, { scope: env.scope, webhook: { name: 'twice', url: 'http://127.0.0.1:9/b' } }),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::ALREADY_EXISTS' && /"twice"/.test(err.message),
    );
    const { rows } = await env.db.query('SELECT url FROM webhooks WHERE name = $1', ['twice']);
    assert.deepEqual(rows, [{ url: 'http://127.0.0.1:9/a' }]);
  });

  it('the same name in another project or environment is another webhook', async () => {
    await webhookCreator(env, { scope: env.scope, webhook: { name: 'shared', url: 'http://127.0.0.1:9/a' } });
    await webhookCreator(env, { scope: env.otherScope, webhook: { name: 'shared', url: 'http://127.0.0.1:9/b' } });
    await webhookCreator(env, { scope: { ...env.scope, env: 'test' }, webhook: { name: 'shared', url: 'http://127.0.0.1:9/c' } });
    const { rows } = await env.db.query('SELECT project_id, env, url FROM webhooks WHERE name = $1 ORDER BY url', ['shared']);
    assert.deepEqual(rows, [
      { project_id: env.scope.project.id, env: 'live', url: 'http://127.0.0.1:9/a' },
      { project_id: env.otherScope.project.id, env: 'live', url: 'http://127.0.0.1:9/b' },
      { project_id: env.scope.project.id, env: 'test', url: 'http://127.0.0.1:9/c' },
    ]);
  });
});
