import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/pool';
import { createWebhook } from '../db/repositories/webhooks';
import type { Webhook } from '../db/rows';
import { WebhookErrors } from '../errors';
import type { Logger } from '../logger';
import { ensureWebhookEntity } from '../temporal/webhookEntity';
import type { Scope } from './scope';

export interface WebhookCreatorDeps {
  db: Db;
  temporal: Client;
  config: Pick<Config, 'temporal' | 'webhook'>;
  logger: Logger;
}

export type NewWebhook = Pick<Webhook, 'name' | 'url'> & Partial<Pick<Webhook, 'secret' | 'content_type' | 'content_encoding' | 'standard_webhooks'>>;

/**
 * Stores a webhook under a name unique in its scope (ERR::WEBHOOK::ALREADY_EXISTS
 * otherwise) and starts its entity workflow webhook:<uuid>.
 */
export async function webhookCreator(deps: WebhookCreatorDeps, req: { scope: Scope; webhook: NewWebhook }): Promise<Webhook> {
  const { db, temporal, config, logger } = deps;
  const created = await createWebhook(db, { ...req.webhook, project_id: req.scope.project.id, env: req.scope.env });
  if (!created) throw WebhookErrors.duplicate(req.webhook.name);
  // Visible in the Web UI from the start; if Temporal is briefly away, the
  // first delivery starts the entity instead (signal-with-start), so the
  // webhook is created all the same.
  await ensureWebhookEntity(temporal, config.temporal.taskQueue, created.id, config.webhook.disableAfter).catch((err) =>
    logger.warn({ webhook: created.name, err: (err as Error).message }, 'webhook entity not started yet'),
  );
  return created;
}
