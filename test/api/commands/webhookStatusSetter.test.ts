import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webhookStatusSetter } from '../../../src/commands/webhookStatusSetter';
import { AppError } from '../../../src/errors';
import { webhookWorkflowId } from '../../../src/shared/names';
import { webhookStateQuery } from '../../../src/shared/workflowApi';
import { startCommandEnv, type CommandEnv } from '../../helpers/commandEnv';

describe('webhookStatusSetter', () => {
  let env: CommandEnv;
  before(async () => {
    env = await startCommandEnv();
  });
  after(async () => {
    await env?.close();
  });

  const row = async (id: string) =>
    (await env.db.query('SELECT status, disabled_reason, consecutive_failed_count FROM webhooks WHERE id = $1', [id])).rows[0];

  it('disables through the entity: stored, in the entity state, with the reason "manual"', async () => {
    // No entity yet: the command starts it.
    const w = await env.insertWebhook('toggle', 'http://127.0.0.1:9/in');
    const out = await webhookStatusSetter(env, { scope: env.scope, name: 'toggle', status: 'disabled' });
    assert.equal(out.status, 'disabled');
    assert.deepEqual(await row(w.id), { status: 'disabled', disabled_reason: 'manual', consecutive_failed_count: 0 });
    const state = await env.temporal.workflow.getHandle(webhookWorkflowId(w.id)).query(webhookStateQuery);
    assert.equal(state.status, 'disabled');
    assert.equal(state.disabledReason, 'manual');
    const { rows } = await env.db.query('SELECT kind FROM notifications WHERE webhook_id = $1', [w.id]);
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['webhook.disabled_manually'],
    );
  });

  it('enables again: the reason is cleared and the failure count reset', async () => {
    const w = await env.insertWebhook('revive', 'http://127.0.0.1:9/in');
    await webhookStatusSetter(env, { scope: env.scope, name: 'revive', status: 'disabled' });
    const out = await webhookStatusSetter(env, { scope: env.scope, name: 'revive', status: 'enabled' });
    assert.equal(out.status, 'enabled');
    assert.deepEqual(await row(w.id), { status: 'enabled', disabled_reason: null, consecutive_failed_count: 0 });
    const state = await env.temporal.workflow.getHandle(webhookWorkflowId(w.id)).query(webhookStateQuery);
    assert.equal(state.status, 'enabled');
    assert.equal(state.consecutiveFailedCount, 0);
  });

  it("another project's webhook is not found, and no entity is started for it", async () => {
    const theirs = await env.insertWebhook('theirs', 'http://127.0.0.1:9/in', env.otherScope);
    await assert.rejects(
      webhookStatusSetter(env, { scope: env.scope, name: 'theirs', status: 'disabled' }),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::NOT_FOUND',
    );
    assert.equal((await row(theirs.id)).status, 'enabled');
    await assert.rejects(env.temporal.workflow.getHandle(webhookWorkflowId(theirs.id)).describe(), /not found/i);
  });
});
