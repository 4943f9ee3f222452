// The crawl event activities on their own (MockActivityEnvironment): events
// stored in a fresh database, sent to a real HTTPS receiver on loopback
// (inline webhooks are HTTPS only) and checked by the independent Python
// verifier; the recording Temporal fake stands in for the retry workflow's start.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEventActivities, type EventActivities } from '../../activities/events';
import { canonicalUrl } from '../../src/crawl/urls';
import { withTransaction } from '../../src/db/pool';
import { getEventSecret } from '../../src/db/repositories/account';
import { createWebhook } from '../../src/db/repositories/webhooks';
import { insertCrawl, startCrawlEvents } from '../../src/db/repositories/crawls';
import { listEventAttempts } from '../../src/db/repositories/crawlEvents';
import type { CrawlEvent, Webhook } from '../../src/db/rows';
import type { EventAttemptInput, EventDeliverySettings } from '../../src/shared/contracts/crawl';
import { eventDeliveryWorkflowId, webhookWorkflowId } from '../../src/shared/names';
import { quietActivityEnv, runIn, startActivityHarness, type ActivityHarness } from '../helpers/activityHarness';
import { startHttpsReceiver } from '../helpers/httpsReceiver';
import { startReceiver, type Receiver, type Responder } from '../helpers/receiver';
import { verifyFirecrawlWithPython, verifyWithPython } from '../helpers/verify';

const SETTINGS: EventDeliverySettings = { retryScheduleMs: [1000, 5000], retryJitter: 0, deliveryTimeoutMs: 5000 };

describe('crawl event activities', () => {
  let h: ActivityHarness;
  let acts: EventActivities;
  const receivers: Receiver[] = [];
  before(async () => {
    h = await startActivityHarness();
    acts = createEventActivities(h.deps);
  });
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await h?.close();
  });

  const receiver = async (respond?: Responder) => {
    const r = await startHttpsReceiver(respond);
    receivers.push(r);
    return r;
  };
  /** A crawl whose inline webhook is `url`, with one stored `started` event; returns the event. */
  const storedEvent = async (url: string): Promise<CrawlEvent> => {
    const id = randomUUID();
    const start = 'http://127.0.0.1:9/';
    await withTransaction(h.database.pool, async (c) => {
      await insertCrawl(
        c,
        {
          id,
          project_id: h.project.id,
          env: 'live',
          kind: 'crawl',
          api_version: 2,
          url: start,
          options: {
            scope: {},
            formats: ['markdown'],
            onlyMainContent: false,
            ignoreRobotsTxt: true,
            sitemap: 'skip',
            ignoreQueryParameters: false,
            maxConcurrency: null,
            robotsUserAgent: null,
            headers: {},
            timeoutMs: null,
          },
          webhook: { url, headers: { 'x-custom': 'yes' }, metadata: { run: 'events' }, events: ['started', 'page', 'completed', 'failed'] },
          page_limit: 5,
          expires_at: new Date(Date.now() + 3600_000),
        },
        [{ url: start, canonical: canonicalUrl(start)!, depth: 0 }],
      );
    });
    // The crawl's own first step stores its `started` event.
    const seq = await startCrawlEvents(h.database.pool, id, []);
    const { rows } = await h.database.pool.query<CrawlEvent>('SELECT * FROM crawl_events WHERE crawl_id = $1 AND seq = $2', [id, seq]);
    return rows[0]!;
  };
  const eventRow = async (id: string) =>
    (
      await h.database.pool.query<{ first_done: boolean; delivery_status: string }>(
        'SELECT first_done, delivery_status FROM crawl_events WHERE id = $1',
        [id],
      )
    ).rows[0]!;
  const attempt = (eventId: string, o: Partial<EventAttemptInput> = {}): EventAttemptInput => ({
    eventId,
    series: 0,
    attempt: 1,
    willRetry: true,
    ...o,
  });

  it('lastEventSeq and listCrawlEvents read what is stored', async () => {
    const ev = await storedEvent('https://127.0.0.1:9/hook');
    const env = new MockActivityEnvironment();
    assert.equal(await runIn(env, acts.lastEventSeq, { crawlId: ev.crawl_id }), 0);
    assert.equal(await runIn(env, acts.lastEventSeq, { crawlId: randomUUID() }), -1);
    assert.deepEqual(await runIn(env, acts.listCrawlEvents, { crawlId: ev.crawl_id, fromSeq: 0, limit: 10 }), [
      { id: ev.id, seq: 0, event: 'crawl.started', first_done: false },
    ]);
  });

  it('deliverEvent sends the stored body, signed, records one attempt and settles the event as delivered', async () => {
    const r = await receiver();
    const ev = await storedEvent(`${r.url}/hook`);
    const metricsBefore = h.metrics.calls.length;
    const callsBefore = h.temporal.calls.length;
    const outcome = await runIn(new MockActivityEnvironment(), acts.deliverEvent, attempt(ev.id, { startRetries: SETTINGS }));
    assert.deepEqual(outcome, { success: true, statusCode: 200, errorCode: null, retryAfterMs: null });

    assert.equal(r.received.length, 1);
    const got = r.received[0]!;
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/hook');
    assert.equal(got.headers['x-custom'], 'yes');
    assert.deepEqual(got.body, ev.body, 'the stored bytes go out as they are');
    const secret = await getEventSecret(h.database.pool, h.project.id, 'live');
    const verdict = await verifyFirecrawlWithPython(secret, got.body, String(got.headers['x-firecrawl-signature']));
    assert.ok(verdict.ok, verdict.output);

    const attempts = await listEventAttempts(h.database.pool, ev.id);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.success, true);
    assert.equal(attempts[0]!.status_code, 200);
    assert.equal(attempts[0]!.url, `${r.url}/hook`);
    assert.deepEqual(await eventRow(ev.id), { first_done: true, delivery_status: 'delivered' });
    assert.deepEqual(
      h.metrics.calls.slice(metricsBefore).map((c) => c.kind === 'delivery' && c.outcome),
      ['success'],
    );
    assert.equal(h.temporal.calls.length, callsBefore, 'a delivered first attempt starts no retries');
  });

  it('a failing receiver answers a retryable outcome, and the first attempt hands the ladder to eventDeliveryWorkflow', async () => {
    const r = await receiver(() => ({ status: 503, headers: { 'retry-after': '7' }, body: 'busy' }));
    const ev = await storedEvent(`${r.url}/hook`);
    const callsBefore = h.temporal.calls.length;
    const outcome = await runIn(new MockActivityEnvironment(), acts.deliverEvent, attempt(ev.id, { startRetries: SETTINGS }));
    assert.deepEqual(outcome, { success: false, statusCode: 503, errorCode: 'ERR::WEBHOOK::ENDPOINT_ERROR', retryAfterMs: 7000 });
    assert.equal(r.received.length, 1);
    assert.deepEqual(h.temporal.calls.slice(callsBefore), [
      {
        kind: 'start',
        workflowType: 'eventDeliveryWorkflow',
        workflowId: eventDeliveryWorkflowId(ev.id),
        taskQueue: h.config.temporal.taskQueue,
        args: [{ eventId: ev.id, ...SETTINGS, failedAttempt: 1, retryAfterMs: 7000 }],
      },
    ]);
    const [a] = await listEventAttempts(h.database.pool, ev.id);
    assert.equal(a!.success, false);
    assert.equal(a!.status_code, 503);
    assert.equal(a!.error_code, 'ERR::WEBHOOK::ENDPOINT_ERROR');
    assert.deepEqual(await eventRow(ev.id), { first_done: true, delivery_status: 'pending' });
    const counted = h.metrics.calls.at(-1);
    assert.ok(counted?.kind === 'delivery' && counted.outcome === 'failure', 'a sent attempt that failed is counted as one');

    // The retried activity (its answer was lost): nothing is sent again, the
    // recorded outcome is answered, and a retry workflow already started is fine.
    h.temporal.fail = new WorkflowExecutionAlreadyStartedError('already started', eventDeliveryWorkflowId(ev.id), 'eventDeliveryWorkflow');
    try {
      const again = await runIn(new MockActivityEnvironment(), acts.deliverEvent, attempt(ev.id, { startRetries: SETTINGS }));
      assert.deepEqual(again, { success: false, statusCode: 503, errorCode: 'ERR::WEBHOOK::ENDPOINT_ERROR', retryAfterMs: null });
    } finally {
      h.temporal.fail = null;
    }
    assert.equal(r.received.length, 1, 'a recorded attempt is not sent twice');
    assert.equal((await listEventAttempts(h.database.pool, ev.id)).length, 1);
  });

  it('the last attempt of the ladder that fails settles the event as failed', async () => {
    const r = await receiver(() => ({ status: 500 }));
    const ev = await storedEvent(`${r.url}/hook`);
    const callsBefore = h.temporal.calls.length;
    const outcome = await runIn(new MockActivityEnvironment(), acts.deliverEvent, attempt(ev.id, { attempt: 3, willRetry: false }));
    assert.equal(outcome.success, false);
    assert.equal(outcome.statusCode, 500);
    assert.equal(h.temporal.calls.length, callsBefore);
    // Not the first attempt: first_done is the first attempt's to set.
    assert.deepEqual(await eventRow(ev.id), { first_done: false, delivery_status: 'failed' });
  });

  it('deliverEvent heartbeats while the receiver takes its time', async () => {
    const r = await receiver(() => ({ status: 200, delayMs: 1500 }));
    const ev = await storedEvent(`${r.url}/hook`);
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    assert.equal((await runIn(env, acts.deliverEvent, attempt(ev.id))).success, true);
    assert.ok(beats >= 1, `a 1.5 s attempt heartbeats every second (got ${beats})`);
  });

  it('an event that does not exist fails the activity for good', async () => {
    await assert.rejects(
      runIn(quietActivityEnv(), acts.deliverEvent, attempt(randomUUID())),
      (err: Error & { type?: string; nonRetryable?: boolean }) => {
        assert.equal(err.type, 'EventNotFound');
        assert.equal(err.nonRetryable, true);
        return true;
      },
    );
  });
});

describe('crawler event activities (a named webhook)', () => {
  let h: ActivityHarness;
  let acts: EventActivities;
  const receivers: Receiver[] = [];
  before(async () => {
    h = await startActivityHarness({ WEBHOOK_DISABLE_AFTER: '100' });
    acts = createEventActivities(h.deps);
  });
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await h?.close();
  });

  const receiver = async (respond?: Responder) => {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
  };
  const webhookFor = async (url: string) =>
    (await createWebhook(h.database.pool, { project_id: h.project.id, env: 'live', name: `hook-${randomUUID().slice(0, 8)}`, url }))!;
  /** A crawler naming `webhook`, with its stored crawler_started event. */
  const crawlerEvent = async (webhook: Webhook): Promise<CrawlEvent> => {
    const id = randomUUID();
    const start = 'http://127.0.0.1:9/';
    await withTransaction(h.database.pool, async (c) => {
      await insertCrawl(
        c,
        {
          id,
          project_id: h.project.id,
          env: 'live',
          kind: 'crawler',
          api_version: 0,
          url: start,
          options: {
            scope: {},
            formats: [],
            onlyMainContent: false,
            ignoreRobotsTxt: true,
            sitemap: 'skip',
            ignoreQueryParameters: false,
            maxConcurrency: null,
            robotsUserAgent: null,
            headers: {},
            timeoutMs: null,
            crawler: {
              formats: ['markdown'],
              events: ['crawler_started', 'crawler_finished'],
              discover: true,
              maxDurationMs: 60_000,
              delayMs: 0,
              renderingDelayMs: 0,
              ignoreNoFollow: false,
              seedUrl: start,
              projectName: h.project.name,
              apiBase: 'http://127.0.0.1:9',
            },
          },
          webhook: null,
          page_limit: 5,
          expires_at: new Date(Date.now() + 3600_000),
          webhook_id: webhook.id,
          webhook_name: webhook.name,
        },
        [{ url: start, canonical: canonicalUrl(start)!, depth: 0 }],
      );
    });
    const seq = await startCrawlEvents(h.database.pool, id, []);
    const { rows } = await h.database.pool.query<CrawlEvent>('SELECT * FROM crawl_events WHERE crawl_id = $1 AND seq = $2', [id, seq]);
    return rows[0]!;
  };
  const eventRow = async (id: string) =>
    (
      await h.database.pool.query<{ first_done: boolean; delivery_status: string }>(
        'SELECT first_done, delivery_status FROM crawl_events WHERE id = $1',
        [id],
      )
    ).rows[0]!;
  const first = (eventId: string): EventAttemptInput => ({ eventId, series: 0, attempt: 1, willRetry: true, startRetries: SETTINGS });
  const reports = (from: number) =>
    h.temporal.calls
      .slice(from)
      .filter((c) => c.kind === 'signalWithStart' && c.workflowType === 'webhookWorkflow')
      .map((c) => (c.kind === 'signalWithStart' ? { workflowId: c.workflowId, signal: c.signal, outcomes: c.signalArgs[0] } : null));

  it('sends with Scrapfly headers, records the attempt under the webhook, reports it to the entity, and hands the ladder over', async () => {
    const r = await receiver(() => ({ status: 500 }));
    const w = await webhookFor(`${r.url}/in`);
    const ev = await crawlerEvent(w);
    const from = h.temporal.calls.length;
    const outcome = await runIn(new MockActivityEnvironment(), acts.deliverEvent, first(ev.id));
    assert.deepEqual(outcome, { success: false, statusCode: 500, errorCode: 'ERR::WEBHOOK::ENDPOINT_ERROR', retryAfterMs: null, stop: null });
    assert.equal(r.received.length, 1);
    const got = r.received[0]!;
    assert.deepEqual(got.body, ev.body);
    assert.equal(got.headers['x-scrapfly-crawl-event-name'], 'crawler_started');
    assert.equal(got.headers['x-scrapfly-webhook-resource-type'], 'crawler');
    assert.equal(got.headers['x-scrapfly-webhook-job-id'], ev.crawl_id);
    assert.ok((await verifyWithPython(w.signing_secret, got.body, String(got.headers['x-scrapfly-webhook-signature']))).ok);

    const [a] = await listEventAttempts(h.database.pool, ev.id);
    assert.equal(a!.webhook_id, w.id);
    assert.deepEqual(await eventRow(ev.id), { first_done: true, delivery_status: 'pending' });
    const calls = h.temporal.calls.slice(from);
    assert.deepEqual(
      calls.filter((c) => c.kind === 'start').map((c) => c.kind === 'start' && c.workflowId),
      [eventDeliveryWorkflowId(ev.id)],
    );
    const key = { jobId: ev.id, series: 0, attempt: 1, success: false };
    assert.deepEqual(reports(from), [{ workflowId: webhookWorkflowId(w.id), signal: 'attemptOutcomes', outcomes: [key] }]);

    // A retry of the activity (its answer was lost): not sent again, the same outcome reported again (the entity drops the repeat).
    const again = h.temporal.calls.length;
    h.temporal.fail = null;
    const second = await runIn(new MockActivityEnvironment(), acts.deliverEvent, first(ev.id));
    assert.equal(second.success, false);
    assert.equal(r.received.length, 1, 'a recorded attempt is not sent twice');
    assert.deepEqual(reports(again), [{ workflowId: webhookWorkflowId(w.id), signal: 'attemptOutcomes', outcomes: [key] }]);
  });

  it('a disabled webhook: the attempt is recorded as DISABLED, nothing is sent or reported, the series stops', async () => {
    const r = await receiver();
    const w = await webhookFor(r.url);
    const ev = await crawlerEvent(w);
    await h.database.pool.query(`UPDATE webhooks SET status = 'disabled', disabled_reason = 'manual' WHERE id = $1`, [w.id]);
    const from = h.temporal.calls.length;
    const outcome = await runIn(new MockActivityEnvironment(), acts.deliverEvent, first(ev.id));
    assert.deepEqual(outcome, {
      success: false,
      statusCode: null,
      errorCode: 'ERR::WEBHOOK::DISABLED',
      retryAfterMs: null,
      stop: 'ERR::WEBHOOK::DISABLED',
    });
    assert.equal(r.received.length, 0);
    assert.deepEqual(h.temporal.calls.slice(from), [], 'no retries, no report');
    const [a] = await listEventAttempts(h.database.pool, ev.id);
    assert.equal(a!.error_code, 'ERR::WEBHOOK::DISABLED');
    assert.equal(a!.webhook_id, w.id);
    assert.deepEqual(await eventRow(ev.id), { first_done: true, delivery_status: 'failed' });
  });

  it('a webhook deleted since: NOT_FOUND, nothing sent', async () => {
    const r = await receiver();
    const w = await webhookFor(r.url);
    const ev = await crawlerEvent(w);
    await h.database.pool.query('DELETE FROM webhooks WHERE id = $1', [w.id]);
    const outcome = await runIn(new MockActivityEnvironment(), acts.deliverEvent, first(ev.id));
    assert.equal(outcome.stop, 'ERR::WEBHOOK::NOT_FOUND');
    assert.equal(r.received.length, 0);
    const [a] = await listEventAttempts(h.database.pool, ev.id);
    assert.equal(a!.error_code, 'ERR::WEBHOOK::NOT_FOUND');
    assert.deepEqual(await eventRow(ev.id), { first_done: true, delivery_status: 'failed' });
  });

  it('disabled while the first attempt was under way: its retry workflow is started and woken, so it ends at its next attempt', async () => {
    // The receiver answers once the disable is stored (as the entity would store it meanwhile).
    const target: { id?: string } = {};
    let received = 0;
    const server = http.createServer((req, res) => {
      received++;
      req.resume();
      void h.database.pool
        .query(`UPDATE webhooks SET status = 'disabled', disabled_reason = 'consecutive_failures' WHERE id = $1`, [target.id])
        .then(() => res.writeHead(500).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const w = await webhookFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    target.id = w.id;
    const ev = await crawlerEvent(w);
    const from = h.temporal.calls.length;
    const outcome = await runIn(new MockActivityEnvironment(), acts.deliverEvent, first(ev.id));
    assert.equal(outcome.stop, 'ERR::WEBHOOK::DISABLED');
    const calls = h.temporal.calls.slice(from).filter((c) => c.kind !== 'signalWithStart');
    assert.deepEqual(
      calls.map((c) => [c.kind, c.workflowId]),
      [
        ['start', eventDeliveryWorkflowId(ev.id)],
        ['signal', eventDeliveryWorkflowId(ev.id)],
      ],
    );
    assert.equal(reports(from).length, 1, 'the failure is counted');
    // The retry workflow settles the event: its woken attempt ends at the gate.
    assert.deepEqual(await eventRow(ev.id), { first_done: true, delivery_status: 'pending' });
    const next = await runIn(new MockActivityEnvironment(), acts.deliverEvent, { eventId: ev.id, series: 0, attempt: 2, willRetry: true });
    assert.equal(next.stop, 'ERR::WEBHOOK::DISABLED');
    assert.equal(received, 1, 'the woken attempt sent nothing');
    assert.deepEqual(await eventRow(ev.id), { first_done: true, delivery_status: 'failed' });
  });

  it('beginEventSeries owes the delivery again', async () => {
    const w = await webhookFor('http://127.0.0.1:9/');
    const ev = await crawlerEvent(w);
    await h.database.pool.query(`UPDATE crawl_events SET delivery_status = 'failed' WHERE id = $1`, [ev.id]);
    await runIn(new MockActivityEnvironment(), acts.beginEventSeries, { eventId: ev.id });
    assert.equal((await eventRow(ev.id)).delivery_status, 'pending');
  });
});
