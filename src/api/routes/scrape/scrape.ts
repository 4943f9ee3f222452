import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { WorkflowFailedError, WorkflowIdReusePolicy } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { AppError, ValidationError, WebhookErrors } from '../../../errors';
import { withTransaction, type DbClient } from '../../../db/pool';
import { claimIdempotencyKey, saveIdempotentResponse, type IdempotencyHit } from '../../../db/repositories/idempotency';
import { QUEUE_LIMITS } from '../../../db/repositories/projects';
import { deleteJob, getJob, getResult, insertJob, insertJobWithinQueueLimit, QueueFullError, type Job } from '../../../db/repositories/jobs';
import { getWebhookByName } from '../../../db/repositories/webhooks';
import { buildScrapeResponse, logUrl } from '../../../delivery/payload';
import { jobWorkflowId } from '../../../shared/names';
import { buildJobWorkflowInput } from '../../../temporal/jobInput';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME, SA_WEBHOOK_NAME } from '../../../shared/searchAttributes';
import type { ApiDeps, AppState, Ctx } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { input, validate } from '../../middleware/validate';
import { ScrapeParams, ScreenshotParams } from './schema';
import type { JobKind } from '../../../shared/names';
import type { JobResult } from '../../../db/repositories/jobs';

/** Scrapfly passes headers as headers[name]=value in the query string. */
function liftBracketHeaders(ctx: Ctx, next: () => Promise<unknown>) {
  const q = { ...ctx.query } as Record<string, unknown>;
  const headers: Record<string, unknown> = {};
  for (const k of Object.keys(q)) {
    const m = /^headers\[(.+)\]$/.exec(k);
    if (m) {
      headers[m[1]!] = q[k];
      delete q[k];
    }
  }
  if (Object.keys(headers).length > 0) {
    q.headers = headers;
    // Not ctx.query: Koa would re-stringify the nested object and lose it.
    ctx.state.query = q;
  }
  return next();
}

/** Idempotency-Key: 1-255 visible ASCII characters, or absent. */
function idempotencyKey(ctx: Ctx): string | null {
  const v = ctx.get('idempotency-key');
  if (v === '') return null;
  if (!/^[\x21-\x7e]{1,255}$/.test(v)) {
    throw new ValidationError('Idempotency-Key header: must be 1-255 visible ASCII characters');
  }
  return v;
}

const requestHash = (kind: string, params: unknown) => createHash('sha256').update(JSON.stringify([kind, params])).digest('hex');

export function scrapeRoutes({ db, config, temporal }: ApiDeps): Router<AppState> {
  const r = new Router<AppState>({ sensitive: true });
  const handler = (kind: JobKind) => async (ctx: Ctx) => {
    const params = input<{ webhook_name?: string; render_js?: boolean } & Record<string, unknown>>(ctx);
    const { project, env } = scopeOf(ctx);
    const jobId = randomUUID();
    const url = logUrl(config.publicUrl, jobId);
    const { webhook_name, ...jobParams } = params;
    const idem = idempotencyKey(ctx);
    // Plain HTTP scrapes are short: a local activity. Browser work is a regular
    // activity with heartbeats and cancellation.
    const captureLocal = kind === 'scrape' && !params.render_js;
    const claim = (c: DbClient) =>
      idem
        ? claimIdempotencyKey(c, { projectId: project.id, env, key: idem, requestHash: requestHash(kind, params), jobId })
        : Promise.resolve(null);
    const answerRepeat = async (hit: IdempotencyHit) => {
      if (hit.request_hash !== requestHash(kind, params)) {
        throw new AppError('ERR::IDEMPOTENCY::KEY_REUSED', 'this Idempotency-Key was used for a different request in the last 24 hours');
      }
      ctx.set('Idempotent-Replayed', 'true');
      ctx.set('X-Scrapfly-Log-Uuid', hit.job_id);
      ctx.set('X-Scrapfly-Log-Url', logUrl(config.publicUrl, hit.job_id));
      if (hit.response) {
        ctx.body = hit.response;
        return;
      }
      const job = await getJob(db, hit.job_id);
      if (!job || job.webhook_id || (job.status !== 'done' && job.status !== 'failed')) {
        throw new AppError('ERR::IDEMPOTENCY::IN_PROGRESS', 'the first request with this Idempotency-Key is still being processed; retry shortly');
      }
      answerSync(ctx, job, await getResult(db, job.id), project.name);
    };

    if (!webhook_name) {
      // Synchronous: the same workflow, awaited, minus the delivery.
      const hit = await withTransaction(db, async (c) => {
        const h = await claim(c);
        if (!h) await insertJob(c, { id: jobId, project_id: project.id, env, kind, webhook_id: null, webhook_name: null, params: jobParams }, null);
        return h;
      });
      if (hit) return answerRepeat(hit);
      await runWorkflow(temporal, config, jobId, kind, { deliver: false, webhookId: null, captureLocal }, { project: project.name, webhook: null }, 'execute').catch(
        async (err) => {
          // A job Temporal never took is not kept; one that ran stays on record.
          if ((err as AppError).code === 'ERR::TEMPORAL::UNAVAILABLE') await deleteJob(db, jobId);
          throw err;
        },
      );
      const job = (await getJob(db, jobId))!;
      ctx.set('X-Scrapfly-Log-Uuid', jobId);
      ctx.set('X-Scrapfly-Log-Url', url);
      answerSync(ctx, job, await getResult(db, jobId), project.name);
      return;
    }

    const webhook = await getWebhookByName(db, project.id, env, webhook_name);
    if (!webhook) throw WebhookErrors.notFound(webhook_name);
    if (webhook.status === 'disabled') throw WebhookErrors.disabled(webhook_name);
    const limit = QUEUE_LIMITS[project.plan];
    let queued: number;
    try {
      const out = await withTransaction(db, async (c) => {
        const h = await claim(c);
        if (h) return { hit: h, queued: 0 };
        const n = await insertJobWithinQueueLimit(
          c,
          { id: jobId, project_id: project.id, env, kind, webhook_id: webhook.id, webhook_name, params: jobParams },
          limit,
        );
        return { hit: null, queued: n };
      });
      if (out.hit) return answerRepeat(out.hit);
      queued = out.queued;
    } catch (err) {
      if (err instanceof QueueFullError) throw WebhookErrors.queueFull(err.limit);
      throw err;
    }
    try {
      await runWorkflow(temporal, config, jobId, kind, { deliver: true, webhookId: webhook.id, captureLocal }, { project: project.name, webhook: webhook_name }, 'start');
    } catch (err) {
      // Nothing half-made: a job Temporal never accepted is not kept or counted (its key goes with it).
      await deleteJob(db, jobId);
      throw err;
    }
    const body = {
      job_uuid: jobId,
      log_uuid: jobId,
      log_url: url,
      success: true,
      webhook_enqueued: true,
      webhook_name,
      webhook_queue_limit: limit,
      webhook_queued_element: queued,
      webhook_uuid: webhook.id,
    };
    if (idem) await withTransaction(db, (c) => saveIdempotentResponse(c, jobId, body));
    ctx.set('X-Scrapfly-Log-Uuid', jobId);
    ctx.set('X-Scrapfly-Log-Url', url);
    ctx.body = body;
  };
  /** The synchronous answer: the scrape document, or the image bytes. */
  const answerSync = (ctx: Ctx, job: Job, result: JobResult | null, projectName: string) => {
    if (job.kind === 'screenshot') {
      if (!result?.body || job.error_code) {
        throw AppError.stored(job.error_code ?? 'ERR::SCREENSHOT::FAILED', job.error_message ?? 'the screenshot could not be taken');
      }
      ctx.type = result.content_type ?? 'application/octet-stream';
      ctx.body = result.body;
      return;
    }
    ctx.body = buildScrapeResponse(job, result, { publicUrl: config.publicUrl, projectName });
  };

  const scrapeSchema = ScrapeParams(config.scrape.timeoutMs);
  const screenshotSchema = ScreenshotParams(config.scrape.timeoutMs);
  r.get('/scrape', requireKey(db), liftBracketHeaders, validate(scrapeSchema), handler('scrape'));
  r.post('/scrape', requireKey(db), liftBracketHeaders, validate(scrapeSchema), handler('scrape'));
  r.get('/screenshot', requireKey(db), validate(screenshotSchema), handler('screenshot'));
  r.post('/screenshot', requireKey(db), validate(screenshotSchema), handler('screenshot'));
  return r;
}

async function runWorkflow(
  temporal: Client,
  config: ApiDeps['config'],
  jobId: string,
  kind: JobKind,
  opts: { deliver: boolean; webhookId: string | null; captureLocal: boolean },
  sa: { project: string; webhook: string | null },
  mode: 'start' | 'execute',
): Promise<void> {
  const args = [
    buildJobWorkflowInput(config, { jobId, kind, deliver: opts.deliver, webhookId: opts.webhookId, captureLocal: opts.captureLocal, mode: 'new' }),
  ];
  const options = {
    workflowId: jobWorkflowId(jobId),
    taskQueue: config.temporal.taskQueue,
    args,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: SA_PROJECT_NAME, value: sa.project },
      { key: SA_JOB_STATUS, value: 'queued' },
      { key: SA_JOB_KIND, value: kind },
      ...(sa.webhook ? [{ key: SA_WEBHOOK_NAME, value: sa.webhook }] : []),
    ],
  };
  try {
    if (mode === 'start') await temporal.workflow.start('jobWorkflow', options);
    else await temporal.workflow.execute('jobWorkflow', options);
  } catch (err) {
    // The job ran and its workflow failed: not a scheduling problem.
    if (err instanceof WorkflowFailedError) {
      throw new AppError(kind === 'screenshot' ? 'ERR::SCREENSHOT::FAILED' : 'ERR::SCRAPE::FAILED', `the ${kind} failed: ${err.cause?.message ?? err.message}`);
    }
    throw new AppError('ERR::TEMPORAL::UNAVAILABLE', `job could not be scheduled: ${(err as Error).message}`);
  }
}
