import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/pool';
import { countFailedWebhookEvents } from '../db/repositories/crawlEvents';
import { countFailedDeliveries } from '../db/repositories/jobs';
import type { Webhook } from '../db/rows';
import { WebhookErrors } from '../errors';
import { webhookWorkflowId } from '../shared/names';
import { replayFailedSignal } from '../shared/workflowApi';
import { ensureWebhookEntity } from '../temporal/webhookEntity';
import { findWebhookInScope, type Scope } from './scope';

export interface FailedDeliveriesReplayerDeps {
  db: Db;
  temporal: Client;
  config: Pick<Config, 'temporal' | 'webhook'>;
}

export interface FailedDeliveriesReplay {
  webhook: Webhook;
  replayId: string;
  /** The failed deliveries there are as the replay is asked for: what the entity will find. */
  failedDeliveries: number;
}

/**
 * "Replay all failed" of a webhook (optionally only jobs created since an
 * ISO time; a crawler's failed events on it too), for the API and the dashboard alike. It goes through the
 * webhook's entity, which pages the failed jobs and replays each in turn,
 * so a webhook with thousands of them is not flooded at once, and a repeated
 * request is serialized behind the first. A disabled webhook is refused
 * (ERR::WEBHOOK::DISABLED): nothing it would send could be delivered.
 */
export async function failedDeliveriesReplayer(
  deps: FailedDeliveriesReplayerDeps,
  req: { scope: Scope; name: string; since: string | null },
): Promise<FailedDeliveriesReplay> {
  const { db, temporal, config } = deps;
  const w = await findWebhookInScope(db, req.scope, req.name);
  if (w.status === 'disabled') throw WebhookErrors.disabled(w.name);
  // Counted before the signal: once the entity has it, replayed jobs leave
  // the failed state and the count would depend on how far it got.
  // A crawler's events on this webhook are replayed with its jobs.
  const failedDeliveries = (await countFailedDeliveries(db, w.id, req.since)) + (await countFailedWebhookEvents(db, w.id, req.since));
  const replayId = randomUUID();
  await ensureWebhookEntity(temporal, config.temporal.taskQueue, w.id, config.webhook.disableAfter);
  await temporal.workflow.getHandle(webhookWorkflowId(w.id)).signal(replayFailedSignal, { replayId, since: req.since });
  return { webhook: w, replayId, failedDeliveries };
}
