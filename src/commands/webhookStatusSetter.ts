import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/pool';
import { getWebhookByName } from '../db/repositories/webhooks';
import type { Webhook } from '../db/rows';
import { setWebhookStatus } from '../temporal/webhookEntity';
import { findWebhookInScope, type Scope } from './scope';

export interface WebhookStatusSetterDeps {
  db: Db;
  temporal: Client;
  config: Pick<Config, 'temporal' | 'webhook'>;
}

/**
 * Enables or disables a webhook through its entity workflow, the one writer
 * of its status (enabling also resets its failure count; disabling wakes the
 * jobs waiting to deliver to it). Resolves once the entity has stored the
 * change, with the webhook as stored then.
 */
export async function webhookStatusSetter(
  deps: WebhookStatusSetterDeps,
  req: { scope: Scope; name: string; status: Webhook['status'] },
): Promise<Webhook> {
  const { db, temporal, config } = deps;
  const w = await findWebhookInScope(db, req.scope, req.name);
  await setWebhookStatus(temporal, config.temporal.taskQueue, w.id, config.webhook.disableAfter, {
    status: req.status,
    ...(req.status === 'disabled' ? { reason: 'manual' } : {}),
  });
  return (await getWebhookByName(db, w.project_id, w.env, w.name)) ?? w;
}
