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
import { DATABASE_UNAVAILABLE } from '../src/shared/names';
import { announces, INITIAL_JOB_STATUS, nextJobStatus, type FinalJobTransition, type JobTransition } from '../src/shared/jobStatus';
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
    status: INITIAL_JOB_STATUS,
    series: 0,
    attempts: 0,
    maxAttempts: input.deliver ? maxAttempts : 0,
    waitingMs: null,
    lastErrorCode: null,
  };
  setHandler(jobStateQuery, () => state);
  // Every status change goes through the transition table (src/shared/jobStatus.ts);
  // the Web UI's JobStatus is written from the same step when the table says so.
  const browserCapture = !input.captureLocal;
  const move = (transition: JobTransition) => {
    state = { ...state, status: nextJobStatus(state.status, transition) };
    if (announces(transition, { browserCapture })) upsertSearchAttributes([{ key: SA_JOB_STATUS, value: state.status }]);
  };
  // The row's status after the capture, which the capture activity writes.
  const afterCapture: 'captured' | null = input.deliver ? 'captured' : null;

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

  if (input.mode === 'replay') {
    // Started by signal-with-start after the job had closed: the result is stored already.
    state = { ...state, series: await local.beginSeries({ jobId: input.jobId }) };
    move('seriesBegun');
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
        move('slotGranted');
      }
      // A plain scrape takes its slot inside runJob (no extra round trip); it
      // is over in milliseconds, so it goes from queued straight to delivering.
      for (;;) {
        try {
          run = await capture.runJob({ jobId: input.jobId, afterCapture });
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
      move('captureStarted');
    } catch (err) {
      const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
      // The row is gone (deleted with its project): nothing to record or deliver.
      if (cause instanceof ApplicationFailure && cause.type === 'JobNotFound') throw cause;
      // The capture kept failing on the worker side (say, no browser): record
      // it, and a webhook still hears about it, so nothing stays pending.
      const errorCode = `ERR::${input.kind === 'screenshot' ? 'SCREENSHOT' : 'SCRAPE'}::FAILED`;
      const message = cause instanceof Error ? cause.message : String(cause);
      await local.recordCaptureFailure({
        jobId: input.jobId,
        errorCode,
        errorMessage: `the capture failed after retries: ${message}`,
        transition: afterCapture,
      });
      run = { queued: false, ok: false, errorCode, statusCode: null, sizeBytes: 0 };
    }
    if (!input.deliver) {
      const transition: FinalJobTransition = run.ok ? 'completed' : 'captureFailed';
      // runJob already stored the scrape's own error code and message.
      await local.finishJob({ jobId: input.jobId, transition, errorCode: null, errorMessage: null });
      move(transition);
      return { status: state.status, attempts: 0 };
    }
    // The capture activity wrote it to the row already (the slot is released:
    // a browser job shown as running in the Web UI is now delivering).
    move('captured');
  }

  let total = 0;
  for (;;) {
    const series = state.series;
    // A replay cuts a wait short and starts a fresh series; a wake (the
    // webhook was disabled) makes the next attempt now, which then stops.
    const { outcome, attempt } = await deliverWithLadder<DeliveryAttemptOutcome>({
      scheduleMs: input.retryScheduleMs,
      jitter: input.retryJitter,
      attempt: (attempt, willRetry) => {
        woken = false;
        return delivery.deliverWebhook({ jobId: input.jobId, series, attempt, willRetry, onFailure: willRetry ? 'retryScheduled' : null });
      },
      afterAttempt: (attempt, outcome) => {
        total++;
        state = { ...state, attempts: attempt, lastErrorCode: outcome.success ? null : (outcome.errorCode ?? `HTTP ${outcome.statusCode}`) };
      },
      onWait: (waitMs) => {
        state = { ...state, waitingMs: waitMs };
        move(waitMs !== null ? 'retryScheduled' : 'retryDue');
      },
      interrupt: () => replayPending || woken,
      abandon: () => replayPending,
    });

    if (replayPending) {
      replayPending = false;
      state = { ...state, series: await local.beginSeries({ jobId: input.jobId, series: state.series + 1 }), attempts: 0 };
      move('seriesBegun');
      continue;
    }
    const ok = outcome?.success === true;
    const transition: FinalJobTransition = ok ? 'delivered' : 'deliveryFailed';
    const stopped = outcome?.stop ?? null;
    const errorCode = ok ? null : (stopped ?? MAX_RETRY);
    await local.finishJob({
      jobId: input.jobId,
      transition,
      errorCode,
      errorMessage: ok
        ? null
        : stopped
          ? `delivery stopped: ${errorCode}`
          : `delivery failed ${attempt} times; last error: ${outcome?.errorCode ?? `HTTP ${outcome?.statusCode}`}`,
    });
    move(transition);
    // A replay that raced the finish still gets its series.
    if (replayPending) {
      replayPending = false;
      state = { ...state, series: await local.beginSeries({ jobId: input.jobId, series: state.series + 1 }), attempts: 0 };
      move('seriesBegun');
      continue;
    }
    return { status: state.status, attempts: total };
  }
}
