import Router from '@koa/router';
import type { z } from 'zod';
import { AppError, WebhookErrors } from '../../../errors';
import { getWebhookById } from '../../../db/repositories/webhooks';
import { replayJob } from '../../../commands/replayJob';
import { getJobInScope, getResult, listAttempts } from '../../../db/repositories/jobs';
import type { Job } from '../../../db/rows';
import { logUrl } from '../../../delivery/payload';
import type { ApiDeps, AppState } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { input, validate } from '../../middleware/validate';
import { JobByUuid } from './schema';
import { presentAttempt } from '../../present';

/**
 * Why a job cannot be delivered again, as the error the caller gets (the API
 * and the dashboard's replay buttons ask the same questions).
 */
export async function assertReplayable(db: ApiDeps['db'], job: Job): Promise<void> {
  if (!job.webhook_id) {
    throw new AppError('ERR::JOB::NOT_REPLAYABLE', 'only webhook jobs can be replayed; this job had no webhook');
  }
  // Its workflow never started (see JobSubmitter): nothing was captured.
  if (job.delivery_status === null) {
    throw new AppError('ERR::JOB::NOT_REPLAYABLE', 'this job never started, so there is nothing to deliver; submit it again');
  }
  // A job waiting on its retry ladder may be replayed (the wait is cut short);
  // one whose capture has not finished has nothing to deliver yet.
  if (job.status === 'queued' || job.status === 'running') {
    throw new AppError('ERR::JOB::NOT_READY', 'this job has not finished its capture yet; nothing to deliver');
  }
  const webhook = await getWebhookById(db, job.webhook_id);
  if (!webhook) throw WebhookErrors.notFound(job.webhook_name ?? '');
  if (webhook.status === 'disabled') throw WebhookErrors.disabled(webhook.name);
}

export function jobRoutes({ db, config, temporal }: ApiDeps): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/jobs', sensitive: true });
  r.use(requireKey(db));

  r.get('/:uuid', validate(JobByUuid), async (ctx) => {
    const { uuid } = input<z.infer<typeof JobByUuid>>(ctx);
    const { project, env } = scopeOf(ctx);
    const job = await getJobInScope(db, uuid, project.id, env);
    if (!job) throw new AppError('ERR::JOB::NOT_FOUND', `job ${uuid} does not exist in this project and environment`);
    const result = await getResult(db, job.id);
    const attempts = await listAttempts(db, job.id);
    ctx.body = {
      uuid: job.id,
      kind: job.kind,
      env: job.env,
      status: job.status,
      delivery_status: job.delivery_status,
      webhook_name: job.webhook_name,
      webhook_uuid: job.webhook_id,
      params: job.params,
      error: job.error_code ? { code: job.error_code, message: job.error_message } : null,
      log_url: logUrl(config.publicUrl, job.id),
      created_at: job.created_at,
      updated_at: job.updated_at,
      completed_at: job.completed_at,
      result: result && {
        status_code: result.status_code,
        url: result.final_url,
        format: result.format,
        content_type: result.content_type,
        size: result.size_bytes,
        duration_ms: result.duration_ms,
      },
      attempts: attempts.map(presentAttempt),
    };
  });

  r.post('/:uuid/replay', validate(JobByUuid), async (ctx) => {
    const { uuid } = input<z.infer<typeof JobByUuid>>(ctx);
    const { project, env } = scopeOf(ctx);
    const job = await getJobInScope(db, uuid, project.id, env);
    if (!job) throw new AppError('ERR::JOB::NOT_FOUND', `job ${uuid} does not exist in this project and environment`);
    await assertReplayable(db, job);
    const replayId = await replayJob(
      temporal,
      config,
      job,
      project.name,
    );
    ctx.status = 202;
    ctx.body = { job_uuid: job.id, replay_id: replayId, status: 'queued' };
  });

  return r;
}
