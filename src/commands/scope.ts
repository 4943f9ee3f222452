// The project and environment a caller acts in: an API key's, or a dashboard
// session's. Commands and pages look webhooks and jobs up through it, so
// another project's (or environment's) reads exactly as one that does not exist.
import type { Db } from '../db/pool';
import { getJobInScope } from '../db/repositories/jobs';
import type { Job } from '../db/rows';
import type { Env, Project } from '../db/rows';
import { getWebhookByName } from '../db/repositories/webhooks';
import type { Webhook } from '../db/rows';
import { AppError, WebhookErrors } from '../errors';

export interface Scope {
  project: Project;
  env: Env;
}

/** The scope's webhook of that name, or ERR::WEBHOOK::NOT_FOUND. */
export async function findWebhookInScope(db: Db, scope: Scope, name: string): Promise<Webhook> {
  const w = await getWebhookByName(db, scope.project.id, scope.env, name);
  if (!w) throw WebhookErrors.notFound(name);
  return w;
}

export const jobNotFound = (id: string) => new AppError('ERR::JOB::NOT_FOUND', `job ${id} does not exist in this project and environment`);

/** The scope's job of that id (a uuid), or ERR::JOB::NOT_FOUND. */
export async function findJobInScope(db: Db, scope: Scope, id: string): Promise<Job> {
  const job = await getJobInScope(db, id, scope.project.id, scope.env);
  if (!job) throw jobNotFound(id);
  return job;
}
