import type { Dispatcher } from 'undici';
import type { Config } from '../src/config';
import type { Db } from '../src/db/pool';
import type { Logger } from '../src/logger';
import { getJob, getResult, recordAttempt, saveResult, setJobStatus } from '../src/db/repositories/jobs';
import { getWebhookById } from '../src/db/repositories/webhooks';
import type {
  DeliveryAttemptInput,
  DeliveryAttemptOutcome,
  FinishJobInput,
  RunJobOutcome,
} from '../src/shared/jobTypes';
import { deliverOnce } from '../src/delivery/deliver';
import { runScrape } from '../src/scrape/scrape';

export interface ActivityDeps {
  db: Db;
  config: Config;
  logger: Logger;
  /** Address-guarded dispatchers: one opened by WEBHOOK_ALLOWED_CIDRS, one by SCRAPE_ALLOWED_CIDRS. */
  webhookHttp: Dispatcher;
  scrapeHttp: Dispatcher;
}

/** Activities built from injected dependencies, so tests pass real ones of their own. */
export function createActivities(deps: ActivityDeps) {
  const { db, config, logger } = deps;

  return {
    /** Runs the job's capture and stores its result; returns a summary only. */
    async runJob({ jobId }: { jobId: string }): Promise<RunJobOutcome> {
      const job = await getJob(db, jobId);
      if (!job) throw new Error(`job ${jobId} not found`);
      await setJobStatus(db, jobId, 'running');
      const outcome = await runScrape(job, { http: deps.scrapeHttp, timeoutMs: config.scrape.timeoutMs, maxBytes: config.scrape.maxBytes });
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
      const webhook = job.webhook_id ? await getWebhookById(db, job.webhook_id) : null;
      const result = await getResult(db, job.id);
      const startedAt = new Date();
      if (!webhook) {
        const message = `webhook "${job.webhook_name}" no longer exists`;
        await recordAttempt(db, {
          job_id: job.id, webhook_id: null, series: input.series, attempt: input.attempt, started_at: startedAt,
          duration_ms: 0, url: '', final_url: null, success: false, status_code: null,
          error_code: 'ERR::WEBHOOK::NOT_FOUND', error_message: message, request_headers: {},
          response_headers: null, response_snippet: null,
        });
        return { success: false, statusCode: null, errorCode: 'ERR::WEBHOOK::NOT_FOUND', retryAfterMs: null };
      }
      const { rows } = await db.query<{ name: string }>('SELECT name FROM projects WHERE id = $1', [job.project_id]);
      const attempt = await deliverOnce({
        job,
        result,
        webhook,
        projectName: rows[0]?.name ?? '',
        publicUrl: config.publicUrl,
        http: deps.webhookHttp,
        timeoutMs: config.webhook.timeoutMs,
        requireHttps: config.webhook.requireHttps,
      });
      await recordAttempt(db, { ...attempt.record, series: input.series, attempt: input.attempt });
      // One SQL statement, so concurrent attempts of one webhook never lose a count.
      await db.query(
        `UPDATE webhooks SET consecutive_failed_count = CASE WHEN $2 THEN 0 ELSE consecutive_failed_count + 1 END,
                             updated_at = now() WHERE id = $1`,
        [webhook.id, attempt.outcome.success],
      );
      if (!attempt.outcome.success && input.willRetry) await setJobStatus(db, job.id, 'retrying');
      logger.info(
        { jobId: job.id, webhook: webhook.name, attempt: input.attempt, ...attempt.outcome },
        attempt.outcome.success ? 'delivered' : 'delivery attempt failed',
      );
      return attempt.outcome;
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
