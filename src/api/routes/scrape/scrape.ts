import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { z } from 'zod';
import { AppError, ValidationError } from '../../../errors';
import { getJob, getResult } from '../../../db/repositories/jobs';
import type { IdempotencyHit, Job, JobResult } from '../../../db/rows';
import { buildScrapeResponse, logUrl } from '../../../delivery/payload';
import { JobSubmitter } from '../../../commands/jobSubmitter';
import type { JobKind } from '../../../shared/names';
import type { ApiDeps, AppState, Ctx } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { withInput } from '../../middleware/validate';
import { ScrapeParams, ScreenshotParams, type ScrapeInput, type ScreenshotInput } from './schema';

/** Scrapfly passes headers as headers[name]=value in the query string. */
function liftBracketHeaders(ctx: Ctx, next: () => Promise<unknown>) {
  const q = { ...ctx.query } as Record<string, unknown>;
  const headers: Record<string, unknown> = {};
  for (const k of Object.keys(q)) {
    const name = /^headers\[(.+)\]$/.exec(k)?.[1];
    if (name !== undefined) {
      headers[name] = q[k];
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

const requestHash = (kind: string, params: unknown) =>
  createHash('sha256')
    .update(JSON.stringify([kind, params]))
    .digest('hex');

export function scrapeRoutes(deps: ApiDeps): Router<AppState> {
  const { db, config } = deps;
  const submitter = new JobSubmitter(deps);
  const r = new Router<AppState>({ sensitive: true });
  // Both kinds' parameters are stored as given; only webhook_name is the route's to read.
  const handler = (kind: JobKind, schema: z.ZodType<ScrapeInput | ScreenshotInput>) =>
    withInput(schema, async (ctx, params) => {
      const { project, env } = scopeOf(ctx);
      const { webhook_name, ...jobParams } = params;
      const key = idempotencyKey(ctx);
      const out = await submitter.submit({
        project,
        env,
        kind,
        params: jobParams,
        webhookName: webhook_name ?? null,
        idempotency: key ? { key, requestHash: requestHash(kind, params) } : null,
      });
      switch (out.type) {
        case 'repeat':
          return answerRepeat(ctx, out.hit, project.name);
        case 'enqueued':
          setLogHeaders(ctx, out.jobId);
          ctx.body = out.promise;
          return;
        case 'finished':
          setLogHeaders(ctx, out.job.id);
          return answerSync(ctx, out.job, out.result, project.name);
      }
    });

  const setLogHeaders = (ctx: Ctx, jobId: string) => {
    ctx.set('X-Scrapfly-Log-Uuid', jobId);
    ctx.set('X-Scrapfly-Log-Url', logUrl(config.publicUrl, jobId));
  };

  /** The first request's answer again, once there is one. */
  const answerRepeat = async (ctx: Ctx, hit: IdempotencyHit, projectName: string) => {
    ctx.set('Idempotent-Replayed', 'true');
    setLogHeaders(ctx, hit.job_id);
    if (hit.response) {
      ctx.body = hit.response;
      return;
    }
    const job = await getJob(db, hit.job_id);
    if (!job || job.webhook_id || (job.status !== 'done' && job.status !== 'failed')) {
      throw new AppError('ERR::IDEMPOTENCY::IN_PROGRESS', 'the first request with this Idempotency-Key is still being processed; retry shortly');
    }
    answerSync(ctx, job, await getResult(db, job.id), projectName);
  };

  /** The synchronous answer: the scrape document, or the image bytes. */
  const answerSync = (ctx: Ctx, job: Job, result: JobResult | null, projectName: string) => {
    if (job.kind === 'screenshot') {
      if (!result?.body || job.error_code) {
        throw AppError.stored(job.error_code ?? 'ERR::SCREENSHOT::FAILED', job.error_message ?? 'the screenshot could not be taken');
      }
      // Scrapfly's screenshot metadata: what the page answered, and where it ended up.
      if (result.status_code !== null) ctx.set('X-Scrapfly-Upstream-Http-Code', String(result.status_code));
      if (result.final_url !== null) ctx.set('X-Scrapfly-Upstream-Url', result.final_url);
      ctx.type = result.content_type ?? 'application/octet-stream';
      ctx.body = result.body;
      return;
    }
    ctx.body = buildScrapeResponse(job, result, { publicUrl: config.publicUrl, projectName });
  };

  const scrapeSchema = ScrapeParams(config.scrape.timeoutMs);
  const screenshotSchema = ScreenshotParams(config.scrape.timeoutMs);
  r.get('/scrape', requireKey(db), liftBracketHeaders, handler('scrape', scrapeSchema));
  r.post('/scrape', requireKey(db), liftBracketHeaders, handler('scrape', scrapeSchema));
  r.get('/screenshot', requireKey(db), handler('screenshot', screenshotSchema));
  r.post('/screenshot', requireKey(db), handler('screenshot', screenshotSchema));
  return r;
}
