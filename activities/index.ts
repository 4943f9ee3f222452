import { heartbeat, activityInfo, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Dispatcher } from 'undici';
import type { Config } from '../src/config';
import type { Db } from '../src/db/pool';
import type { Logger } from '../src/logger';
import { getAttempt, getJob, getResult, recordAttempt, saveResult, setJobStatus } from '../src/db/repositories/jobs';
import { getWebhookById } from '../src/db/repositories/webhooks';
import type {
  DeliveryAttemptInput,
  DeliveryAttemptOutcome,
  FinishJobInput,
  RunJobOutcome,
  StoredWebhookState,
  WebhookEvent,
} from '../src/shared/jobTypes';
import { webhookWorkflowId } from '../src/shared/names';
import { attemptOutcomeSignal, type AttemptOutcome, type WebhookEntityState } from '../src/shared/workflowApi';
import { replayJob } from '../src/temporal/replay';
import { request } from '../src/net/httpClient';
import { deliverOnce } from '../src/delivery/deliver';
import { runCapture } from '../src/capture/run';
import type { BrowserPool } from '../src/capture/browser';

export interface ActivityDeps {
  db: Db;
  config: Config;
  logger: Logger;
  /** Address-guarded dispatchers: one opened by WEBHOOK_ALLOWED_CIDRS, one by SCRAPE_ALLOWED_CIDRS. */
  webhookHttp: Dispatcher;
  scrapeHttp: Dispatcher;
  /** For signal-with-start (entity fallback, replays). */
  temporal: Client;
  /** Chromium for screenshots and render_js. */
  browser: BrowserPool;
}

const REPLAY_PAGE = 100;
const REPLAY_CONCURRENCY = 10;

/** Activities built from injected dependencies, so tests pass real ones of their own. */
export function createActivities(deps: ActivityDeps) {
  const { db, config, logger } = deps;

  const signalWithStartEntity = (webhookId: string, disableAfter: number, outcome: AttemptOutcome) =>
    deps.temporal.workflow.signalWithStart('webhookWorkflow', {
      workflowId: webhookWorkflowId(webhookId),
      taskQueue: config.temporal.taskQueue,
      args: [{ webhookId, disableAfter }],
      signal: attemptOutcomeSignal,
      signalArgs: [outcome],
    });

  // A plain signal when the entity runs (the common case), signal-with-start when it does not.
  const reportOutcome = async (webhookId: string, disableAfter: number, outcome: AttemptOutcome) => {
    try {
      await deps.temporal.workflow.getHandle(webhookWorkflowId(webhookId)).signal(attemptOutcomeSignal, outcome);
    } catch {
      await signalWithStartEntity(webhookId, disableAfter, outcome);
    }
  };

  // Best effort: an unreachable alert URL must not hold up the webhook's state.
  const postAlert = async (url: string, body: unknown) => {
    try {
      const res = await request(deps.webhookHttp, {
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Hookshot-Alert/0.1' },
        body: Buffer.from(JSON.stringify(body)),
        timeoutMs: 10_000,
        maxBodyBytes: 1024,
      });
      if (res.status >= 300) logger.warn({ url, status: res.status }, 'alert URL answered with an error');
    } catch (err) {
      logger.warn({ url, err: (err as Error).message }, 'alert URL unreachable');
    }
  };

  return {
    /** Runs the job's capture and stores its result; returns a summary only. */
    async runJob({ jobId }: { jobId: string }): Promise<RunJobOutcome> {
      const job = await getJob(db, jobId);
      if (!job) throw new Error(`job ${jobId} not found`);
      await setJobStatus(db, jobId, 'running');
      // Browser captures run as regular activities: heartbeats tell Temporal
      // the worker lives, and a cancellation closes the page.
      const ctx = Context.current();
      const beat = ctx.info.isLocal ? null : setInterval(() => heartbeat(), 1000);
      const outcome = await runCapture(job, {
        http: deps.scrapeHttp,
        browser: deps.browser,
        timeoutMs: config.scrape.timeoutMs,
        maxBytes: config.scrape.maxBytes,
        signal: ctx.cancellationSignal,
      }).finally(() => beat && clearInterval(beat));
      // A cancelled activity ends as cancelled, not as a failed capture.
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      if (outcome.result) await saveResult(db, outcome.result);
      await setJobStatus(db, jobId, job.webhook_id ? 'delivering' : 'running', {
        error_code: outcome.errorCode,
        error_message: outcome.errorMessage,
      });
      logger.info({ jobId, ok: outcome.errorCode === null, errorCode: outcome.errorCode }, 'job ran');
      return {
        ok: outcome.errorCode === null,
        errorCode: outcome.errorCode,
        statusCode: outcome.result?.status_code ?? null,
        sizeBytes: outcome.result?.size_bytes ?? 0,
      };
    },

    /** One delivery attempt: one HTTP request, recorded as one row. */
    async deliverWebhook(input: DeliveryAttemptInput): Promise<DeliveryAttemptOutcome> {
      const job = await getJob(db, input.jobId);
      if (!job) throw new Error(`job ${input.jobId} not found`);
      // A retry of an attempt that was sent and recorded (only the report
      // failed) must not send again: reuse the recorded outcome.
      const prior = await getAttempt(db, input.jobId, input.series, input.attempt);
      if (prior && prior.error_code !== 'ERR::WEBHOOK::DISABLED' && prior.error_code !== 'ERR::WEBHOOK::NOT_FOUND') {
        if (input.report) {
          await reportOutcome(input.report.webhookId, input.report.disableAfter, {
            jobId: job.id, series: input.series, attempt: input.attempt, success: prior.success,
          });
        }
        return { success: prior.success, statusCode: prior.status_code, errorCode: prior.error_code, retryAfterMs: null };
      }
      const webhook = job.webhook_id ? await getWebhookById(db, job.webhook_id) : null;
      const startedAt = new Date();
      // Nothing is sent: the attempt is recorded and this series ends.
      const stop = async (errorCode: string, message: string): Promise<DeliveryAttemptOutcome> => {
        await recordAttempt(db, {
          job_id: job.id, webhook_id: webhook?.id ?? null, series: input.series, attempt: input.attempt, started_at: startedAt,
          duration_ms: 0, url: webhook?.url ?? '', final_url: null, success: false, status_code: null,
          error_code: errorCode, error_message: message, request_headers: {}, response_headers: null, response_snippet: null,
        });
        return { success: false, statusCode: null, errorCode, retryAfterMs: null, stop: true };
      };
      if (!webhook) return stop('ERR::WEBHOOK::NOT_FOUND', `webhook "${job.webhook_name}" no longer exists`);
      if (webhook.status === 'disabled') {
        // Pending retries end here; a replay after re-enabling delivers them.
        return stop('ERR::WEBHOOK::DISABLED', `webhook "${webhook.name}" is disabled (${webhook.disabled_reason ?? 'manual'}); nothing was sent`);
      }
      // Loaded only when something will be sent: a result can be megabytes.
      const result = await getResult(db, job.id);
      const { rows } = await db.query<{ name: string }>('SELECT name FROM projects WHERE id = $1', [job.project_id]);
      // Heartbeats let Temporal notice a dead worker in seconds rather than
      // after the whole HTTP timeout, and hand the attempt to another worker.
      const beat = setInterval(() => heartbeat(), 1000);
      const attempt = await deliverOnce({
        job,
        result,
        webhook,
        projectName: rows[0]?.name ?? '',
        publicUrl: config.publicUrl,
        http: deps.webhookHttp,
        timeoutMs: config.webhook.timeoutMs,
        requireHttps: config.webhook.requireHttps,
      }).finally(() => clearInterval(beat));
      await recordAttempt(db, { ...attempt.record, series: input.series, attempt: input.attempt });
      if (input.report) {
        await reportOutcome(input.report.webhookId, input.report.disableAfter, {
          jobId: job.id,
          series: input.series,
          attempt: input.attempt,
          success: attempt.outcome.success,
        });
      }
      if (!attempt.outcome.success && input.willRetry) await setJobStatus(db, job.id, 'retrying');
      logger.info(
        { jobId: job.id, webhook: webhook.name, attempt: input.attempt, ...attempt.outcome },
        attempt.outcome.success ? 'delivered' : 'delivery attempt failed',
      );
      return attempt.outcome;
    },

    /** Fallback when the entity is not running: start it with this outcome. */
    async signalWebhookEntity(input: { webhookId: string; disableAfter: number; outcome: AttemptOutcome }): Promise<void> {
      await signalWithStartEntity(input.webhookId, input.disableAfter, input.outcome);
    },

    async loadWebhookState({ webhookId }: { webhookId: string }): Promise<StoredWebhookState | null> {
      const w = await getWebhookById(db, webhookId);
      return w && { status: w.status, disabledReason: w.disabled_reason, consecutiveFailedCount: w.consecutive_failed_count };
    },

    /**
     * Writes the entity's state (it is the only writer of these columns),
     * records its notifications once each, POSTs the project's alert URL on a
     * disable, and logs. Returns true when the webhook no longer exists.
     */
    async persistWebhookState(input: { state: WebhookEntityState; events: WebhookEvent[]; version: number }): Promise<boolean> {
      const s = input.state;
      const { rows } = await db.query<{ id: string; name: string; env: string; project_id: string; alert_url: string | null; project: string }>(
        `UPDATE webhooks w SET status = $2, disabled_reason = $3, consecutive_failed_count = $4, updated_at = now()
           FROM projects p WHERE w.id = $1 AND p.id = w.project_id
         RETURNING w.id, w.name, w.env, w.project_id, p.alert_url, p.name AS project`,
        [s.webhookId, s.status, s.disabledReason, s.consecutiveFailedCount],
      );
      const w = rows[0];
      if (!w) return true;
      for (const e of input.events) {
        const message = describeEvent(w.name, e);
        const inserted = await db.query(
          `INSERT INTO notifications (project_id, env, webhook_id, kind, message, details, dedupe_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
          [w.project_id, w.env, w.id, `webhook.${e.kind}`, message, { count: e.count, threshold: e.threshold }, `webhook:${w.id}:${e.seq}`],
        );
        const level = e.kind === 'disabled' ? 'warn' : 'info';
        logger[level]({ webhook: w.name, project: w.project, env: w.env, event: e.kind, count: e.count }, message);
        // Only the first write of this event alerts, so an activity retry does not POST twice.
        if (e.kind === 'disabled' && inserted.rowCount === 1 && w.alert_url) {
          await postAlert(w.alert_url, { event: 'webhook.disabled', project: w.project, env: w.env, webhook: w.name, reason: 'consecutive_failures', consecutive_failed_count: e.count, message });
        }
      }
      return false;
    },

    /** First series number not yet used by this job (replays continue after the last). */
    async nextSeries({ jobId }: { jobId: string }): Promise<number> {
      const { rows } = await db.query<{ n: number | null }>('SELECT max(series) AS n FROM delivery_attempts WHERE job_id = $1', [jobId]);
      return rows[0]?.n === null || rows[0]?.n === undefined ? 0 : rows[0].n + 1;
    },

    /** Bulk replay: every failed job of the webhook, paged, signalled with bounded concurrency. */
    async replayFailedDeliveries(input: { webhookId: string; replayId: string; since: string | null }): Promise<number> {
      // Resume after the last page a previous try finished.
      let cursor = (activityInfo().heartbeatDetails as { cursor?: string } | undefined)?.cursor ?? '';
      const { rows: p } = await db.query<{ name: string }>(
        'SELECT p.name FROM webhooks w JOIN projects p ON p.id = w.project_id WHERE w.id = $1',
        [input.webhookId],
      );
      if (!p[0]) return 0;
      let replayed = 0;
      for (;;) {
        const { rows } = await db.query<{ id: string; kind: 'scrape' | 'screenshot'; webhook_id: string; webhook_name: string }>(
          `SELECT id, kind, webhook_id, webhook_name FROM jobs
            WHERE webhook_id = $1 AND delivery_status = 'failed' AND ($2::timestamptz IS NULL OR created_at >= $2)
              AND id::text > $3
            ORDER BY id LIMIT $4`,
          [input.webhookId, input.since, cursor, REPLAY_PAGE],
        );
        if (rows.length === 0) break;
        for (let i = 0; i < rows.length; i += REPLAY_CONCURRENCY) {
          await Promise.all(
            rows.slice(i, i + REPLAY_CONCURRENCY).map((j) => replayJob(deps.temporal, db, config, j, p[0]!.name, input.replayId)),
          );
        }
        replayed += rows.length;
        cursor = rows[rows.length - 1]!.id;
        heartbeat({ cursor });
      }
      logger.info({ webhookId: input.webhookId, replayed }, 'bulk replay signalled');
      return replayed;
    },

    /** Stores why the capture could not be made; delivery (if any) follows. */
    async recordCaptureFailure(input: { jobId: string; errorCode: string; errorMessage: string }): Promise<void> {
      const job = await getJob(db, input.jobId);
      if (!job) return;
      await setJobStatus(db, job.id, job.webhook_id ? 'delivering' : 'running', {
        error_code: input.errorCode,
        error_message: input.errorMessage,
      });
      logger.warn({ jobId: job.id, errorCode: input.errorCode }, input.errorMessage);
    },

    async finishJob(input: FinishJobInput): Promise<void> {
      const job = await getJob(db, input.jobId);
      if (!job) return;
      await setJobStatus(db, input.jobId, input.status, {
        delivery_status: job.delivery_status && input.status !== 'done' ? input.status : undefined,
        ...(input.status === 'failed' && input.errorCode
          ? { error_code: input.errorCode, error_message: input.errorMessage }
          : {}),
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

function describeEvent(name: string, e: WebhookEvent): string {
  switch (e.kind) {
    case 'warning':
      return `webhook "${name}" has failed ${e.count} times in a row (${e.threshold}% of the disable threshold)`;
    case 'disabled':
      return `webhook "${name}" was disabled after ${e.count} consecutive failed deliveries`;
    case 'disabled_manually':
      return `webhook "${name}" was disabled`;
    case 'enabled':
      return `webhook "${name}" was enabled; its failure count is reset`;
  }
}
