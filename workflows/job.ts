import { proxyActivities, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { JobWorkflowInput } from '../src/shared/jobTypes';
import type { JobStatus } from '../src/shared/names';
import { SA_JOB_STATUS } from '../src/shared/searchAttributes';
import { jobStateQuery, type JobState } from '../src/shared/workflowApi';
import { nextDelayMs } from '../src/delivery/retrySchedule';

const MAX_RETRY = 'ERR::WEBHOOK::MAX_RETRY';

/**
 * One job: run the scrape (result stored in PostgreSQL by the activity), then
 * deliver it, sleeping the retry ladder between failed attempts. An HTTP
 * failure is a returned outcome, never an activity retry; Temporal retries an
 * activity only when the worker or the database failed, which repeats the
 * attempt (at-least-once).
 */
export async function jobWorkflow(input: JobWorkflowInput): Promise<{ status: JobStatus; attempts: number }> {
  const work = proxyActivities<Activities>({
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 },
  });
  const delivery = proxyActivities<Activities>({
    // The HTTP limit plus room to load the job and record the attempt.
    startToCloseTimeout: input.deliveryTimeoutMs + 15_000,
    retry: { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 },
  });

  const maxAttempts = input.retryScheduleMs.length + 1;
  let state: JobState = {
    status: 'queued',
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

  setStatus('running');
  const run = await work.runJob({ jobId: input.jobId });
  if (!input.deliver) {
    const status: JobStatus = run.ok ? 'done' : 'failed';
    // runJob already stored the scrape's own error code and message.
    await work.finishJob({ jobId: input.jobId, status, errorCode: null, errorMessage: null });
    setStatus(status);
    return { status, attempts: 0 };
  }

  setStatus('delivering');
  for (let attempt = 1; ; attempt++) {
    const outcome = await delivery.deliverWebhook({
      jobId: input.jobId,
      series: 0,
      attempt,
      willRetry: attempt < maxAttempts,
    });
    state = { ...state, attempts: attempt, lastErrorCode: outcome.success ? null : (outcome.errorCode ?? `HTTP ${outcome.statusCode}`) };
    if (outcome.success) {
      await work.finishJob({ jobId: input.jobId, status: 'delivered', errorCode: null, errorMessage: null });
      setStatus('delivered');
      return { status: 'delivered', attempts: attempt };
    }
    if (attempt >= maxAttempts) {
      await work.finishJob({
        jobId: input.jobId,
        status: 'failed',
        errorCode: MAX_RETRY,
        errorMessage: `delivery failed ${attempt} times; last error: ${outcome.errorCode ?? `HTTP ${outcome.statusCode}`}`,
      });
      setStatus('failed');
      return { status: 'failed', attempts: attempt };
    }
    const waitMs = nextDelayMs(input.retryScheduleMs, attempt, outcome.retryAfterMs);
    state = { ...state, waitingMs: waitMs };
    setStatus('retrying');
    await sleep(waitMs);
    state = { ...state, waitingMs: null };
    setStatus('delivering');
  }
}

