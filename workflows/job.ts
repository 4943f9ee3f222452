import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { JobActivities } from '../activities/job';
import type { DeliveryAttemptOutcome, JobWorkflowInput, JobWorkflowResult, RunJobOutcome } from '../src/shared/contracts/job';
import { DATABASE_UNAVAILABLE, type JobStatus } from '../src/shared/names';
import { SA_JOB_STATUS } from '../src/shared/searchAttributes';
import { deliverWithLadder } from './ladder';
import { jobStateQuery, replayJobSignal, slotGrantedSignal, wakeJobSignal, type JobState } from '../src/shared/workflowApi';

const MAX_RETRY = 'ERR::WEBHOOK::MAX_RETRY';
// Worker-side faults (a worker killed, no browser) are retried this often
// before the job records the failure, so nothing retries forever. A database
// outage is not counted: the capture is called again until it is over.
const CAPTURE_ATTEMPTS = 5;
const retry = { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 } as const;

/**
 * One job: run the capture (the activity stores the result in PostgreSQL and
 * returns a summary), then deliver it, sleeping the retry ladder between
 * failed attempts. An HTTP failure is a returned outcome, never an activity
 * retry: Temporal retries an activity only when the worker or the database
 * failed, which repeats the attempt (at-least-once). The delivery activity
 * reports each outcome to the webhook's entity workflow and learns whether
 * the webhook is still enabled. A replay signal starts a new attempt series,
 * at once if the job is waiting on the ladder.
 */
export async function jobWorkflow(input: JobWorkflowInput): Promise<JobWorkflowResult> {
  // One short database write each: local activities spare a server round trip.
  const local = proxyLocalActivities<JobActivities>({ startToCloseTimeout: '30 seconds', retry });
  // The HTTP limit plus room to load the job, record the attempt and report it.
  const deliveryTimeout = input.deliveryTimeoutMs + 30_000;
  // An attempt is one HTTP request and a few queries: as a local activity it
  // runs inside the workflow task that asked for it, with no activity task
  // through the server (three history events and a matching round trip
  // fewer), so a job that delivers at once is one workflow task in all. A
  // worker that dies mid-attempt is noticed by that task's timeout (10 s),
  // as the activity's heartbeat timeout did, and the attempt runs again
  // (at-least-once, as before). A long attempt keeps the task alive with
  // the SDK's task heartbeats.
  const delivery = input.deliveryLocal
    ? proxyLocalActivities<JobActivities>({ startToCloseTimeout: deliveryTimeout, retry })
    : proxyActivities<JobActivities>({ startToCloseTimeout: deliveryTimeout, heartbeatTimeout: '10s', retry });
  const captureTimeout = input.captureTimeoutMs + 30_000;
  const capture = input.captureLocal
    ? proxyLocalActivities<JobActivities>({
        startToCloseTimeout: captureTimeout,
        retry: { ...retry, maximumAttempts: CAPTURE_ATTEMPTS, nonRetryableErrorTypes: ['JobNotFound'] },
      })
    : proxyActivities<JobActivities>({
        // Browser work heartbeats: a dead worker is noticed in seconds.
        startToCloseTimeout: captureTimeout,
        heartbeatTimeout: '30s',
        retry: { ...retry, maximumAttempts: CAPTURE_ATTEMPTS, nonRetryableErrorTypes: ['JobNotFound'] },
      });

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
  // The database row has every status; the search attribute only the ones
  // worth filtering on in the Web UI (queued, retrying and the final ones),
  // one visibility write fewer per transition.
  const setStatus = (status: JobStatus, searchable: boolean) => {
    state = { ...state, status };
    if (searchable) upsertSearchAttributes([{ key: SA_JOB_STATUS, value: status }]);
  };

  const seenReplays = new Set<string>();
  let replayPending = false;
  let woken = false;
  setHandler(replayJobSignal, ({ replayId }) => {
    if (seenReplays.has(replayId)) return;
    seenReplays.add(replayId);
    replayPending = true;
  });
  setHandler(wakeJobSignal, () => {
    woken = true;
  });
  let slotGranted = false;
  setHandler(slotGrantedSignal, () => {
    slotGranted = true;
  });

  // Set when the Web UI was told the job is running (browser captures).
  let runningShown = false;
  if (input.mode === 'replay') {
    // Started by signal-with-start after the job had closed: the result is stored already.
    state = { ...state, series: await local.beginSeries({ jobId: input.jobId }) };
    replayPending = false;
  } else {
    // While the project's capture slots are all taken the job waits in line
    // (status queued) until a slot is granted; the recheck covers a lost signal.
    const waitForSlot = async () => {
      await condition(() => slotGranted, input.slotRecheckMs);
      slotGranted = false;
    };
    let run: RunJobOutcome;
    try {
      if (!input.captureLocal) {
        // Browser captures take seconds: the slot first, so the Web UI can
        // show the job running (JobStatus) while it captures.
        while ((await local.acquireSlot({ jobId: input.jobId })) !== 'granted') await waitForSlot();
        setStatus('running', true);
        runningShown = true;
      }
      // A plain scrape takes its slot inside runJob (no extra round trip); it
      // is over in milliseconds, so it goes from queued straight to delivering.
      for (;;) {
        try {
          run = await capture.runJob({ jobId: input.jobId });
        } catch (err) {
          // The database was away through all of the capture's attempts: an
          // outage to wait out (each call retries with backoff), not a capture
          // that failed.
          const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
          if (cause instanceof ApplicationFailure && cause.type === DATABASE_UNAVAILABLE) continue;
          throw err;
        }
        if (!run.queued) break;
        await waitForSlot();
      }
      state = { ...state, status: 'running' };
    } catch (err) {
      const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
      // The row is gone (deleted with its project): nothing to record or deliver.
      if (cause instanceof ApplicationFailure && cause.type === 'JobNotFound') throw cause;
      // The capture kept failing on the worker side (say, no browser): record
      // it, and a webhook still hears about it, so nothing stays pending.
      const errorCode = `ERR::${input.kind === 'screenshot' ? 'SCREENSHOT' : 'SCRAPE'}::FAILED`;
      const message = cause instanceof Error ? cause.message : String(cause);
      await local.recordCaptureFailure({ jobId: input.jobId, errorCode, errorMessage: `the capture failed after retries: ${message}` });
      run = { queued: false, ok: false, errorCode, statusCode: null, sizeBytes: 0 };
    }
    if (!input.deliver) {
      const status: JobStatus = run.ok ? 'done' : 'failed';
      // runJob already stored the scrape's own error code and message.
      await local.finishJob({ jobId: input.jobId, status, errorCode: null, errorMessage: null });
      setStatus(status, true);
      return { status, attempts: 0 };
    }
  }

  // A job shown as running in the Web UI no longer holds its slot: say so.
  if (runningShown) setStatus('delivering', true);
  let total = 0;
  for (;;) {
    state = { ...state, status: 'delivering' };
    const series = state.series;
    // A replay cuts a wait short and starts a fresh series; a wake (the
    // webhook was disabled) makes the next attempt now, which then stops.
    const { outcome, attempt } = await deliverWithLadder<DeliveryAttemptOutcome>({
      scheduleMs: input.retryScheduleMs,
      jitter: input.retryJitter,
      attempt: (attempt, willRetry) => {
        woken = false;
        return delivery.deliverWebhook({ jobId: input.jobId, series, attempt, willRetry });
      },
      afterAttempt: (attempt, outcome) => {
        total++;
        state = { ...state, attempts: attempt, lastErrorCode: outcome.success ? null : (outcome.errorCode ?? `HTTP ${outcome.statusCode}`) };
      },
      onWait: (waitMs) => {
        state = { ...state, waitingMs: waitMs };
        if (waitMs !== null) setStatus('retrying', true);
        else state = { ...state, status: 'delivering' };
      },
      interrupt: () => replayPending || woken,
      abandon: () => replayPending,
    });

    if (replayPending) {
      replayPending = false;
      state = { ...state, series: await local.beginSeries({ jobId: input.jobId, series: state.series + 1 }), attempts: 0 };
      continue;
    }
    const ok = outcome?.success === true;
    const status: JobStatus = ok ? 'delivered' : 'failed';
    const stopped = outcome?.stop ?? null;
    const errorCode = ok ? null : (stopped ?? MAX_RETRY);
    await local.finishJob({
      jobId: input.jobId,
      status,
      errorCode,
      errorMessage: ok
        ? null
        : stopped
          ? `delivery stopped: ${errorCode}`
          : `delivery failed ${attempt} times; last error: ${outcome?.errorCode ?? `HTTP ${outcome?.statusCode}`}`,
    });
    setStatus(status, true);
    // A replay that raced the finish still gets its series.
    if (replayPending) {
      replayPending = false;
      state = { ...state, series: await local.beginSeries({ jobId: input.jobId, series: state.series + 1 }), attempts: 0 };
      continue;
    }
    return { status, attempts: total };
  }
}
