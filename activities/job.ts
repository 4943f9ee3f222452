import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { runCapture } from '../src/capture/run';
import {
  beginDeliverySeries,
  getJob,
  getJobWithProject,
  loadAttemptContext,
  recordAttempt,
  saveResult,
  setJobError,
  sweepExpiredPayloads,
  transitionJob,
} from '../src/db/repositories/jobs';
import { getWebhookStatus } from '../src/db/repositories/webhooks';
import { isDatabaseUnavailable } from '../src/db/errors';
import { deliverOnce } from '../src/delivery/deliver';
import type {
  DeliveryAttemptInput,
  DeliveryAttemptOutcome,
  FinishJobInput,
  RecordCaptureFailureInput,
  RunJobInput,
  RunJobOutcome,
} from '../src/shared/contracts/job';
import { isFinalJobStatus, JOB_TRANSITIONS, type FinalJobTransition } from '../src/shared/jobStatus';
import { DATABASE_UNAVAILABLE, jobWorkflowId } from '../src/shared/names';
import { createEntityReporter } from '../src/temporal/outcomeReporter';
import type { ActivityDeps } from './deps';

const DISABLED = 'ERR::WEBHOOK::DISABLED';
// Attempts per payload retention sweep, on average.
const SWEEP_EVERY = 20;
const NOT_FOUND = 'ERR::WEBHOOK::NOT_FOUND';

/** A job row that is gone stays gone: retrying cannot help. */
const jobNotFound = (jobId: string) => ApplicationFailure.create({ type: 'JobNotFound', message: `job ${jobId} not found`, nonRetryable: true });

/**
 * The step after the capture for calls scheduled before the workflow named
 * it (in flight across an upgrade): what those workflows expected.
 */
const legacyAfterCapture = (job: { webhook_id: string | null }) => (job.webhook_id ? 'captured' : null);
const legacyFinal: Record<NonNullable<FinishJobInput['status']>, FinalJobTransition> = {
  delivered: 'delivered',
  done: 'completed',
  failed: 'deliveryFailed',
};

/** Activities of the job workflow: capture, delivery attempts, and the job row's status. */
export function createJobActivities(deps: ActivityDeps) {
  const { db, config, logger } = deps;

  /** Counts outcomes in the webhook's entity, starting the entity if it does not run. */
  const { report } = createEntityReporter(deps.temporal, { taskQueue: config.temporal.taskQueue, disableAfter: config.webhook.disableAfter });

  return {
    /** Takes the job's capture slot, or its place in line ('queued': the workflow waits for slotGranted). */
    async acquireSlot({ jobId }: { jobId: string }): Promise<'granted' | 'queued'> {
      const found = await getJobWithProject(db, jobId);
      if (!found) throw jobNotFound(jobId);
      return (await deps.slots.acquire(found.project, jobWorkflowId(jobId), true)) === 'granted' ? 'granted' : 'queued';
    },

    /**
     * Runs the job's capture while holding one of its project's capture
     * slots, and stores the result; returns a summary only. With no slot
     * free it joins the project's line and answers `queued`: the workflow
     * waits for the slotGranted signal and calls again.
     */
    async runJob(input: RunJobInput): Promise<RunJobOutcome> {
      const { jobId } = input;
      // A database outage is told apart from a failed capture, so the
      // workflow waits it out instead of spending the capture's few attempts
      // on it. Only errors outside the capture itself: a browser's may carry
      // a network code too.
      let capturing = false;
      try {
        const found = await getJobWithProject(db, jobId);
        if (!found) throw jobNotFound(jobId);
        const { job, project } = found;
        // Already finished by this very workflow: a local activity runs again
        // when its workflow task's completion is refused (a signal came in as
        // the job ended). Capturing again would move the row back to
        // delivering; the stored result stands and the job ends as before.
        if (isFinalJobStatus(job.status)) {
          return { queued: false, ok: job.status === 'done' || job.error_code === null, errorCode: null, statusCode: null, sizeBytes: 0 };
        }
        const holder = jobWorkflowId(jobId);
        if ((await deps.slots.acquire(project, holder, true)) !== 'granted') {
          return { queued: true, ok: false, errorCode: null, statusCode: null, sizeBytes: 0 };
        }
        try {
          await transitionJob(db, jobId, 'captureStarted');
          // Browser captures run as regular activities: heartbeats tell Temporal
          // the worker lives, and a cancellation closes the page.
          const ctx = Context.current();
          const beat = ctx.info.isLocal ? null : setInterval(() => heartbeat(), 1000);
          capturing = true;
          const outcome = await runCapture(job, {
            http: deps.scrapeHttp,
            browser: deps.browser,
            timeoutMs: config.scrape.timeoutMs,
            maxBytes: config.scrape.maxBytes,
            signal: ctx.cancellationSignal,
          }).finally(() => beat && clearInterval(beat));
          capturing = false;
          // A cancelled activity ends as cancelled, not as a failed capture.
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          if (outcome.result) await saveResult(db, outcome.result);
          const errors = { error_code: outcome.errorCode, error_message: outcome.errorMessage };
          const next = input.afterCapture === undefined ? legacyAfterCapture(job) : input.afterCapture;
          if (next) await transitionJob(db, jobId, next, errors);
          else await setJobError(db, jobId, errors);
          logger.info({ jobId, ok: outcome.errorCode === null, errorCode: outcome.errorCode }, 'job ran');
          return {
            queued: false,
            ok: outcome.errorCode === null,
            errorCode: outcome.errorCode,
            statusCode: outcome.result?.status_code ?? null,
            sizeBytes: outcome.result?.size_bytes ?? 0,
          };
        } finally {
          // The slot is held only around the capture. A release that fails is
          // not worth capturing again: the lease expires and is reclaimed.
          await deps.slots
            .release(project, holder)
            .catch((err) => logger.warn({ jobId, err: (err as Error).message }, 'capture slot not released; it expires'));
        }
      } catch (err) {
        if (capturing || !isDatabaseUnavailable(err)) throw err;
        throw ApplicationFailure.create({
          type: DATABASE_UNAVAILABLE,
          message: `database unavailable: ${(err as Error).message}`,
          cause: err as Error,
        });
      }
    },

    /**
     * One delivery attempt, as a pipeline: load (one query, which is also the
     * disable gate) → prepare and sign → send → record → report to the entity.
     */
    async deliverWebhook(input: DeliveryAttemptInput): Promise<DeliveryAttemptOutcome> {
      const ctx = await loadAttemptContext(db, input.jobId, input.series, input.attempt);
      if (!ctx) throw jobNotFound(input.jobId);
      const { job, webhook, prior } = ctx;
      const key = { jobId: job.id, series: input.series, attempt: input.attempt };
      const log = logger.child({ jobId: job.id, webhookId: job.webhook_id, webhook: job.webhook_name, series: input.series, attempt: input.attempt });

      // A retry of an attempt that was sent and recorded (only the report
      // failed) must not send again: report the recorded outcome.
      if (prior && prior.error_code !== DISABLED && prior.error_code !== NOT_FOUND && job.webhook_id) {
        await report(job.webhook_id, { ...key, success: prior.success });
        // The same stop the first run answered: a webhook disabled since ends the series.
        const stop = prior.success || !input.willRetry ? null : !webhook ? NOT_FOUND : webhook.status === 'disabled' ? DISABLED : null;
        return { success: prior.success, statusCode: prior.status_code, errorCode: prior.error_code, retryAfterMs: null, stop };
      }
      // Nothing is sent: the attempt is recorded and this series ends.
      const endSeries = async (code: typeof DISABLED | typeof NOT_FOUND, message: string): Promise<DeliveryAttemptOutcome> => {
        await recordAttempt(db, {
          ...key,
          job_id: job.id,
          webhook_id: webhook?.id ?? null,
          started_at: ctx.gateAt,
          duration_ms: 0,
          url: webhook?.url ?? '',
          final_url: null,
          success: false,
          status_code: null,
          error_code: code,
          error_message: message,
          request_headers: {},
          response_headers: null,
          response_snippet: null,
        });
        log.info({ errorCode: code }, message);
        return { success: false, statusCode: null, errorCode: code, retryAfterMs: null, stop: code };
      };
      if (!webhook) return endSeries(NOT_FOUND, `webhook "${job.webhook_name}" no longer exists`);
      if (webhook.status === 'disabled') {
        // Pending retries end here; a replay after re-enabling delivers them.
        return endSeries(DISABLED, `webhook "${webhook.name}" is disabled (${webhook.disabled_reason ?? 'manual'}); nothing was sent`);
      }

      // Heartbeats let Temporal notice a dead worker in seconds rather than
      // after the whole HTTP timeout, and hand the attempt to another worker.
      // (A local attempt has none: the workflow task's own timeout does that.)
      const beat = Context.current().info.isLocal ? undefined : setInterval(() => heartbeat(), 1000);
      const attempt = await deliverOnce({
        job,
        result: ctx.result,
        webhook,
        projectName: ctx.projectName,
        publicUrl: config.publicUrl,
        http: deps.webhookHttp,
        timeoutMs: config.webhook.timeoutMs,
        requireHttps: config.webhook.requireHttps,
        now: () => ctx.gateAt,
      }).finally(() => clearInterval(beat));
      const { outcome } = attempt;
      deps.metrics.delivery(outcome.success ? 'success' : 'failure', attempt.record.duration_ms);
      const onFailure = input.onFailure === undefined ? (input.willRetry ? 'retryScheduled' : null) : input.onFailure;
      const retrying = !outcome.success && onFailure !== null;
      await recordAttempt(db, { ...attempt.record, ...key }, retrying ? onFailure : null, {
        ...attempt.payload,
        maxBytes: config.delivery.payloadMaxBytes,
      });
      // Retention rides on the attempts themselves: no scheduler to run, and
      // a failed sweep must not fail (and so repeat) a delivery that was sent.
      // One attempt in SWEEP_EVERY sweeps (a bigger batch), so a flood of
      // attempts does not pay one more round trip each.
      if (Math.random() < 1 / SWEEP_EVERY) {
        await sweepExpiredPayloads(db, config.delivery.payloadRetentionMs, SWEEP_EVERY * 10).catch((err) =>
          log.warn({ err: (err as Error).message }, 'payload sweep failed; a later attempt sweeps'),
        );
      }
      log.info(
        { success: outcome.success, statusCode: outcome.statusCode, errorCode: outcome.errorCode },
        outcome.success ? 'delivered' : 'delivery attempt failed',
      );
      // Read after the job shows as retrying: a disable stored before this
      // read ends the series now; one stored after it wakes the job through
      // the entity's stop run (which lists retrying jobs). Either way no job
      // sleeps out its ladder on a disabled webhook.
      const now = retrying ? await getWebhookStatus(db, webhook.id) : 'enabled';
      await report(webhook.id, { ...key, success: outcome.success });
      const stop = now === 'enabled' ? null : now === null ? NOT_FOUND : DISABLED;
      return { ...outcome, stop };
    },

    /** Stores why the capture could not be made; delivery (if any) follows. */
    async recordCaptureFailure(input: RecordCaptureFailureInput): Promise<void> {
      const job = await getJob(db, input.jobId);
      if (!job) return;
      const errors = { error_code: input.errorCode, error_message: input.errorMessage };
      const next = input.transition === undefined ? legacyAfterCapture(job) : input.transition;
      if (next) await transitionJob(db, job.id, next, errors);
      else await setJobError(db, job.id, errors);
      logger.warn({ jobId: job.id, errorCode: input.errorCode }, input.errorMessage);
    },

    async finishJob(input: FinishJobInput): Promise<void> {
      const job = await getJob(db, input.jobId);
      if (!job) return;
      const transition = input.transition ?? (input.status === 'failed' && !job.webhook_id ? 'captureFailed' : legacyFinal[input.status ?? 'failed']);
      const status = JOB_TRANSITIONS[transition].to;
      // A failure's code is stored with it; a synchronous capture's own error is in the row already.
      const errors = status === 'failed' && input.errorCode ? { error_code: input.errorCode, error_message: input.errorMessage } : undefined;
      await transitionJob(db, input.jobId, transition, errors);
      // Counted once the status is stored; a replay that ends again counts again, as it is a new end.
      deps.metrics.jobFinished(job.kind, status);
    },

    /** A new delivery series (a replay): the job is pending again; returns the series number. */
    async beginSeries({ jobId, series }: { jobId: string; series?: number }): Promise<number> {
      return beginDeliverySeries(db, jobId, series);
    },
  };
}

export type JobActivities = ReturnType<typeof createJobActivities>;
