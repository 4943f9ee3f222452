import type { Client } from '@temporalio/client';
import { withTransaction, type Db } from '../db/pool';
import { lockProject } from '../db/repositories/projects';
import { deleteWebhookIfIdle } from '../db/repositories/webhooks';
import type { Webhook } from '../db/rows';
import { AppError } from '../errors';
import { webhookWorkflowId } from '../shared/names';
import { findWebhookInScope, type Scope } from './scope';

export interface WebhookDeleterDeps {
  db: Db;
  temporal: Client;
}

/**
 * Deletes the webhook unless deliveries to it are pending
 * (ERR::WEBHOOK::DELIVERIES_PENDING, 409), then ends its entity workflow.
 * Returns the webhook as it was.
 */
export async function webhookDeleter(deps: WebhookDeleterDeps, req: { scope: Scope; name: string }): Promise<Webhook> {
  const w = await findWebhookInScope(deps.db, req.scope, req.name);
  const { deleted, pending } = await withTransaction(deps.db, async (c) => {
    // The project's lock orders the delete with submissions, which count the queue under it.
    await lockProject(c, w.project_id);
    return deleteWebhookIfIdle(c, w);
  });
  if (!deleted) {
    throw new AppError(
      'ERR::WEBHOOK::DELIVERIES_PENDING',
      `webhook "${w.name}" still has ${pending} pending deliveries; disable it and wait for them to finish, or retry later`,
    );
  }
  // Its entity has nothing left to serialize. One that never started (or
  // already ended) is no reason to fail a delete that has happened.
  await deps.temporal.workflow
    .getHandle(webhookWorkflowId(w.id))
    .terminate('webhook deleted')
    .catch(() => undefined);
  return w;
}
