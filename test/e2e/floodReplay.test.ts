// Auto-disable under load, part two: a bulk replay of 2,000 failed jobs
// while the threshold is crossed (a file of its own: it is the longest test).
// The count must stop exactly at the threshold and no attempt may start
// after the disable was stored.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTemporalClient } from '../../src/temporal/client';
import { webhookWorkflowId } from '../../src/shared/names';
import { webhookStateQuery } from '../../src/shared/workflowApi';
import { ADMIN_TOKEN, startTestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { startPageServer } from '../helpers/site';
import { until } from '../helpers/wait';
import { jobOutcomes, sendsAround } from '../helpers/flood';

describe('bulk replay across the disable threshold', () => {
  let site: Awaited<ReturnType<typeof startPageServer>>;
  before(async () => {
    site = await startPageServer();
  });
  after(async () => {
    await site?.close();
  });

  it('a bulk replay of 2,000 failed jobs crossing the threshold stops deliveries at once', async (t) => {
    const failing = await startReceiver(() => ({ status: 503, body: 'still down' }));
    const hs = await startTestHookshot({ WEBHOOK_DISABLE_AFTER: '50', WEBHOOK_RETRY_SCHEDULE: '1h' });
    const client = await createTemporalClient(hs.temporalAddress, 'default');
    try {
      await hs.api('/admin/projects/default', { method: 'PATCH', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, json: { plan: 'ENTERPRISE' } });
      const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'backlog', url: failing.url } });
      // A backlog of failed deliveries, as a long outage leaves behind.
      await hs.db.query(
        `INSERT INTO jobs (id, project_id, env, kind, webhook_id, webhook_name, status, delivery_status, params, error_code, error_message, completed_at)
         SELECT gen_random_uuid(), w.project_id, w.env, 'scrape', w.id, w.name, 'failed', 'failed', $2::jsonb,
                'ERR::WEBHOOK::MAX_RETRY', 'delivery failed 7 times', now()
           FROM webhooks w, generate_series(1, 2000) WHERE w.id = $1`,
        [w.body.uuid, JSON.stringify({ url: site.url })],
      );
      const bulk = await hs.api('/webhooks/backlog/replay', { method: 'POST', key: hs.keys.live, json: {} });
      assert.equal(bulk.status, 202, JSON.stringify(bulk.body));
      assert.equal(bulk.body.failed_deliveries, 2000);

      const disabled = await until(async () => {
        const r = (await hs.api('/webhooks/backlog', { key: hs.keys.live })).body;
        return r.status === 'disabled' ? r : undefined;
        // 2,000 workflows start on 2 cores: on a loaded machine the first 50 failures take a while.
      }, 240_000);
      assert.equal(disabled.consecutive_failed_count, 50);

      // Every replayed job ends: the ones asleep on the 1 h ladder are woken,
      // the ones the replay reaches later stop at the gate without sending.
      const outcomes = await until(async () => {
        const o = await jobOutcomes(hs, w.body.uuid);
        const settled = o.filter((r) => r.delivery_status === 'failed' && r.error_code === 'ERR::WEBHOOK::DISABLED').reduce((n, r) => n + r.n, 0);
        return settled === 2000 ? o : undefined;
      }, 240_000);
      assert.equal(outcomes.length, 1);

      const sends = await sendsAround(hs, w.body.uuid);
      assert.equal(sends.after_disable, 0, 'no attempt started after the disable was stored');
      assert.equal(failing.received.length, sends.sent);
      t.diagnostic(`bulk replay: ${sends.sent} of 2000 replayed jobs sent before the disable stopped the rest`);
      // How many went out before the disable depends on the machine's load (a
      // figure, reported above); that the disable cut the replay short does not.
      assert.ok(sends.sent < 2000, `sent ${sends.sent} of 2,000: the disable stopped the replay's deliveries`);
      const state = await client.workflow.getHandle(webhookWorkflowId(w.body.uuid)).query(webhookStateQuery);
      assert.equal(state.consecutiveFailedCount, 50);
    } finally {
      await client.connection.close();
      await hs.close();
      await failing.close();
    }
  });
});
