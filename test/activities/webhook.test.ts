// The webhook entity's activities on their own (MockActivityEnvironment):
// real rows in a fresh database, a real loopback receiver for the alert URL,
// and the recording Temporal fake standing in for the fan-out's signals.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createWebhookActivities, type WebhookActivities } from '../../activities/webhook';
import { insertJob } from '../../src/db/repositories/jobs';
import { updateProject } from '../../src/db/repositories/projects';
import { createWebhook, getWebhookById } from '../../src/db/repositories/webhooks';
import type { Webhook } from '../../src/db/rows';
import type { WebhookEvent, WebhookFanoutInput } from '../../src/shared/contracts/webhook';
import { eventDeliveryWorkflowId, jobWorkflowId } from '../../src/shared/names';
import { replayJobSignal, wakeJobSignal, type WebhookEntityState } from '../../src/shared/workflowApi';
import { runIn, startActivityHarness, type ActivityHarness } from '../helpers/activityHarness';
import { startReceiver, type Receiver } from '../helpers/receiver';

describe('webhook entity activities', () => {
  let h: ActivityHarness;
  let acts: WebhookActivities;
  let alerts: Receiver;
  before(async () => {
    h = await startActivityHarness();
    acts = createWebhookActivities(h.deps);
    alerts = await startReceiver();
    await updateProject(h.database.pool, h.project.name, { alert_url: `${alerts.url}/alerts` });
  });
  after(async () => {
    await alerts?.close();
    await h?.close();
  });

  const webhook = async (name: string): Promise<Webhook> =>
    (await createWebhook(h.database.pool, { project_id: h.project.id, env: 'live', name, url: 'http://127.0.0.1:9/never' }))!;
  const state = (w: Pick<Webhook, 'id'>, s: Partial<WebhookEntityState>): WebhookEntityState => ({
    webhookId: w.id,
    status: 'enabled',
    disabledReason: null,
    consecutiveFailedCount: 0,
    disableAfter: 10,
    outcomesApplied: 0,
    replaysRequested: 0,
    ...s,
  });
  const notifications = async (w: Webhook) =>
    (
      await h.database.pool.query<{ kind: string; message: string; details: Record<string, unknown>; dedupe_key: string }>(
        'SELECT kind, message, details, dedupe_key FROM notifications WHERE webhook_id = $1 ORDER BY id',
        [w.id],
      )
    ).rows;

  it('loadWebhookState reads the stored state, and null for a webhook that is gone', async () => {
    const w = await webhook('load');
    await h.database.pool.query(`UPDATE webhooks SET consecutive_failed_count = 4 WHERE id = $1`, [w.id]);
    const env = new MockActivityEnvironment();
    assert.deepEqual(await runIn(env, acts.loadWebhookState, { webhookId: w.id }), {
      status: 'enabled',
      disabledReason: null,
      consecutiveFailedCount: 4,
    });
    assert.equal(await runIn(env, acts.loadWebhookState, { webhookId: randomUUID() }), null);
  });

  it('persistWebhookState stores a warning: the count, one notification, no alert, no disable counted', async () => {
    const w = await webhook('warned');
    const events: WebhookEvent[] = [{ kind: 'warning', threshold: 50, count: 5, seq: 1 }];
    const before = alerts.received.length;
    const gone = await runIn(new MockActivityEnvironment(), acts.persistWebhookState, { state: state(w, { consecutiveFailedCount: 5 }), events });
    assert.equal(gone, false);
    const row = (await getWebhookById(h.database.pool, w.id))!;
    assert.equal(row.status, 'enabled');
    assert.equal(row.consecutive_failed_count, 5);
    assert.equal(row.disabled_at, null);
    const n = await notifications(w);
    assert.equal(n.length, 1);
    assert.equal(n[0]!.kind, 'webhook.warning');
    assert.equal(n[0]!.message, 'webhook "warned" has failed 5 times in a row (50% of the disable threshold)');
    assert.deepEqual(n[0]!.details, { count: 5, threshold: 50, webhook_name: 'warned' });
    assert.equal(n[0]!.dedupe_key, `webhook:${w.id}:1`);
    assert.equal(alerts.received.length, before);
    assert.equal(h.metrics.calls.filter((c) => c.kind === 'webhookDisabled').length, 0);
  });

  it('persistWebhookState disables once: row, notification, alert POST and metric; a retry repeats none of them', async () => {
    const w = await webhook('flaky');
    const disabled = state(w, { status: 'disabled', disabledReason: 'consecutive_failures', consecutiveFailedCount: 10 });
    const events: WebhookEvent[] = [{ kind: 'disabled', threshold: 10, count: 10, seq: 2 }];
    const alertsBefore = alerts.received.length;
    const metricsBefore = h.metrics.calls.length;

    const env = new MockActivityEnvironment();
    assert.equal(await runIn(env, acts.persistWebhookState, { state: disabled, events }), false);
    const row = (await getWebhookById(h.database.pool, w.id))!;
    assert.equal(row.status, 'disabled');
    assert.equal(row.disabled_reason, 'consecutive_failures');
    assert.equal(row.consecutive_failed_count, 10);
    assert.ok(row.disabled_at instanceof Date, 'a disable stamps disabled_at');

    assert.equal(alerts.received.length, alertsBefore + 1);
    const alert = alerts.received.at(-1)!;
    assert.equal(alert.method, 'POST');
    assert.equal(alert.url, '/alerts');
    assert.equal(alert.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(alert.body.toString()), {
      event: 'webhook.disabled',
      project: h.project.name,
      env: 'live',
      webhook: 'flaky',
      reason: 'consecutive_failures',
      consecutive_failed_count: 10,
      message: 'webhook "flaky" was disabled after 10 consecutive failed deliveries',
    });
    assert.deepEqual(h.metrics.calls.slice(metricsBefore), [{ kind: 'webhookDisabled', reason: 'consecutive_failures' }]);

    // The activity retried (say its completion was lost): same state, same events.
    assert.equal(await runIn(new MockActivityEnvironment(), acts.persistWebhookState, { state: disabled, events }), false);
    assert.equal((await notifications(w)).length, 1);
    assert.equal(alerts.received.length, alertsBefore + 1, 'a retry must not alert twice');
    assert.equal(h.metrics.calls.length, metricsBefore + 1, 'a retry is not a second disable');
  });

  it('persistWebhookState counts a manual disable as manual and does not alert; enabling clears disabled_at', async () => {
    const w = await webhook('manual');
    const alertsBefore = alerts.received.length;
    const metricsBefore = h.metrics.calls.length;
    await runIn(new MockActivityEnvironment(), acts.persistWebhookState, {
      state: state(w, { status: 'disabled', disabledReason: 'maintenance' }),
      events: [{ kind: 'disabled_manually', threshold: 10, count: 0, seq: 1 }],
    });
    assert.equal((await getWebhookById(h.database.pool, w.id))!.status, 'disabled');
    assert.deepEqual(h.metrics.calls.slice(metricsBefore), [{ kind: 'webhookDisabled', reason: 'manual' }]);
    assert.equal(alerts.received.length, alertsBefore);

    await runIn(new MockActivityEnvironment(), acts.persistWebhookState, {
      state: state(w, {}),
      events: [{ kind: 'enabled', threshold: 10, count: 0, seq: 2 }],
    });
    const row = (await getWebhookById(h.database.pool, w.id))!;
    assert.equal(row.status, 'enabled');
    assert.equal(row.disabled_at, null);
    assert.deepEqual(
      (await notifications(w)).map((n) => n.message),
      ['webhook "manual" was disabled', 'webhook "manual" was enabled; its failure count is reset'],
    );
  });

  it('persistWebhookState answers true for a webhook that was deleted, and stores no notification', async () => {
    const id = randomUUID();
    const gone = await runIn(new MockActivityEnvironment(), acts.persistWebhookState, {
      state: state({ id }, {}),
      events: [{ kind: 'warning', threshold: 50, count: 5, seq: 1 }],
    });
    assert.equal(gone, true);
    assert.equal((await h.database.pool.query('SELECT 1 FROM notifications WHERE dedupe_key = $1', [`webhook:${id}:1`])).rowCount, 0);
  });

  describe('signalWebhookJobs (the fan-out child)', () => {
    /** `n` jobs of the webhook, in the given delivery state, sorted by id as the fan-out pages them. */
    const jobsOf = async (w: Webhook, n: number, status: 'failed' | 'retrying' | 'delivered'): Promise<string[]> => {
      const ids = Array.from({ length: n }, () => randomUUID()).sort();
      for (const id of ids) {
        await insertJob(
          h.database.pool,
          {
            id,
            project_id: h.project.id,
            env: 'live',
            kind: 'scrape',
            webhook_id: w.id,
            webhook_name: w.name,
            params: { url: 'http://127.0.0.1:9/' },
          },
          'pending',
        );
      }
      const delivery = status === 'retrying' ? 'pending' : status;
      await h.database.pool.query('UPDATE jobs SET status = $2, delivery_status = $3 WHERE id = ANY($1)', [ids, status, delivery]);
      return ids;
    };

    it('replay: one signal-with-start per failed job, page by page, with the cursor heartbeated', async () => {
      const w = await webhook('replayed');
      const failed = await jobsOf(w, 150, 'failed');
      await jobsOf(w, 3, 'delivered');
      const env = new MockActivityEnvironment();
      const beats: unknown[] = [];
      env.on('heartbeat', (d: unknown) => beats.push(d));
      const from = h.temporal.calls.length;
      const n = await runIn(env, acts.signalWebhookJobs, { webhookId: w.id, action: 'replay', requestId: 'req-1', since: null });
      assert.equal(n, 150);
      const calls = h.temporal.calls.slice(from);
      assert.equal(calls.length, 150);
      assert.deepEqual(new Set(calls.map((c) => c.workflowId)), new Set(failed.map(jobWorkflowId)));
      for (const c of calls) {
        assert.equal(c.kind, 'signalWithStart');
        if (c.kind !== 'signalWithStart') continue;
        assert.equal(c.workflowType, 'jobWorkflow');
        assert.equal(c.signal, replayJobSignal.name);
        assert.deepEqual(c.signalArgs, [{ replayId: 'req-1' }]);
        assert.equal(c.taskQueue, h.config.temporal.taskQueue);
      }
      // A page of 100, then the last 50: the cursor after each.
      assert.deepEqual(beats, [{ after: failed[99] }, { after: failed[149] }]);
    });

    it('replay resumes after the heartbeated cursor of an earlier try', async () => {
      const w = await webhook('resumed');
      const failed = await jobsOf(w, 5, 'failed');
      const env = new MockActivityEnvironment({ heartbeatDetails: { after: failed[1] } });
      const from = h.temporal.calls.length;
      assert.equal(await runIn(env, acts.signalWebhookJobs, { webhookId: w.id, action: 'replay', requestId: 'req-2', since: null }), 3);
      assert.deepEqual(
        h.temporal.calls.slice(from).map((c) => c.workflowId),
        failed.slice(2).map(jobWorkflowId),
      );
    });

    it('stop: wakes only the jobs waiting on the ladder, and a refused signal does not fail the fan-out', async () => {
      const w = await webhook('stopped');
      const waiting = await jobsOf(w, 3, 'retrying');
      await jobsOf(w, 2, 'failed');
      const from = h.temporal.calls.length;
      assert.equal(
        await runIn(new MockActivityEnvironment(), acts.signalWebhookJobs, { webhookId: w.id, action: 'stop', requestId: 'req-3', since: null }),
        3,
      );
      assert.deepEqual(
        h.temporal.calls.slice(from),
        waiting.map((id) => ({ kind: 'signal', workflowId: jobWorkflowId(id), signal: wakeJobSignal.name })),
      );

      // A job whose workflow already closed refuses the wake; the others still get theirs.
      h.temporal.fail = new Error('workflow execution already completed');
      try {
        assert.equal(
          await runIn(new MockActivityEnvironment(), acts.signalWebhookJobs, { webhookId: w.id, action: 'stop', requestId: 'req-4', since: null }),
          3,
        );
      } finally {
        h.temporal.fail = null;
      }
    });

    /**
     * A crawler naming `w`, with one event in each delivery state (sorted by
     * id as the fan-out pages them); a failed one has a series of attempts.
     */
    const crawlerEventsOf = async (w: Webhook, kind: 'crawler' | 'crawl' = 'crawler') => {
      const crawlId = randomUUID();
      await h.database.pool.query(
        `INSERT INTO crawls (id, project_id, env, kind, api_version, url, options, page_limit, expires_at, webhook_id, webhook_name)
         VALUES ($1, $2, 'live', $3, $4, 'http://127.0.0.1:9/', '{}', 5, now() + interval '1 hour', $5, $6)`,
        [crawlId, h.project.id, kind, kind === 'crawler' ? 0 : 2, w.id, w.name],
      );
      const states = { waiting: ['pending', true], unsent: ['pending', false], failed: ['failed', true], delivered: ['delivered', true] } as const;
      const ids: Record<keyof typeof states, string> = { waiting: '', unsent: '', failed: '', delivered: '' };
      let seq = 0;
      for (const [name, [status, firstDone]] of Object.entries(states) as Array<[keyof typeof states, (typeof states)[keyof typeof states]]>) {
        ids[name] = randomUUID();
        await h.database.pool.query(
          `INSERT INTO crawl_events (id, crawl_id, seq, event, body, first_done, delivery_status) VALUES ($1, $2, $3, 'crawler_url_visited', '\\x7b7d', $4, $5)`,
          [ids[name], crawlId, seq++, firstDone, status],
        );
      }
      await h.database.pool.query(
        `INSERT INTO delivery_attempts (event_id, webhook_id, series, attempt, started_at, duration_ms, url, success, request_headers)
         SELECT $1, $2, 0, n, now(), 1, 'http://127.0.0.1:9/', false, '{}' FROM generate_series(1, 3) n`,
        [ids.failed, w.id],
      );
      return ids;
    };

    it("stop: wakes the webhook's crawler events waiting on the ladder too, after its jobs", async () => {
      const w = await webhook('crawler-stopped');
      const waiting = await jobsOf(w, 2, 'retrying');
      const events = await crawlerEventsOf(w);
      await crawlerEventsOf(w, 'crawl'); // a Firecrawl crawl's events are not this webhook's
      const from = h.temporal.calls.length;
      const n = await runIn(new MockActivityEnvironment(), acts.signalWebhookJobs, {
        webhookId: w.id,
        action: 'stop',
        requestId: 'req-5',
        since: null,
      });
      assert.equal(n, 3);
      assert.deepEqual(h.temporal.calls.slice(from), [
        ...waiting.map((id) => ({ kind: 'signal', workflowId: jobWorkflowId(id), signal: wakeJobSignal.name })),
        { kind: 'signal', workflowId: eventDeliveryWorkflowId(events.waiting), signal: wakeJobSignal.name },
      ]);
    });

    it('replay: each failed crawler event of the webhook gets a new series from attempt 1; a retry resumes at the events cursor', async () => {
      const w = await webhook('crawler-replayed');
      const failedJobs = await jobsOf(w, 1, 'failed');
      const events = await crawlerEventsOf(w);
      const env = new MockActivityEnvironment();
      const beats: unknown[] = [];
      env.on('heartbeat', (d: unknown) => beats.push(d));
      const from = h.temporal.calls.length;
      assert.equal(await runIn(env, acts.signalWebhookJobs, { webhookId: w.id, action: 'replay', requestId: 'req-6', since: null }), 2);
      const calls = h.temporal.calls.slice(from);
      assert.deepEqual(
        calls.map((c) => c.workflowId),
        [jobWorkflowId(failedJobs[0]!), eventDeliveryWorkflowId(events.failed)],
      );
      assert.deepEqual(calls[1], {
        kind: 'start',
        workflowType: 'eventDeliveryWorkflow',
        workflowId: eventDeliveryWorkflowId(events.failed),
        taskQueue: h.config.temporal.taskQueue,
        args: [
          {
            eventId: events.failed,
            retryScheduleMs: h.config.webhook.retryScheduleMs,
            retryJitter: h.config.webhook.retryJitter,
            deliveryTimeoutMs: h.config.webhook.timeoutMs,
            failedAttempt: 0,
            retryAfterMs: null,
            series: 1,
          },
        ],
      });
      assert.deepEqual(beats, [{ after: failedJobs[0] }, { after: failedJobs[0], eventsAfter: events.failed }]);

      // A retry that had reached the events does not replay the jobs again.
      const again = h.temporal.calls.length;
      const resumed = new MockActivityEnvironment({ heartbeatDetails: { after: failedJobs[0], eventsAfter: events.failed } });
      assert.equal(await runIn(resumed, acts.signalWebhookJobs, { webhookId: w.id, action: 'replay', requestId: 'req-6', since: null }), 0);
      assert.equal(h.temporal.calls.length, again);
    });

    it('answers 0 for a webhook that is gone', async () => {
      const input: WebhookFanoutInput = { webhookId: randomUUID(), action: 'replay', requestId: 'r', since: null };
      assert.equal(await runIn(new MockActivityEnvironment(), acts.signalWebhookJobs, input), 0);
    });
  });
});
