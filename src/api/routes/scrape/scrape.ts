import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { AppError, ConflictError, ValidationError, WebhookErrors } from '../../../errors';
import { withTransaction, type DbClient } from '../../../db/pool';
import { claimIdempotencyKey, saveIdempotentResponse, type IdempotencyHit } from '../../../db/repositories/idempotency';
import { QUEUE_LIMITS } from '../../../db/repositories/projects';
import { deleteJob, getJob, getResult, insertJob, insertJobWithinQueueLimit, QueueFullError } from '../../../db/repositories/jobs';
import { getWebhookByName } from '../../../db/repositories/webhooks';
import { buildScrapeResponse, logUrl } from '../../../delivery/payload';
import { jobWorkflowId } from '../../../shared/names';
import type { JobWorkflowInput } from '../../../shared/jobTypes';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME, SA_WEBHOOK_NAME } from '../../../shared/searchAttributes';
import type { ApiDeps, AppState, Ctx } from '../../context';
import { requireKey } from '../../middleware/auth';
import { input, validate } from '../../middleware/validate';
import { ScrapeParams, type ScrapeInput } from './schema';

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
    ctx.query = q as typeof ctx.query;
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
  const r = new Router<AppState>();
  const schema = ScrapeParams(config.scrape.timeoutMs);
  const handler = async (ctx: Ctx) => {
    const params = input<ScrapeInput>(ctx);
    const { project, env } = ctx.state.scope!;
    const jobId = randomUUID();
    const url = logUrl(config.publicUrl, jobId);
    const { webhook_name, ...jobParams } = params;
    const idem = idempotencyKey(ctx);
    const claim = (c: DbClient) =>
      idem
        ? claimIdempotencyKey(c, { projectId: project.id, env, key: idem, requestHash: requestHash('scrape', params), jobId })
        : Promise.resolve(null);
    const answerRepeat = async (hit: IdempotencyHit) => {
      if (hit.request_hash !== requestHash('scrape', params)) {
        throw new ConflictError('ERR::IDEMPOTENCY::KEY_REUSED', 'this Idempotency-Key was used for a different request in the last 24 hours');
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
        throw new AppError('ERR::IDEMPOTENCY::IN_PROGRESS', 'the first request with this Idempotency-Key is still being processed; retry shortly', 409, true);
      }
      ctx.body = buildScrapeResponse(job, await getResult(db, job.id), { publicUrl: config.publicUrl, projectName: project.name });
    };

    if (!webhook_name) {
      // Synchronous: the same workflow, awaited, minus the delivery.
      const hit = await withTransaction(db, async (c) => {
        const h = await claim(c);
        if (!h) await insertJob(c, { id: jobId, project_id: project.id, env, kind: 'scrape', webhook_id: null, webhook_name: null, params: jobParams }, null);
        return h;
      });
      if (hit) return answerRepeat(hit);
      await runWorkflow(temporal, config, jobId, { deliver: false, webhookId: null }, { project: project.name, webhook: null }, 'execute').catch(
        async (err) => {
          await deleteJob(db, jobId);
          throw err;
        },
      );
      const job = (await getJob(db, jobId))!;
      ctx.set('X-Scrapfly-Log-Uuid', jobId);
      ctx.set('X-Scrapfly-Log-Url', url);
      ctx.body = buildScrapeResponse(job, await getResult(db, jobId), { publicUrl: config.publicUrl, projectName: project.name });
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
          { id: jobId, project_id: project.id, env, kind: 'scrape', webhook_id: webhook.id, webhook_name, params: jobParams },
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
      await runWorkflow(temporal, config, jobId, { deliver: true, webhookId: webhook.id }, { project: project.name, webhook: webhook_name }, 'start');
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
  r.get('/scrape', requireKey(db), liftBracketHeaders, validate(schema), handler);
  r.post('/scrape', requireKey(db), liftBracketHeaders, validate(schema), handler);
  return r;
}

async function runWorkflow(
  temporal: Client,
  config: ApiDeps['config'],
  jobId: string,
  opts: { deliver: boolean; webhookId: string | null },
  sa: { project: string; webhook: string | null },
  mode: 'start' | 'execute',
): Promise<void> {
  const args: [JobWorkflowInput] = [
    {
      jobId,
      kind: 'scrape',
      deliver: opts.deliver,
      webhookId: opts.webhookId,
      mode: 'new',
      // Plain HTTP scrapes are short; browser work (later) runs as regular activities.
      captureLocal: true,
      disableAfter: config.webhook.disableAfter,
      retryScheduleMs: config.webhook.retryScheduleMs,
      deliveryTimeoutMs: config.webhook.timeoutMs,
    },
  ];
  const options = {
    workflowId: jobWorkflowId(jobId),
    taskQueue: config.temporal.taskQueue,
    args,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: SA_PROJECT_NAME, value: sa.project },
      { key: SA_JOB_STATUS, value: 'queued' },
      { key: SA_JOB_KIND, value: 'scrape' },
      ...(sa.webhook ? [{ key: SA_WEBHOOK_NAME, value: sa.webhook }] : []),
    ],
  };
  try {
    if (mode === 'start') await temporal.workflow.start('jobWorkflow', options);
    else await temporal.workflow.execute('jobWorkflow', options);
  } catch (err) {
    throw new AppError('ERR::TEMPORAL::UNAVAILABLE', `job could not be scheduled: ${(err as Error).message}`, 503, true);
  }
}
