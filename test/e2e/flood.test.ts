// Auto-disable under load: a flood of failing jobs (the bulk replay of
// thousands while the threshold is crossed is floodReplay.test.ts). The count must stop exactly at
// the threshold and no attempt may start after the disable was stored.
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

describe('auto-disable under a flood', () => {
  let site: Awaited<ReturnType<typeof startPageServer>>;
  before(async () => {
    site = await startPageServer();
  });
  after(async () => {
    await site?.close();
  });

  it('120 failing jobs at once: disabled at exactly 40, nothing started after, pending retries end as DISABLED', async (t) => {
    const failing = await startReceiver(() => ({ status: 500, body: 'down' }));
    const alerts = await startReceiver();
    const hs = await startTestHookshot({ WEBHOOK_DISABLE_AFTER: '40', WEBHOOK_RETRY_SCHEDULE: '10ms,10ms,10ms,10ms,10ms,10ms' });
    const client = await createTemporalClient(hs.temporalAddress, 'default');
    try {
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      await hs.api('/admin/projects/default', { method: 'PATCH', headers: admin, json: { alert_url: `${alerts.url}/alerts`, plan: 'ENTERPRISE' } });
      const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'down', url: failing.url } });
      assert.equal(w.status, 201);
      const jobs = await Promise.all(
        Array.from({ length: 120 }, () => hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=down`, { key: hs.keys.live })),
      );
      for (const j of jobs) assert.equal(j.status, 200, JSON.stringify(j.body));

      const outcomes = await until(async () => {
        const o = await jobOutcomes(hs, w.body.uuid);
        return o.length > 0 && o.every((r) => r.delivery_status === 'failed') ? o : undefined;
      }, 120_000);
      // Every job was stopped by the disable; none walked its whole ladder.
      assert.deepEqual(outcomes, [{ error_code: 'ERR::WEBHOOK::DISABLED', delivery_status: 'failed', n: 120 }]);

      const state = await client.workflow.getHandle(webhookWorkflowId(w.body.uuid)).query(webhookStateQuery);
      assert.equal(state.status, 'disabled');
      assert.equal(state.consecutiveFailedCount, 40);
      const row = (await hs.api('/webhooks/down', { key: hs.keys.live })).body;
      assert.equal(row.status, 'disabled');
      assert.equal(row.disabled_reason, 'consecutive_failures');
      assert.equal(row.consecutive_failed_count, 40);

      const sends = await sendsAround(hs, w.body.uuid);
      assert.equal(sends.after_disable, 0, 'no attempt started after the disable was stored');
      assert.equal(failing.received.length, sends.sent, 'every request the receiver got is an attempt row');
      t.diagnostic(`flood: 120 jobs, ${sends.sent} requests sent (840 without the disable), count ${state.consecutiveFailedCount}`);

      const notes = await hs.db.query(`SELECT kind, details FROM notifications WHERE webhook_id = $1 ORDER BY id`, [w.body.uuid]);
      assert.deepEqual(
        notes.rows.map((n) => `${n.kind}:${n.details.count}`),
        ['webhook.warning:20', 'webhook.warning:36', 'webhook.disabled:40'],
      );
      await alerts.waitFor(1);
      const alert = JSON.parse(alerts.received[0]!.body.toString());
      assert.equal(alert.event, 'webhook.disabled');
      assert.equal(alert.consecutive_failed_count, 40);
      assert.equal(alerts.received.length, 1, 'one alert per disable');

      const refused = await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=down`, { key: hs.keys.live });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.code, 'ERR::WEBHOOK::DISABLED');
      // Re-enable resets the count, through the entity.
      const enabled = await hs.api('/webhooks/down/enable', { method: 'POST', key: hs.keys.live });
      assert.equal(enabled.body.status, 'enabled');
      assert.equal(enabled.body.consecutive_failed_count, 0);
    } finally {
      await client.connection.close();
      await hs.close();
      await failing.close();
      await alerts.close();
    }
  });
});
