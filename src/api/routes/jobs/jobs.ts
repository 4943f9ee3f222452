import Router from '@koa/router';
import { jobReplayer } from '../../../commands/jobReplayer';
import { findJobInScope } from '../../../commands/scope';
import { getResult, listAttempts } from '../../../db/repositories/jobs';
import { logUrl } from '../../../delivery/payload';
import type { ApiDeps, AppState } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { withInput } from '../../middleware/validate';
import { JobByUuid } from './schema';
import { presentAttempt } from '../../present';

export function jobRoutes(deps: ApiDeps): Router<AppState> {
  const { db, config } = deps;
  const r = new Router<AppState>({ prefix: '/jobs', sensitive: true });
  r.use(requireKey(db));

  r.get(
    '/:uuid',
    withInput(JobByUuid, async (ctx, { uuid }) => {
      const job = await findJobInScope(db, scopeOf(ctx), uuid);
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
    }),
  );

  r.post(
    '/:uuid/replay',
    withInput(JobByUuid, async (ctx, { uuid }) => {
      const { job, replayId } = await jobReplayer(deps, { scope: scopeOf(ctx), jobId: uuid });
      ctx.status = 202;
      ctx.body = { job_uuid: job.id, replay_id: replayId, status: 'queued' };
    }),
  );

  return r;
}
