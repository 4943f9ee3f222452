import type { Db } from '../db/pool';
import { updateWebhook, type WebhookPatch } from '../db/repositories/webhooks';
import type { Webhook } from '../db/rows';
import { WebhookErrors } from '../errors';
import { findWebhookInScope, type Scope } from './scope';

export interface WebhookUpdaterDeps {
  db: Db;
}

/**
 * Changes the fields given. An undefined one (a form's blank "keep it"
 * field) is left as it is; only null clears. Status is not among them: it
 * has one writer, the entity (see webhookStatusSetter).
 */
export async function webhookUpdater(deps: WebhookUpdaterDeps, req: { scope: Scope; name: string; patch: WebhookPatch }): Promise<Webhook> {
  const w = await findWebhookInScope(deps.db, req.scope, req.name);
  const given = Object.fromEntries(Object.entries(req.patch).filter(([, v]) => v !== undefined)) as WebhookPatch;
  const updated = await updateWebhook(deps.db, w.id, given);
  // Deleted between the two statements.
  if (!updated) throw WebhookErrors.notFound(req.name);
  return updated;
}
