import {
  ActivityFailure,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliveryAttemptOutcome, JobWorkflowInput, RunJobOutcome } from '../src/shared/jobTypes';
import type { JobStatus } from '../src/shared/names';
import { webhookWorkflowId } from '../src/shared/names';
import { SA_JOB_STATUS } from '../src/shared/searchAttributes';
import {
  attemptOutcomeSignal,
  jobStateQuery,
  replayJobSignal,
  type AttemptOutcome,
  type JobState,
} from '../src/shared/workflowApi';
import { nextDelayMs } from '../src/shared/retrySchedule';

const MAX_RETRY = 'ERR::WEBHOOK::MAX_RETRY';

/**
 * One job: run the capture (result stored in PostgreSQL by the activity),
 * then deliver it, sleeping the retry ladder between failed attempts. An
 * HTTP failure is a returned outcome, never an activity retry; Temporal
 * retries an activity only when the worker or the database failed, which
 * repeats the attempt (at-least-once). Every outcome goes to the webhook's
 * entity workflow, the single writer of its failure count. A replay signal
 * starts a new attempt series, at once if the job is waiting on the ladder.
 */
export async function jobWorkflow(input: JobWorkflowInput): Promise<{ status: JobStatus; attempts: number }> {
  const work = proxyActivities<Activities>({
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 },
  });
  const delivery = proxyActivities<Activities>({
    // The HTTP limit plus room to load the job and record the attempt.
    startToCloseTimeout: input.deliveryTimeoutMs + 15_000,
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 },
  });

  // Patched: histories recorded before these changes replay the old way.
  // finishJob is one short database write: a local activity spares the
  // server a task round trip per job.
  const finishLocal = patched('finish-job-local');
  const finisher = finishLocal
    ? proxyLocalActivities<Activities>({
        startToCloseTimeout: '30 seconds',
        retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2 },
      })
    : work;

  const maxAttempts = input.retryScheduleMs.length + 1;
  let state: JobState = {
    status: 'queued',
    series: 0,
    attempts: 0,
    maxAttempts: input.deliver ? maxAttempts : 0,
    waitingMs: null,
    lastErrorCode: null,
  };
  setHandler(jobStateQuery, () => state);
  const setStatus = (status: JobStatus) => {
    state = { ...state, status };
    upsertSearchAttributes([{ key: SA_JOB_STATUS, value: status }]);
  };

  const seenReplays = new Set<string>();
  let replayPending = false;
  setHandler(replayJobSignal, ({ replayId }) => {
    if (seenReplays.has(replayId)) return;
    seenReplays.add(replayId);
    replayPending = true;
  });

  if (input.mode === 'replay') {
    // Started by signal-with-start after the job had closed: result is stored already.
    state = { ...state, series: await work.nextSeries({ jobId: input.jobId }) };
    replayPending = false;
  } else {
    // The database shows `running`; skipping the search attribute saves a
    // visibility write per job (the Web UI shows the workflow as running anyway).
    if (!patched('skip-running-search-attribute')) setStatus('running');
    else state = { ...state, status: 'running' };
    const capture = input.captureLocal
      ? proxyLocalActivities<Activities>({
          startToCloseTimeout: '5 minutes',
          retry: { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 },
        })
      : proxyActivities<Activities>({
          // Browser work heartbeats: a dead worker is noticed in seconds.
          startToCloseTimeout: '5 minutes',
          heartbeatTimeout: '30s',
          retry: { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2, maximumAttempts: 5 },
        });
    let run: RunJobOutcome;
    try {
      run = await capture.runJob({ jobId: input.jobId });
    } catch (err) {
      // The capture kept failing on the worker side (say, no browser). Before
      // this patch the workflow failed and left the job pending; now the job
      // records the failure and a webhook still hears about it.
      if (!patched('capture-failure-ends-job')) throw err;
      const errorCode = `ERR::${input.kind === 'screenshot' ? 'SCREENSHOT' : 'SCRAPE'}::FAILED`;
      const cause = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
      await finisher.recordCaptureFailure({ jobId: input.jobId, errorCode, errorMessage: `the capture failed after retries: ${cause}` });
      run = { ok: false, errorCode, statusCode: null, sizeBytes: 0 };
    }
    if (!input.deliver) {
      const status: JobStatus = run.ok ? 'done' : 'failed';
      // runJob already stored the scrape's own error code and message.
      await finisher.finishJob({ jobId: input.jobId, status, errorCode: null, errorMessage: null });
      setStatus(status);
      return { status, attempts: 0 };
    }
  }

  const report = async (o: AttemptOutcome) => {
    if (!input.webhookId) return;
    try {
      await getExternalWorkflowHandle(webhookWorkflowId(input.webhookId)).signal(attemptOutcomeSignal, o);
    } catch {
      // The entity is not running (first use, or terminated): start it with the outcome.
      await work.signalWebhookEntity({ webhookId: input.webhookId, disableAfter: input.disableAfter ?? 100, outcome: o });
    }
  };

  // The delivery activity signals the entity itself (one RPC instead of a
  // workflow command and a task round trip); the entity drops repeats.
  const reportFromActivity = input.webhookId ? patched('report-from-activity') : false;
  // Search attribute stays queued → retrying → delivered|failed; one visibility write fewer per job.
  const skipDelivering = patched('skip-delivering-search-attribute');
  const markDelivering = () => (skipDelivering ? (state = { ...state, status: 'delivering' }) : setStatus('delivering'));

  let total = 0;
  for (;;) {
    markDelivering();
    const series = state.series;
    let outcome: DeliveryAttemptOutcome | null = null;
    let attempt = 0;
    for (attempt = 1; attempt <= maxAttempts; attempt++) {
      outcome = await delivery.deliverWebhook({
        jobId: input.jobId,
        series,
        attempt,
        willRetry: attempt < maxAttempts,
        ...(reportFromActivity ? { report: { webhookId: input.webhookId!, disableAfter: input.disableAfter ?? 100 } } : {}),
      });
      total++;
      state = { ...state, attempts: attempt, lastErrorCode: outcome.success ? null : (outcome.errorCode ?? `HTTP ${outcome.statusCode}`) };
      if (outcome.stop) break;
      if (!reportFromActivity) await report({ jobId: input.jobId, series, attempt, success: outcome.success });
      if (outcome.success || attempt === maxAttempts) break;
      const waitMs = nextDelayMs(input.retryScheduleMs, attempt, outcome.retryAfterMs);
      state = { ...state, waitingMs: waitMs };
      setStatus('retrying');
      // A replay cuts the wait short and starts a fresh series.
      const replayed = await condition(() => replayPending, waitMs);
      state = { ...state, waitingMs: null };
      if (replayed) break;
      markDelivering();
    }

    if (replayPending) {
      replayPending = false;
      state = { ...state, series: state.series + 1, attempts: 0 };
      continue;
    }
    const ok = outcome?.success === true;
    const status: JobStatus = ok ? 'delivered' : 'failed';
    const errorCode = ok ? null : outcome?.stop ? outcome.errorCode : MAX_RETRY;
    await finisher.finishJob({
      jobId: input.jobId,
      status,
      errorCode,
      errorMessage: ok
        ? null
        : outcome?.stop
          ? `delivery stopped: ${outcome.errorCode}`
          : `delivery failed ${attempt} times; last error: ${outcome?.errorCode ?? `HTTP ${outcome?.statusCode}`}`,
    });
    setStatus(status);
    // A replay that raced the finish still gets its series.
    if (replayPending) continue;
    return { status, attempts: total };
  }
}
