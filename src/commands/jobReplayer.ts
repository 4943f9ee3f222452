import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/pool';
import type { Job } from '../db/rows';
import { getWebhookById } from '../db/repositories/webhooks';
import { AppError, WebhookErrors } from '../errors';
import { replayJob } from '../temporal/jobReplay';
import { findJobInScope, type Scope } from './scope';

export interface JobReplayerDeps {
  db: Db;
  temporal: Client;
  config: Pick<Config, 'temporal' | 'webhook' | 'scrape'>;
}

/**
 * Why a job cannot be delivered again, as the error its caller gets; null
 * when it can.
 */
async function refusal(db: Db, job: Job): Promise<AppError | null> {
  if (!job.webhook_id) {
    return new AppError('ERR::JOB::NOT_REPLAYABLE', 'only webhook jobs can be replayed; this job had no webhook');
  }
  // Its workflow never started (see JobSubmitter): nothing was captured.
  if (job.delivery_status === null) {
    return new AppError('ERR::JOB::NOT_REPLAYABLE', 'this job never started, so there is nothing to deliver; submit it again');
  }
  // A job waiting on its retry ladder may be replayed (the wait is cut short);
  // one whose capture has not finished has nothing to deliver yet.
  if (job.status === 'queued' || job.status === 'running') {
    return new AppError('ERR::JOB::NOT_READY', 'this job has not finished its capture yet; nothing to deliver');
  }
  const webhook = await getWebhookById(db, job.webhook_id);
  if (!webhook) return WebhookErrors.notFound(job.webhook_name ?? '');
  if (webhook.status === 'disabled') return WebhookErrors.disabled(webhook.name);
  return null;
}

/**
 * Delivers one job again, as POST /jobs/:uuid/replay and the dashboard's
 * replay button ask: a new attempt series through its workflow (see
 * replayJob in src/temporal/jobReplay.ts).
 *
 * Refused, with nothing sent: a job not in the scope (ERR::JOB::NOT_FOUND),
 * one that had no webhook or never started (ERR::JOB::NOT_REPLAYABLE), one
 * still capturing (ERR::JOB::NOT_READY), one whose webhook is gone or disabled.
 */
export async function jobReplayer(deps: JobReplayerDeps, req: { scope: Scope; jobId: string }): Promise<{ job: Job; replayId: string }> {
  const { db, temporal, config } = deps;
  const job = await findJobInScope(db, req.scope, req.jobId);
  const refused = await refusal(db, job);
  if (refused) throw refused;
  const replayId = randomUUID();
  await replayJob(temporal, config, job, req.scope.project.name, replayId);
  return { job, replayId };
}
