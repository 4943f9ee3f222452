import type { Db } from '../db/pool';
import { rotateSigningSecret } from '../db/repositories/webhooks';
import type { Webhook } from '../db/rows';
import { WebhookErrors } from '../errors';
import { findWebhookInScope, type Scope } from './scope';

export interface WebhookSecretRotatorDeps {
  db: Db;
}

/**
 * A new signing secret; the old one signs nothing from now on (attempts read
 * the webhook row before they sign). Returns the webhook with the new secret.
 */
export async function webhookSecretRotator(deps: WebhookSecretRotatorDeps, req: { scope: Scope; name: string }): Promise<Webhook> {
  const w = await findWebhookInScope(deps.db, req.scope, req.name);
  const rotated = await rotateSigningSecret(deps.db, w.id);
  // Deleted between the two statements.
  if (!rotated) throw WebhookErrors.notFound(req.name);
  return rotated;
}
