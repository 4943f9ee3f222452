import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTemporalClient } from '../../src/temporal/client';
import { webhookWorkflowId } from '../../src/shared/names';
import { attemptOutcomeSignal, webhookStateQuery } from '../../src/shared/workflowApi';
import { startTestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { startPageServer } from '../helpers/site';
import { until } from '../helpers/wait';

describe('webhook entity workflow', () => {
  let site: Awaited<ReturnType<typeof startPageServer>>;
  before(async () => {
    site = await startPageServer();
  });
  after(async () => {
    await site?.close();
  });

  it('replays one failed job and, in bulk, every failed job of a webhook, with the same Job-Id', async () => {
    let healthy = false;
    const receiver = await startReceiver(() => (healthy ? { status: 200 } : { status: 503 }));
    const hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '10ms' });
    const client = await createTemporalClient(hs.temporalAddress, 'default');
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'flaky', url: receiver.url } });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=flaky`, { key: hs.keys.live })).body.job_uuid);
      }
      await until(async () => {
        const { rows } = await hs.db.query(
          `SELECT count(*)::int AS n FROM jobs WHERE delivery_status = 'failed' AND error_code = 'ERR::WEBHOOK::MAX_RETRY'`,
        );
        return rows[0].n === 3 ? true : undefined;
      });
      assert.equal(receiver.received.length, 6, '3 jobs x 2 attempts');
      healthy = true;

      // Single replay: a signal-with-start on the closed workflow.
      const one = await hs.api(`/jobs/${ids[0]}/replay`, { method: 'POST', key: hs.keys.live });
      assert.equal(one.status, 202, JSON.stringify(one.body));
      const replayed = await until(async () => {
        const j = await hs.api(`/jobs/${ids[0]}`, { key: hs.keys.live });
        return j.body.status === 'delivered' ? j.body : undefined;
      });
      assert.deepEqual(
        replayed.attempts.map((a: { series: number; attempt: number; status_code: number }) => `${a.series}.${a.attempt}:${a.status_code}`),
        ['0.1:503', '0.2:503', '1.1:200'],
      );
      const last = receiver.received[receiver.received.length - 1]!;
      assert.equal(last.headers['x-scrapfly-webhook-job-id'], ids[0]);
      const history = await client.workflow.getHandle(`job:${ids[0]}`).fetchHistory();
      const signals = history
        .events!.filter((e) => e.workflowExecutionSignaledEventAttributes)
        .map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
      assert.deepEqual(signals, ['replay'], 'the replay is a signal in the Web UI history');

      // Two replays in a row: both accepted, the job ends delivered.
      const dup = await hs.api(`/jobs/${ids[1]}/replay`, { method: 'POST', key: hs.keys.live });
      assert.equal(dup.status, 202);
      const again = await hs.api(`/jobs/${ids[1]}/replay`, { method: 'POST', key: hs.keys.live });
      assert.equal(again.status, 202, JSON.stringify(again.body));
      await until(async () => ((await hs.api(`/jobs/${ids[1]}`, { key: hs.keys.live })).body.status === 'delivered' ? true : undefined));

      // Bulk: the remaining failed job goes through the entity.
      const bulk = await hs.api('/webhooks/flaky/replay', { method: 'POST', key: hs.keys.live, json: {} });
      assert.equal(bulk.status, 202, JSON.stringify(bulk.body));
      assert.equal(bulk.body.failed_deliveries, 1);
      await until(async () => ((await hs.api(`/jobs/${ids[2]}`, { key: hs.keys.live })).body.status === 'delivered' ? true : undefined));
      const ids2 = receiver.received.filter((r) => r.headers['x-scrapfly-webhook-job-id'] === ids[2]);
      assert.equal(ids2.length, 3);
      const { rows } = await hs.db.query(`SELECT count(*)::int AS n FROM jobs WHERE delivery_status <> 'delivered'`);
      assert.equal(rows[0].n, 0);
    } finally {
      await client.connection.close();
      await hs.close();
      await receiver.close();
    }
  });

  it('replay during a long ladder wait cuts the wait short', async () => {
    const receiver = await startReceiver((_r, i) => (i === 0 ? { status: 500 } : { status: 200 }));
    const hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '1h' });
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'patient', url: receiver.url } });
      const id = (await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=patient`, { key: hs.keys.live })).body.job_uuid;
      await until(async () => ((await hs.api(`/jobs/${id}`, { key: hs.keys.live })).body.status === 'retrying' ? true : undefined));
      const r = await hs.api(`/jobs/${id}/replay`, { method: 'POST', key: hs.keys.live });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const job = await until(async () => {
        const j = await hs.api(`/jobs/${id}`, { key: hs.keys.live });
        return j.body.status === 'delivered' ? j.body : undefined;
      });
      assert.deepEqual(
        job.attempts.map((a: { series: number; status_code: number }) => `${a.series}:${a.status_code}`),
        ['0:500', '1:200'],
      );
    } finally {
      await hs.close();
      await receiver.close();
    }
  });

  it('starts a missing entity with the outcome (signal-with-start) when a job reports to it', async () => {
    const receiver = await startReceiver(() => ({ status: 500 }));
    const hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '10ms' });
    const client = await createTemporalClient(hs.temporalAddress, 'default');
    try {
      const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'orphan', url: receiver.url } });
      const handle = client.workflow.getHandle(webhookWorkflowId(w.body.uuid));
      await handle.terminate('test: the entity is gone');
      const id = (await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=orphan`, { key: hs.keys.live })).body.job_uuid;
      await until(async () => ((await hs.api(`/jobs/${id}`, { key: hs.keys.live })).body.status === 'failed' ? true : undefined));
      const state = await until(async () => {
        const s = await client.workflow
          .getHandle(webhookWorkflowId(w.body.uuid))
          .query(webhookStateQuery)
          .catch(() => undefined);
        return s && s.consecutiveFailedCount === 2 ? s : undefined;
      });
      assert.equal(state.outcomesApplied, 2);
      assert.equal((await client.workflow.getHandle(webhookWorkflowId(w.body.uuid)).describe()).status.name, 'RUNNING');
    } finally {
      await client.connection.close();
      await hs.close();
      await receiver.close();
    }
  });

  it('manual disable stops new jobs and is recorded; bulk replay honours since', async () => {
    let healthy = false;
    const receiver = await startReceiver(() => (healthy ? { status: 200 } : { status: 500 }));
    const hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '10ms' });
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'ops', url: receiver.url } });
      const old = (await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=ops`, { key: hs.keys.live })).body.job_uuid;
      await until(async () => ((await hs.api(`/jobs/${old}`, { key: hs.keys.live })).body.status === 'failed' ? true : undefined));
      const { rows: created } = await hs.db.query<{ created_at: Date }>('SELECT created_at FROM jobs WHERE id = $1', [old]);
      const since = new Date(created[0]!.created_at.getTime() + 1).toISOString();
      const recent = (await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=ops`, { key: hs.keys.live })).body.job_uuid;
      await until(async () => ((await hs.api(`/jobs/${recent}`, { key: hs.keys.live })).body.status === 'failed' ? true : undefined));

      const off = await hs.api('/webhooks/ops/disable', { method: 'POST', key: hs.keys.live });
      assert.equal(off.status, 200);
      assert.equal(off.body.status, 'disabled');
      assert.equal(off.body.disabled_reason, 'manual');
      const refused = await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=ops`, { key: hs.keys.live });
      assert.equal(refused.body.code, 'ERR::WEBHOOK::DISABLED');
      assert.equal((await hs.api('/webhooks/ops/replay', { method: 'POST', key: hs.keys.live, json: {} })).body.code, 'ERR::WEBHOOK::DISABLED');
      assert.equal((await hs.api(`/jobs/${old}/replay`, { method: 'POST', key: hs.keys.live })).body.code, 'ERR::WEBHOOK::DISABLED');

      assert.equal((await hs.api('/webhooks/ops/enable', { method: 'POST', key: hs.keys.live })).body.status, 'enabled');
      healthy = true;
      const bulk = await hs.api('/webhooks/ops/replay', { method: 'POST', key: hs.keys.live, json: { since } });
      assert.equal(bulk.status, 202, JSON.stringify(bulk.body));
      assert.equal(bulk.body.failed_deliveries, 1);
      await until(async () => ((await hs.api(`/jobs/${recent}`, { key: hs.keys.live })).body.status === 'delivered' ? true : undefined));
      assert.equal((await hs.api(`/jobs/${old}`, { key: hs.keys.live })).body.status, 'failed', 'older than since: not replayed');
      const bad = await hs.api('/webhooks/ops/replay', { method: 'POST', key: hs.keys.live, json: { since: 'yesterday' } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.message, /^since: /);
      const kinds = await hs.db.query(`SELECT kind FROM notifications ORDER BY id`);
      assert.deepEqual(
        kinds.rows.map((k) => k.kind),
        ['webhook.disabled_manually', 'webhook.enabled'],
      );
    } finally {
      await hs.close();
      await receiver.close();
    }
  });

  it('continues as new when Temporal suggests it, losing no outcome', async () => {
    const hs = await startTestHookshot({ WEBHOOK_DISABLE_AFTER: '1000' });
    const client = await createTemporalClient(hs.temporalAddress, 'default');
    try {
      const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'busy', url: 'https://example.invalid/h' } });
      const handle = client.workflow.getHandle(webhookWorkflowId(w.body.uuid));
      const firstRun = (await handle.describe()).runId;
      // The test server suggests continue-as-new at 100 events (test/run.ts).
      const n = 150;
      for (let i = 0; i < n; i++) {
        await handle.signal(attemptOutcomeSignal, { jobId: `j${i}`, series: 0, attempt: 1, success: false });
      }
      const state = await until(async () => {
        const s = await client.workflow.getHandle(webhookWorkflowId(w.body.uuid)).query(webhookStateQuery);
        return s.outcomesApplied === n ? s : undefined;
      });
      assert.equal(state.consecutiveFailedCount, n);
      // The handover happens once the last batch is stored and no handler runs.
      const newRun = await until(async () => {
        const d = await client.workflow.getHandle(webhookWorkflowId(w.body.uuid)).describe();
        return d.runId !== firstRun ? d.runId : undefined;
      });
      const previous = await client.workflow.getHandle(webhookWorkflowId(w.body.uuid), firstRun).describe();
      assert.equal(previous.status.name, 'CONTINUED_AS_NEW');
      assert.ok(newRun);
      assert.equal((await client.workflow.getHandle(webhookWorkflowId(w.body.uuid)).query(webhookStateQuery)).outcomesApplied, n);
      const row = await until(async () => {
        const r = (await hs.api('/webhooks/busy', { key: hs.keys.live })).body;
        return r.consecutive_failed_count === n ? r : undefined;
      });
      assert.equal(row.status, 'enabled');
      // A repeated report (same job, series, attempt) is not counted twice; a new one is.
      const entity = client.workflow.getHandle(webhookWorkflowId(w.body.uuid));
      await entity.signal(attemptOutcomeSignal, { jobId: `j${n - 1}`, series: 0, attempt: 1, success: false });
      await entity.signal(attemptOutcomeSignal, { jobId: `j${n}`, series: 0, attempt: 1, success: false });
      const after = await until(async () => {
        const s = await entity.query(webhookStateQuery);
        return s.outcomesApplied === n + 1 ? s : undefined;
      });
      assert.equal(after.consecutiveFailedCount, n + 1);
    } finally {
      await client.connection.close();
      await hs.close();
    }
  });

  it('enable and disable answer while outcomes stream in and the entity keeps handing over (continue-as-new)', async () => {
    const hs = await startTestHookshot();
    const client = await createTemporalClient(hs.temporalAddress, 'default');
    try {
      const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'busy', url: 'https://example.invalid/' } });
      let stop = false;
      // Outcomes keep arriving, so hand-overs race with signals (the server then fails the entity's task once).
      const noise = (async () => {
        for (let i = 0; !stop; i++) {
          await client.workflow
            .getHandle(webhookWorkflowId(w.body.uuid))
            .signal(attemptOutcomeSignal, { jobId: `j${i}`, series: 0, attempt: 1, success: i % 3 === 0 })
            .catch(() => undefined);
        }
      })();
      const failures: string[] = [];
      for (let i = 0; i < 100; i++) {
        const action = i % 2 ? 'enable' : 'disable';
        const r = await hs.api(`/webhooks/busy/${action}`, { method: 'POST', key: hs.keys.live });
        if (r.status !== 200 || r.body.status !== (action === 'enable' ? 'enabled' : 'disabled'))
          failures.push(`#${i} ${action}: ${r.status} ${JSON.stringify(r.body)}`);
      }
      stop = true;
      await noise;
      assert.deepEqual(failures, []);
    } finally {
      await client.connection.close();
      await hs.close();
    }
  });
});
