// The job activities on their own (MockActivityEnvironment): plain scrapes
// of the loopback test site through the address-guarded client, real rows
// and capture slots in a fresh database, deliveries to a real loopback
// receiver checked by the independent Python verifier. The recording
// Temporal fake stands in for the webhook entity: its signal-with-start
// calls are the outcome batches the entity would get.
//
// Job status ownership is being reshaped (named transitions instead of raw
// statuses): the tests of recordCaptureFailure, finishJob and beginSeries
// sit together in the last describe block, marked for that change. The rest
// assert what stays: result rows, attempt rows, the requests received, the
// outcomes returned, and the status column after runJob and deliverWebhook.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createJobActivities, type JobActivities } from '../../activities/job';
import { getJob, getResult, insertJob, listAttempts } from '../../src/db/repositories/jobs';
import type { Job } from '../../src/db/rows';
import { createWebhook } from '../../src/db/repositories/webhooks';
import type { Webhook } from '../../src/db/rows';
import type { DeliveryAttemptInput } from '../../src/shared/contracts/job';
import { jobWorkflowId, webhookTaskQueue, webhookWorkflowId } from '../../src/shared/names';
import { attemptOutcomesSignal } from '../../src/shared/workflowApi';
import { quietActivityEnv, runIn, startActivityHarness, type ActivityHarness } from '../helpers/activityHarness';
import { startReceiver, type Receiver, type Responder } from '../helpers/receiver';
import { startTestSite } from '../helpers/site';
import { verifyWithPython } from '../helpers/verify';

const DISABLED = 'ERR::WEBHOOK::DISABLED';

describe('job activities', () => {
  let h: ActivityHarness;
  let acts: JobActivities;
  let site: Awaited<ReturnType<typeof startTestSite>>;
  const receivers: Receiver[] = [];
  before(async () => {
    h = await startActivityHarness();
    acts = createJobActivities(h.deps);
    site = await startTestSite();
  });
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await site?.close();
    await h?.close();
  });

  const receiver = async (respond?: Responder) => {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
  };
  const webhookTo = async (url: string): Promise<Webhook> =>
    (await createWebhook(h.database.pool, { project_id: h.project.id, env: 'live', name: `wh-${randomUUID().slice(0, 8)}`, url }))!;
  /** A scrape job of `url` (delivered to `webhook` when given), as the API stores it: queued, owing a delivery. */
  const scrapeJob = async (url: string, webhook?: Webhook): Promise<Job> => {
    const id = randomUUID();
    await insertJob(
      h.database.pool,
      {
        id,
        project_id: h.project.id,
        env: 'live',
        kind: 'scrape',
        webhook_id: webhook?.id ?? null,
        webhook_name: webhook?.name ?? null,
        params: { url, format: 'text' },
      },
      webhook ? 'pending' : null,
    );
    return (await getJob(h.database.pool, id))!;
  };
  const holds = async (holder: string) =>
    (
      await h.database.pool.query('SELECT 1 FROM capture_leases WHERE holder = $1 UNION ALL SELECT 1 FROM capture_waiters WHERE holder = $1', [
        holder,
      ])
    ).rowCount;
  /** The outcome batches signalled to the webhook's entity since call `from`. */
  const reported = (webhookId: string, from: number) =>
    h.temporal.calls.slice(from).flatMap((c) => {
      if (c.kind !== 'signalWithStart' || c.workflowId !== webhookWorkflowId(webhookId)) return [];
      assert.equal(c.workflowType, 'webhookWorkflow');
      assert.equal(c.taskQueue, webhookTaskQueue(h.config.temporal.taskQueue));
      assert.deepEqual(c.args, [{ webhookId, disableAfter: h.config.webhook.disableAfter }]);
      assert.equal(c.signal, attemptOutcomesSignal.name);
      return c.signalArgs;
    });
  const first = (jobId: string, o: Partial<DeliveryAttemptInput> = {}): DeliveryAttemptInput => ({
    jobId,
    series: 0,
    attempt: 1,
    willRetry: true,
    onFailure: 'retryScheduled',
    ...o,
  });

  describe('runJob', () => {
    it('captures the page, stores the result and reports ok; the job is delivering and its slot released', async () => {
      const w = await webhookTo('http://127.0.0.1:9/unused');
      const job = await scrapeJob(`${site.url}/static`, w);
      const outcome = await runIn(new MockActivityEnvironment(), acts.runJob, { jobId: job.id, afterCapture: job.webhook_id ? 'captured' : null });
      const result = (await getResult(h.database.pool, job.id))!;
      assert.ok(result, 'the result row is stored');
      assert.deepEqual(outcome, { queued: false, ok: true, errorCode: null, statusCode: 200, sizeBytes: result.size_bytes });
      assert.ok(result.size_bytes > 0);
      assert.equal(result.status_code, 200);
      assert.equal(result.final_url, `${site.url}/static`);
      assert.match(result.content ?? '', /Main Title/);
      const row = (await getJob(h.database.pool, job.id))!;
      assert.equal(row.status, 'delivering');
      assert.equal(row.error_code, null);
      assert.equal(await holds(jobWorkflowId(job.id)), 0);
    });

    it('reports a capture that failed: no result, the error on the row', async () => {
      const w = await webhookTo('http://127.0.0.1:9/unused');
      // Not in SCRAPE_ALLOWED_CIDRS: the address guard refuses it before any packet is sent.
      const job = await scrapeJob('http://10.255.255.1/', w);
      const outcome = await runIn(new MockActivityEnvironment(), acts.runJob, { jobId: job.id, afterCapture: job.webhook_id ? 'captured' : null });
      assert.deepEqual(outcome, { queued: false, ok: false, errorCode: 'ERR::SCRAPE::ADDRESS_REFUSED', statusCode: null, sizeBytes: 0 });
      assert.equal(await getResult(h.database.pool, job.id), null);
      const row = (await getJob(h.database.pool, job.id))!;
      assert.equal(row.status, 'delivering');
      assert.equal(row.error_code, 'ERR::SCRAPE::ADDRESS_REFUSED');
      assert.match(row.error_message ?? '', /address guard/);
    });

    it('answers queued, capturing nothing, while the project has no free slot; acquireSlot agrees', async () => {
      const job = await scrapeJob(`${site.url}/static`);
      // FREE allows one capture at a time: someone else holds it.
      assert.equal(await h.deps.slots.acquire(h.project, 'someone-else', false), 'granted');
      try {
        const hits = site.hits();
        const outcome = await runIn(new MockActivityEnvironment(), acts.runJob, { jobId: job.id, afterCapture: job.webhook_id ? 'captured' : null });
        assert.deepEqual(outcome, { queued: true, ok: false, errorCode: null, statusCode: null, sizeBytes: 0 });
        assert.equal(site.hits(), hits);
        assert.equal(await getResult(h.database.pool, job.id), null);
        assert.equal((await getJob(h.database.pool, job.id))!.status, 'queued');
        assert.equal(await holds(jobWorkflowId(job.id)), 1, 'the job waits in its project line');
        assert.equal(await runIn(new MockActivityEnvironment(), acts.acquireSlot, { jobId: job.id }), 'queued');
      } finally {
        await h.deps.slots.release(h.project, 'someone-else');
      }
      // The freed slot goes to the job in line, which is woken and then runs.
      assert.ok(h.temporal.calls.some((c) => c.kind === 'signal' && c.workflowId === jobWorkflowId(job.id)));
      assert.equal(
        (await runIn(new MockActivityEnvironment(), acts.runJob, { jobId: job.id, afterCapture: job.webhook_id ? 'captured' : null })).ok,
        true,
      );
      assert.equal((await getJob(h.database.pool, job.id))!.status, 'running', 'a job with no webhook stays running until it is finished');
    });

    it('heartbeats during a slow capture, and a cancellation ends it as cancelled with no result and the slot freed', async () => {
      const job = await scrapeJob(`${site.url}/slow`);
      const env = quietActivityEnv();
      let beats = 0;
      env.on('heartbeat', () => beats++);
      const running = runIn(env, acts.runJob, { jobId: job.id, afterCapture: job.webhook_id ? 'captured' : null });
      await new Promise((r) => setTimeout(r, 1500));
      env.cancel();
      await assert.rejects(running, (err) => err instanceof CancelledFailure);
      assert.ok(beats >= 1, `the capture heartbeats every second (got ${beats})`);
      assert.equal(await getResult(h.database.pool, job.id), null);
      assert.equal(await holds(jobWorkflowId(job.id)), 0);
    });

    it('a job that is gone fails the activity for good', async () => {
      await assert.rejects(
        runIn(quietActivityEnv(), acts.runJob, { jobId: randomUUID() }),
        (err: Error & { type?: string; nonRetryable?: boolean }) => {
          assert.equal(err.type, 'JobNotFound');
          assert.equal(err.nonRetryable, true);
          return true;
        },
      );
    });
  });

  describe('deliverWebhook', () => {
    /** A webhook job to the receiver whose capture has run, ready for delivery. */
    const captured = async (r: Receiver) => {
      const w = await webhookTo(`${r.url}/hook`);
      const job = await scrapeJob(`${site.url}/static`, w);
      assert.equal(
        (await runIn(new MockActivityEnvironment(), acts.runJob, { jobId: job.id, afterCapture: job.webhook_id ? 'captured' : null })).ok,
        true,
      );
      return { w, job };
    };

    it('sends a signed request, records one attempt, counts it and reports the outcome to the entity', async () => {
      const r = await receiver();
      const { w, job } = await captured(r);
      const from = h.temporal.calls.length;
      const metricsFrom = h.metrics.calls.length;
      const outcome = await runIn(new MockActivityEnvironment(), acts.deliverWebhook, first(job.id));
      assert.deepEqual(outcome, { success: true, statusCode: 200, errorCode: null, retryAfterMs: null, stop: null });

      assert.equal(r.received.length, 1);
      const got = r.received[0]!;
      assert.equal(got.method, 'POST');
      assert.equal(got.url, '/hook');
      const verdict = await verifyWithPython(w.signing_secret, got.body, String(got.headers['x-scrapfly-webhook-signature']));
      assert.ok(verdict.ok, verdict.output);
      assert.match(got.body.toString(), /Main Title/);

      const attempts = await listAttempts(h.database.pool, job.id);
      assert.equal(attempts.length, 1);
      assert.deepEqual(
        [attempts[0]!.series, attempts[0]!.attempt, attempts[0]!.success, attempts[0]!.status_code, attempts[0]!.url],
        [0, 1, true, 200, `${r.url}/hook`],
      );
      assert.deepEqual(reported(w.id, from), [[{ jobId: job.id, series: 0, attempt: 1, success: true }]]);
      assert.deepEqual(
        h.metrics.calls.slice(metricsFrom).map((c) => c.kind === 'delivery' && c.outcome),
        ['success'],
      );
      assert.equal((await getJob(h.database.pool, job.id))!.status, 'delivering', 'the workflow finishes the job, not the attempt');
    });

    it('a failing receiver: the failure is recorded, the job shows retrying, the entity hears of it', async () => {
      const r = await receiver(() => ({ status: 500, body: 'nope' }));
      const { w, job } = await captured(r);
      const from = h.temporal.calls.length;
      const outcome = await runIn(new MockActivityEnvironment(), acts.deliverWebhook, first(job.id));
      assert.deepEqual(outcome, { success: false, statusCode: 500, errorCode: 'ERR::WEBHOOK::ENDPOINT_ERROR', retryAfterMs: null, stop: null });
      const [a] = await listAttempts(h.database.pool, job.id);
      assert.equal(a!.success, false);
      assert.equal(a!.response_snippet, 'nope');
      assert.equal((await getJob(h.database.pool, job.id))!.status, 'retrying');
      assert.deepEqual(reported(w.id, from), [[{ jobId: job.id, series: 0, attempt: 1, success: false }]]);
    });

    it('a disabled webhook: nothing is sent, an unsent attempt is recorded, and the series stops', async () => {
      const r = await receiver();
      const { w, job } = await captured(r);
      await h.database.pool.query(`UPDATE webhooks SET status = 'disabled', disabled_reason = 'maintenance', disabled_at = now() WHERE id = $1`, [
        w.id,
      ]);
      const from = h.temporal.calls.length;
      const metricsFrom = h.metrics.calls.length;
      const outcome = await runIn(new MockActivityEnvironment(), acts.deliverWebhook, first(job.id));
      assert.deepEqual(outcome, { success: false, statusCode: null, errorCode: DISABLED, retryAfterMs: null, stop: DISABLED });
      assert.equal(r.received.length, 0);
      const attempts = await listAttempts(h.database.pool, job.id);
      assert.equal(attempts.length, 1);
      assert.deepEqual(
        [attempts[0]!.success, attempts[0]!.error_code, attempts[0]!.duration_ms, attempts[0]!.status_code],
        [false, DISABLED, 0, null],
      );
      assert.match(attempts[0]!.error_message ?? '', /is disabled \(maintenance\); nothing was sent/);
      assert.deepEqual(reported(w.id, from), [], 'an attempt that sent nothing is no outcome for the entity');
      assert.equal(h.metrics.calls.length, metricsFrom, 'nor a delivery to count');
    });

    it('a repeated attempt (same series and attempt already recorded) does not send twice, and reports the recorded outcome', async () => {
      const r = await receiver();
      const { w, job } = await captured(r);
      await runIn(new MockActivityEnvironment(), acts.deliverWebhook, first(job.id));
      // The report of the first try was lost (the entity did not take the signal): the activity retries.
      const from = h.temporal.calls.length;
      const again = await runIn(new MockActivityEnvironment({ attempt: 2 }), acts.deliverWebhook, first(job.id));
      assert.deepEqual(again, { success: true, statusCode: 200, errorCode: null, retryAfterMs: null, stop: null });
      assert.equal(r.received.length, 1);
      assert.equal((await listAttempts(h.database.pool, job.id)).length, 1);
      assert.deepEqual(reported(w.id, from), [[{ jobId: job.id, series: 0, attempt: 1, success: true }]]);
    });

    it('a report the entity does not take fails the attempt (it retries), after the attempt is recorded', async () => {
      const r = await receiver();
      const { job } = await captured(r);
      h.temporal.fail = new Error('temporal unavailable');
      try {
        await assert.rejects(runIn(quietActivityEnv(), acts.deliverWebhook, first(job.id)), /temporal unavailable/);
      } finally {
        h.temporal.fail = null;
      }
      assert.equal(r.received.length, 1);
      assert.equal((await listAttempts(h.database.pool, job.id)).length, 1);
    });

    it('heartbeats while the receiver takes its time', async () => {
      const r = await receiver(() => ({ status: 200, delayMs: 1500 }));
      const { job } = await captured(r);
      const env = new MockActivityEnvironment();
      let beats = 0;
      env.on('heartbeat', () => beats++);
      assert.equal((await runIn(env, acts.deliverWebhook, first(job.id))).success, true);
      assert.ok(beats >= 1, `a 1.5 s attempt heartbeats every second (got ${beats})`);
    });
  });

  // ---------------------------------------------------------------------------
  // The transitions the job workflow tells these activities to write
  // (src/shared/jobStatus.ts); calls without one come from workflows
  // scheduled before transitions were named and must write what they did.
  // ---------------------------------------------------------------------------
  describe('status transitions (recordCaptureFailure, finishJob, beginSeries)', () => {
    it('recordCaptureFailure stores why the capture failed with the step it is told: captured (delivery follows) or none', async () => {
      const w = await webhookTo('http://127.0.0.1:9/unused');
      const job = await scrapeJob(`${site.url}/static`, w);
      await runIn(new MockActivityEnvironment(), acts.recordCaptureFailure, {
        jobId: job.id,
        errorCode: 'ERR::SCRAPE::TIMEOUT',
        errorMessage: 'no answer within the timeout',
        transition: 'captured',
      });
      const row = (await getJob(h.database.pool, job.id))!;
      assert.deepEqual([row.status, row.error_code, row.error_message], ['delivering', 'ERR::SCRAPE::TIMEOUT', 'no answer within the timeout']);
      // A synchronous job: the error is stored, the status is left for finishJob.
      const sync = await scrapeJob(`${site.url}/static`);
      await runIn(new MockActivityEnvironment(), acts.recordCaptureFailure, {
        jobId: sync.id,
        errorCode: 'ERR::SCRAPE::FAILED',
        errorMessage: 'no browser',
        transition: null,
      });
      const syncRow = (await getJob(h.database.pool, sync.id))!;
      assert.deepEqual([syncRow.status, syncRow.error_code], ['queued', 'ERR::SCRAPE::FAILED']);
      // A job that is gone is nothing to record.
      await runIn(new MockActivityEnvironment(), acts.recordCaptureFailure, {
        jobId: randomUUID(),
        errorCode: 'x',
        errorMessage: 'y',
        transition: 'captured',
      });
    });

    it('finishJob writes the final transition with its delivery status and counts the job once per end', async () => {
      const w = await webhookTo('http://127.0.0.1:9/unused');
      const delivered = await scrapeJob(`${site.url}/static`, w);
      const failed = await scrapeJob(`${site.url}/static`, w);
      const plain = await scrapeJob(`${site.url}/static`);
      const from = h.metrics.calls.length;
      await runIn(new MockActivityEnvironment(), acts.finishJob, {
        jobId: delivered.id,
        transition: 'delivered',
        errorCode: null,
        errorMessage: null,
      });
      await runIn(new MockActivityEnvironment(), acts.finishJob, {
        jobId: failed.id,
        transition: 'deliveryFailed',
        errorCode: 'ERR::WEBHOOK::ENDPOINT_ERROR',
        errorMessage: 'HTTP 500',
      });
      await runIn(new MockActivityEnvironment(), acts.finishJob, { jobId: plain.id, transition: 'completed', errorCode: null, errorMessage: null });
      const rows = await Promise.all([delivered, failed, plain].map(async (j) => (await getJob(h.database.pool, j.id))!));
      assert.deepEqual(
        rows.map((r) => [r.status, r.delivery_status, r.error_code, r.completed_at instanceof Date]),
        [
          ['delivered', 'delivered', null, true],
          ['failed', 'failed', 'ERR::WEBHOOK::ENDPOINT_ERROR', true],
          ['done', null, null, true],
        ],
      );
      assert.deepEqual(h.metrics.calls.slice(from), [
        { kind: 'jobFinished', jobKind: 'scrape', status: 'delivered' },
        { kind: 'jobFinished', jobKind: 'scrape', status: 'failed' },
        { kind: 'jobFinished', jobKind: 'scrape', status: 'done' },
      ]);
    });

    it('calls scheduled before transitions were named write what they wrote then', async () => {
      const w = await webhookTo('http://127.0.0.1:9/unused');
      const hooked = await scrapeJob(`${site.url}/static`, w);
      const sync = await scrapeJob(`${site.url}/static`);
      const syncFailed = await scrapeJob(`${site.url}/static`);
      await runIn(new MockActivityEnvironment(), acts.runJob, { jobId: hooked.id });
      await runIn(new MockActivityEnvironment(), acts.runJob, { jobId: sync.id });
      assert.equal((await getJob(h.database.pool, hooked.id))!.status, 'delivering');
      assert.equal((await getJob(h.database.pool, sync.id))!.status, 'running');
      await runIn(new MockActivityEnvironment(), acts.finishJob, {
        jobId: hooked.id,
        status: 'failed',
        errorCode: 'ERR::WEBHOOK::MAX_RETRY',
        errorMessage: 'x',
      });
      await runIn(new MockActivityEnvironment(), acts.finishJob, { jobId: sync.id, status: 'done', errorCode: null, errorMessage: null });
      await runIn(new MockActivityEnvironment(), acts.finishJob, { jobId: syncFailed.id, status: 'failed', errorCode: null, errorMessage: null });
      const rows = await Promise.all([hooked, sync, syncFailed].map(async (j) => (await getJob(h.database.pool, j.id))!));
      assert.deepEqual(
        rows.map((r) => [r.status, r.delivery_status, r.error_code]),
        [
          ['failed', 'failed', 'ERR::WEBHOOK::MAX_RETRY'],
          ['done', null, null],
          ['failed', null, null],
        ],
      );
    });

    it('beginSeries makes the job pending again and numbers the series after the recorded attempts', async () => {
      const r = await receiver(() => ({ status: 500 }));
      const w = await webhookTo(`${r.url}/hook`);
      const job = await scrapeJob(`${site.url}/static`, w);
      await runIn(new MockActivityEnvironment(), acts.runJob, { jobId: job.id, afterCapture: 'captured' });
      await runIn(new MockActivityEnvironment(), acts.deliverWebhook, first(job.id, { willRetry: false, onFailure: null }));
      await runIn(new MockActivityEnvironment(), acts.finishJob, {
        jobId: job.id,
        transition: 'deliveryFailed',
        errorCode: 'ERR::WEBHOOK::ENDPOINT_ERROR',
        errorMessage: 'HTTP 500',
      });
      assert.equal(await runIn(new MockActivityEnvironment(), acts.beginSeries, { jobId: job.id }), 1);
      const row = (await getJob(h.database.pool, job.id))!;
      assert.deepEqual([row.status, row.delivery_status, row.completed_at], ['delivering', 'pending', null]);
      // A repeat that names its series lands on it.
      assert.equal(await runIn(new MockActivityEnvironment(), acts.beginSeries, { jobId: job.id, series: 1 }), 1);
    });
  });
});
