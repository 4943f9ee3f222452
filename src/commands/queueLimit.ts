// Admission to a project's queue under its plan's limit: one rule over the
// projects, jobs and crawls repositories, run in the submission's
// transaction. The project row lock serialises concurrent submissions of one
// project, so the count cannot overshoot the limit.
import type { DbClient } from '../db/pool';
import type { Job } from '../db/rows';
import { lockProject } from '../db/repositories/projects';
import { countQueued } from '../db/repositories/queue';
import { insertJob } from '../db/repositories/jobs';
import { insertCrawl, type NewCrawl, type PageSeed } from '../db/repositories/crawls';
import { AppError, WebhookErrors } from '../errors';

/** The queue had no room: the API's ERR::WEBHOOK::QUEUE_FULL, with the limit it hit. */
export class QueueFullError extends AppError {
  constructor(public readonly limit: number) {
    super('ERR::WEBHOOK::QUEUE_FULL', WebhookErrors.queueFull(limit).message);
  }
}

/** Locks the project and checks its queue has room; returns the queue depth including the item about to be inserted. */
async function admit(c: DbClient, projectId: string, limit: number): Promise<number> {
  await lockProject(c, projectId);
  const queued = await countQueued(c, projectId);
  if (queued >= limit) throw new QueueFullError(limit);
  return queued + 1;
}

/** Inserts a webhook job (owing a delivery) if the project's queue has room; returns the queue depth including it. */
export async function insertJobWithinQueueLimit(
  c: DbClient,
  job: Pick<Job, 'id' | 'project_id' | 'env' | 'kind' | 'webhook_id' | 'webhook_name' | 'params'>,
  limit: number,
): Promise<number> {
  const depth = await admit(c, job.project_id, limit);
  await insertJob(c, job, 'pending');
  return depth;
}

/** Inserts a crawl and its first pages if the project's queue has room; returns the queue depth including it. */
export async function insertCrawlWithinQueueLimit(c: DbClient, crawl: NewCrawl, seeds: PageSeed[], limit: number): Promise<number> {
  const depth = await admit(c, crawl.project_id, limit);
  await insertCrawl(c, crawl, seeds);
  return depth;
}
