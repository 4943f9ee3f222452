import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { failedDeliveriesReplayer } from '../../../src/commands/failedDeliveriesReplayer';
import { webhookStatusSetter } from '../../../src/commands/webhookStatusSetter';
import { AppError } from '../../../src/errors';
import { jobWorkflowId, webhookWorkflowId } from '../../../src/shared/names';
import { webhookStateQuery } from '../../../src/shared/workflowApi';
import { startCommandEnv, type CommandEnv } from '../../helpers/commandEnv';
import { startReceiver, type Receiver } from '../../helpers/receiver';
import { startPageServer } from '../../helpers/site';
import { until } from '../../helpers/wait';

describe('failedDeliveriesReplayer', () => {
  let env: CommandEnv;
  let site: Awaited<ReturnType<typeof startPageServer>>;
  let receiver: Receiver;
  let healthy = false;
  before(async () => {
    site = await startPageServer();
    receiver = await startReceiver(() => (healthy ? { status: 200 } : { status: 503 }));
    env = await startCommandEnv({ WEBHOOK_RETRY_SCHEDULE: '10ms' });
    for (const name of ['bulk', 'later', 'off']) {
      await env.hs.api('/webhooks', { method: 'POST', key: env.hs.keys.live, json: { name, url: receiver.url } });
    }
  });
  after(async () => {
    await env?.close();
    await receiver?.close();
    await site?.close();
  });

  const deliveryStatus = async (id: string) => (await env.db.query('SELECT delivery_status FROM jobs WHERE id = $1', [id])).rows[0].delivery_status;
  const failedJobs = async (webhook: string, n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      ids.push((await env.hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=${webhook}`, { key: env.hs.keys.live })).body.job_uuid);
    }
    for (const id of ids) await until(async () => ((await deliveryStatus(id)) === 'failed' ? true : undefined));
    return ids;
  };
  const entityState = async (name: string) => {
    const { rows } = await env.db.query('SELECT id FROM webhooks WHERE name = $1 AND project_id = $2', [name, env.scope.project.id]);
    return env.temporal.workflow.getHandle(webhookWorkflowId(rows[0].id)).query(webhookStateQuery);
  };
  const signals = async (jobId: string) => {
    const history = await env.temporal.workflow.getHandle(jobWorkflowId(jobId)).fetchHistory();
    return history
      .events!.filter((e) => e.workflowExecutionSignaledEventAttributes)
      .map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
  };

  it('asks the entity to replay every failed delivery, counts them, and each job is delivered again', async () => {
    const ids = await failedJobs('bulk', 2);
    healthy = true;
    try {
      const before = (await entityState('bulk')).replaysRequested;
      const out = await failedDeliveriesReplayer(env, { scope: env.scope, name: 'bulk', since: null });
      assert.equal(out.failedDeliveries, 2);
      assert.equal(out.webhook.name, 'bulk');
      assert.match(out.replayId, /^[0-9a-f-]{36}$/);
      assert.equal((await entityState('bulk')).replaysRequested, before + 1);
      for (const id of ids) {
        await until(async () => ((await deliveryStatus(id)) === 'delivered' ? true : undefined));
        assert.deepEqual(await signals(id), ['replay']);
      }
    } finally {
      healthy = false;
    }
  });

  it('with since, counts only the failed jobs created from then on', async () => {
    await failedJobs('later', 1);
    const future = new Date(Date.now() + 3600_000).toISOString();
    const out = await failedDeliveriesReplayer(env, { scope: env.scope, name: 'later', since: future });
    assert.equal(out.failedDeliveries, 0);
    const past = new Date(Date.now() - 3600_000).toISOString();
    assert.equal((await failedDeliveriesReplayer(env, { scope: env.scope, name: 'later', since: past })).failedDeliveries, 1);
  });

  it('refuses a disabled webhook, and the entity gets no replay request', async () => {
    const [id] = await failedJobs('off', 1);
    await webhookStatusSetter(env, { scope: env.scope, name: 'off', status: 'disabled' });
    const before = (await entityState('off')).replaysRequested;
    await assert.rejects(
      failedDeliveriesReplayer(env, { scope: env.scope, name: 'off', since: null }),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::DISABLED',
    );
    assert.equal((await entityState('off')).replaysRequested, before);
    assert.equal(await deliveryStatus(id!), 'failed');
  });

  it("another project's webhook is not found", async () => {
    await env.insertWebhook('theirs', receiver.url, env.otherScope);
    await assert.rejects(
      failedDeliveriesReplayer(env, { scope: env.scope, name: 'theirs', since: null }),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::NOT_FOUND',
    );
    await assert.rejects(failedDeliveriesReplayer(env, { scope: env.otherScope, name: 'bulk', since: null }), /does not exist/);
  });
});
