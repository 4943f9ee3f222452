// The job workflow on a real dev server with activities written here: the
// ladder's shape, Retry-After, jitter, replay and wake during a wait, stops.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import type {
  DeliveryAttemptInput,
  DeliveryAttemptOutcome,
  FinishJobInput,
  JobWorkflowInput,
  RunJobInput,
  RunJobOutcome,
} from '../../../src/shared/contracts/job';
import { DATABASE_UNAVAILABLE, jobWorkflowId } from '../../../src/shared/names';
import { jobStateQuery, replayJobSignal, slotGrantedSignal, wakeJobSignal } from '../../../src/shared/workflowApi';
import { WORKFLOW_BUNDLE } from '../../../src/worker/worker';
import { SA_JOB_STATUS } from '../../../src/shared/searchAttributes';
import { createWorkflowEnv, withWorker } from '../../helpers/workflowEnv';
import { until } from '../../helpers/wait';

const fail = (statusCode = 500, extra: Partial<DeliveryAttemptOutcome> = {}): DeliveryAttemptOutcome => ({
  success: false,
  statusCode,
  errorCode: 'ERR::WEBHOOK::ENDPOINT_ERROR',
  retryAfterMs: null,
  stop: null,
  ...extra,
});
const ok: DeliveryAttemptOutcome = { success: true, statusCode: 200, errorCode: null, retryAfterMs: null, stop: null };

/**
 * Activities that record their calls; deliver() decides each attempt's
 * outcome. Like the real ones, an attempt is made once per (series, attempt)
 * and a repeat answers the recorded outcome: attempts run as local
 * activities, which run again when their workflow task's completion is
 * refused (a signal arrived as the workflow was about to finish).
 */
function fakeActivities(deliver: (i: DeliveryAttemptInput, n: number) => DeliveryAttemptOutcome, runJob?: () => Promise<RunJobOutcome>) {
  const calls = {
    deliver: [] as DeliveryAttemptInput[],
    finish: [] as FinishJobInput[],
    beginSeries: 0,
    captureFailures: [] as string[],
    runJob: [] as RunJobInput[],
  };
  let series = 0;
  const made = new Map<string, DeliveryAttemptOutcome>();
  const activities = {
    async runJob(i: RunJobInput): Promise<RunJobOutcome> {
      calls.runJob.push(i);
      return runJob ? runJob() : { queued: false, ok: true, errorCode: null, statusCode: 200, sizeBytes: 4 };
    },
    async deliverWebhook(i: DeliveryAttemptInput) {
      const key = `${i.series}/${i.attempt}`;
      if (made.has(key)) return made.get(key)!;
      calls.deliver.push(i);
      const outcome = deliver(i, calls.deliver.length);
      made.set(key, outcome);
      return outcome;
    },
    async finishJob(i: FinishJobInput) {
      calls.finish.push(i);
    },
    async recordCaptureFailure(i: { errorCode: string }) {
      calls.captureFailures.push(i.errorCode);
    },
    async acquireSlot() {
      return 'granted';
    },
    async beginSeries(i: { series?: number }) {
      calls.beginSeries++;
      return (series = i.series ?? series + 1);
    },
  };
  return { calls, activities };
}

const input = (o: Partial<JobWorkflowInput> = {}): JobWorkflowInput => ({
  jobId: randomUUID(),
  kind: 'scrape',
  webhookId: randomUUID(),
  mode: 'new',
  captureLocal: true,
  captureTimeoutMs: 30_000,
  slotRecheckMs: 60_000,
  deliver: true,
  retryScheduleMs: [10, 10],
  retryJitter: 0,
  deliveryTimeoutMs: 30_000,
  deliveryLocal: true,
  ...o,
});

/** The timer durations the workflow started, in order, from its history. */
async function timersOf(env: TestWorkflowEnvironment, workflowId: string): Promise<number[]> {
  const h = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return h
    .events!.filter((e) => e.timerStartedEventAttributes)
    .map((e) => {
      const d = e.timerStartedEventAttributes!.startToFireTimeout!;
      return Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6);
    });
}

describe('job workflow', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await createWorkflowEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  it('walks the default ladder scaled down: six waits of its shape, seven attempts, then MAX_RETRY', async () => {
    // 30s, 1m, 5m, 30m, 1h, 1d divided by 20,000.
    const ladder = [30_000, 60_000, 300_000, 1_800_000, 3_600_000, 86_400_000].map((ms) => Math.round(ms / 20_000));
    const { calls, activities } = fakeActivities(() => fail());
    const wf = input({ retryScheduleMs: ladder });
    const result = await withWorker(env, activities, (taskQueue) =>
      env.client.workflow.execute('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] }),
    );
    assert.deepEqual(result, { status: 'failed', attempts: 7 });
    assert.deepEqual(
      calls.deliver.map((d) => [d.series, d.attempt, d.willRetry, d.onFailure]),
      [
        [0, 1, true, 'retryScheduled'],
        [0, 2, true, 'retryScheduled'],
        [0, 3, true, 'retryScheduled'],
        [0, 4, true, 'retryScheduled'],
        [0, 5, true, 'retryScheduled'],
        [0, 6, true, 'retryScheduled'],
        [0, 7, false, null],
      ],
    );
    assert.deepEqual(await timersOf(env, jobWorkflowId(wf.jobId)), ladder);
    assert.equal(calls.finish.length, 1);
    assert.equal(calls.finish[0]!.transition, 'deliveryFailed');
    assert.equal(calls.finish[0]!.errorCode, 'ERR::WEBHOOK::MAX_RETRY');
    assert.match(calls.finish[0]!.errorMessage!, /failed 7 times/);
  });

  it("lengthens a wait to the receiver's Retry-After, and delivers on the next attempt", async () => {
    const { calls, activities } = fakeActivities((_i, n) => (n === 1 ? fail(503, { retryAfterMs: 400 }) : ok));
    const wf = input({ retryScheduleMs: [10] });
    const result = await withWorker(env, activities, (taskQueue) =>
      env.client.workflow.execute('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] }),
    );
    assert.deepEqual(result, { status: 'delivered', attempts: 2 });
    assert.deepEqual(await timersOf(env, jobWorkflowId(wf.jobId)), [400]);
    assert.equal(calls.finish[0]!.transition, 'delivered');
  });

  it('spreads the waits by the jitter, and the spread replays deterministically', async () => {
    const { activities } = fakeActivities(() => fail());
    const wf = input({ retryScheduleMs: [100, 100, 100, 100, 100, 100], retryJitter: 0.5 });
    await withWorker(env, activities, (taskQueue) =>
      env.client.workflow.execute('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] }),
    );
    const waits = await timersOf(env, jobWorkflowId(wf.jobId));
    assert.equal(waits.length, 6);
    for (const w of waits) assert.ok(w >= 50 && w <= 150, `wait ${w} within ±50% of 100`);
    assert.ok(new Set(waits).size > 1, `waits differ: ${waits.join(',')}`);
    // The same history replays: the random numbers come from the workflow's seeded generator.
    const history = await env.client.workflow.getHandle(jobWorkflowId(wf.jobId)).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, history);
  });

  it('a replay during a long wait starts a new series at once', async () => {
    const { calls, activities } = fakeActivities((i) => (i.series === 0 ? fail() : ok));
    const wf = input({ retryScheduleMs: [3_600_000] });
    const id = jobWorkflowId(wf.jobId);
    const result = await withWorker(env, activities, async (taskQueue) => {
      const handle = await env.client.workflow.start('jobWorkflow', { workflowId: id, taskQueue, args: [wf] });
      await until(async () => ((await handle.query(jobStateQuery)).status === 'retrying' ? true : undefined));
      const state = await handle.query(jobStateQuery);
      assert.equal(state.waitingMs, 3_600_000);
      await handle.signal(replayJobSignal, { replayId: 'r1' });
      // A repeat of the same replay request changes nothing.
      await handle.signal(replayJobSignal, { replayId: 'r1' });
      return handle.result();
    });
    assert.deepEqual(result, { status: 'delivered', attempts: 2 });
    assert.deepEqual(
      calls.deliver.map((d) => [d.series, d.attempt]),
      [
        [0, 1],
        [1, 1],
      ],
    );
  });

  it('a wake during a wait makes the next attempt now; a stop ends the series with its code', async () => {
    const { calls, activities } = fakeActivities((_i, n) =>
      n === 1 ? fail() : fail(0, { statusCode: null, errorCode: 'ERR::WEBHOOK::DISABLED', stop: 'ERR::WEBHOOK::DISABLED' }),
    );
    const wf = input({ retryScheduleMs: [3_600_000, 3_600_000] });
    const result = await withWorker(env, activities, async (taskQueue) => {
      const handle = await env.client.workflow.start('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] });
      await until(async () => ((await handle.query(jobStateQuery)).status === 'retrying' ? true : undefined));
      await handle.signal(wakeJobSignal);
      return handle.result();
    });
    assert.deepEqual(result, { status: 'failed', attempts: 2 });
    assert.equal(calls.finish[0]!.errorCode, 'ERR::WEBHOOK::DISABLED');
  });

  it('a failure that disabled the webhook ends the job as DISABLED without waiting', async () => {
    const { calls, activities } = fakeActivities(() => fail(500, { stop: 'ERR::WEBHOOK::DISABLED' }));
    const wf = input({ retryScheduleMs: [3_600_000] });
    const result = await withWorker(env, activities, (taskQueue) =>
      env.client.workflow.execute('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] }),
    );
    assert.deepEqual(result, { status: 'failed', attempts: 1 });
    assert.equal(calls.finish[0]!.errorCode, 'ERR::WEBHOOK::DISABLED');
    assert.deepEqual(await timersOf(env, jobWorkflowId(wf.jobId)), []);
  });

  it('a capture that cannot be made is recorded and still delivered as the error document', async () => {
    const { calls, activities } = fakeActivities(
      () => ok,
      async () => {
        throw ApplicationFailure.create({ message: 'no browser', nonRetryable: true });
      },
    );
    const wf = input({ kind: 'screenshot' });
    const result = await withWorker(env, activities, (taskQueue) =>
      env.client.workflow.execute('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] }),
    );
    assert.deepEqual(result, { status: 'delivered', attempts: 1 });
    assert.deepEqual(calls.captureFailures, ['ERR::SCREENSHOT::FAILED']);
  });

  it('a database outage longer than the capture attempts is waited out, not recorded as a failed capture', async () => {
    let tries = 0;
    const { calls, activities } = fakeActivities(
      () => ok,
      async () => {
        // Non-retryable here only to skip the attempts' backoff: the workflow sees what it sees after the last attempt.
        if (++tries <= 2)
          throw ApplicationFailure.create({ type: DATABASE_UNAVAILABLE, message: 'database unavailable: connect ECONNREFUSED', nonRetryable: true });
        return { queued: false, ok: true, errorCode: null, statusCode: 200, sizeBytes: 4 };
      },
    );
    const wf = input();
    const result = await withWorker(env, activities, (taskQueue) =>
      env.client.workflow.execute('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] }),
    );
    assert.deepEqual(result, { status: 'delivered', attempts: 1 });
    assert.equal(tries, 3);
    assert.deepEqual(calls.captureFailures, []);
  });

  it('a job whose row is gone fails at once instead of retrying', async () => {
    let tries = 0;
    const { calls, activities } = fakeActivities(
      () => ok,
      async () => {
        tries++;
        throw ApplicationFailure.create({ type: 'JobNotFound', message: 'job gone', nonRetryable: true });
      },
    );
    const wf = input();
    await assert.rejects(
      withWorker(env, activities, (taskQueue) =>
        env.client.workflow.execute('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] }),
      ),
      (err) => err instanceof WorkflowFailedError,
    );
    assert.equal(tries, 1);
    assert.equal(calls.deliver.length, 0);
  });

  it('waits in line as queued until a capture slot is granted, then runs', async () => {
    let asked = 0;
    const { calls, activities } = fakeActivities(
      () => ok,
      async () =>
        ++asked === 1
          ? { queued: true, ok: false, errorCode: null, statusCode: null, sizeBytes: 0 }
          : { queued: false, ok: true, errorCode: null, statusCode: 200, sizeBytes: 4 },
    );
    const wf = input({ slotRecheckMs: 3_600_000 });
    const result = await withWorker(env, activities, async (taskQueue) => {
      const handle = await env.client.workflow.start('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] });
      await until(async () => (asked === 1 ? true : undefined));
      assert.equal((await handle.query(jobStateQuery)).status, 'queued');
      assert.equal(calls.deliver.length, 0, 'nothing runs before the slot');
      await handle.signal(slotGrantedSignal);
      return handle.result();
    });
    assert.deepEqual(result, { status: 'delivered', attempts: 1 });
    assert.equal(asked, 2);
  });

  it('a browser capture takes its slot first and shows as running in the Web UI while it captures', async () => {
    let slotAsked = 0;
    let release!: () => void;
    const capturing = new Promise<void>((r) => (release = r));
    let started = false;
    const { activities } = fakeActivities(
      () => ok,
      async () => {
        started = true;
        await capturing;
        return { queued: false, ok: true, errorCode: null, statusCode: 200, sizeBytes: 4 };
      },
    );
    const acts = { ...activities, acquireSlot: async () => (++slotAsked === 1 ? 'queued' : 'granted') };
    const wf = input({ kind: 'screenshot', captureLocal: false, slotRecheckMs: 3_600_000 });
    const result = await withWorker(env, acts, async (taskQueue) => {
      const handle = await env.client.workflow.start('jobWorkflow', {
        workflowId: jobWorkflowId(wf.jobId),
        taskQueue,
        args: [wf],
        typedSearchAttributes: [{ key: SA_JOB_STATUS, value: 'queued' }],
      });
      await until(async () => (slotAsked === 1 ? true : undefined));
      assert.equal(started, false, 'no capture before the slot');
      await handle.signal(slotGrantedSignal);
      await until(async () => (started ? true : undefined));
      const status = await until(async () => {
        const d = await handle.describe();
        return d.searchAttributes.JobStatus?.[0] === 'running' ? 'running' : undefined;
      });
      assert.equal(status, 'running');
      release();
      return handle.result();
    });
    assert.deepEqual(result, { status: 'delivered', attempts: 1 });
  });

  it('asks again after the recheck interval when a wake-up signal was lost', async () => {
    let asked = 0;
    const { activities } = fakeActivities(
      () => ok,
      async () =>
        ++asked < 3
          ? { queued: true, ok: false, errorCode: null, statusCode: null, sizeBytes: 0 }
          : { queued: false, ok: true, errorCode: null, statusCode: 200, sizeBytes: 4 },
    );
    const wf = input({ slotRecheckMs: 50 });
    const result = await withWorker(env, activities, (taskQueue) =>
      env.client.workflow.execute('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] }),
    );
    assert.deepEqual(result, { status: 'delivered', attempts: 1 });
    assert.equal(asked, 3);
  });

  it('a synchronous job ends as done without delivering', async () => {
    const { calls, activities } = fakeActivities(() => ok);
    const wf = input({ deliver: false, webhookId: null });
    const result = await withWorker(env, activities, (taskQueue) =>
      env.client.workflow.execute('jobWorkflow', { workflowId: jobWorkflowId(wf.jobId), taskQueue, args: [wf] }),
    );
    assert.deepEqual(result, { status: 'done', attempts: 0 });
    assert.equal(calls.deliver.length, 0);
    assert.equal(calls.finish[0]!.transition, 'completed');
    // A synchronous job's capture writes no step after it: it stays running until finishJob.
    assert.deepEqual(calls.runJob, [{ jobId: wf.jobId, afterCapture: null }]);
  });
});
