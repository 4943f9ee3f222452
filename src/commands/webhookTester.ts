import { randomUUID } from 'node:crypto';
import type { Config } from '../config';
import type { Db } from '../db/pool';
import type { Webhook } from '../db/rows';
import { signForWebhook } from '../delivery/deliver';
import { serialize } from '../delivery/payload';
import { sendDelivery } from '../delivery/send';
import { AddressGuard } from '../net/addressGuard';
import { createGuardedAgent } from '../net/httpClient';
import { findWebhookInScope, type Scope } from './scope';

export interface WebhookTesterDeps {
  db: Db;
  config: Pick<Config, 'webhook'>;
}

export interface TestDeliveryOutcome {
  success: boolean;
  statusCode: number | null;
  durationMs: number;
  errorCode: string | null;
  errorMessage: string | null;
}

/** A person waits on the page: a test gets at most this long, whatever WEBHOOK_TIMEOUT_MS says. */
const TEST_TIMEOUT_CAP_MS = 10_000;

/**
 * One signed POST of a small test document to the webhook's URL, through the
 * same signer, sender and address guard as real deliveries. It is not
 * recorded and not reported to the entity: it is not a job's delivery, so it
 * neither counts in the success rate nor moves the consecutive-failure count
 * (a disabled webhook can be tested before it is re-enabled).
 */
export async function webhookTester(
  deps: WebhookTesterDeps,
  req: { scope: Scope; name: string },
): Promise<{ webhook: Webhook; outcome: TestDeliveryOutcome }> {
  const w = await findWebhookInScope(deps.db, req.scope, req.name);
  const projectName = req.scope.project.name;
  const id = randomUUID();
  const startedAt = new Date();
  const doc = {
    uuid: id,
    test: true,
    message: 'Test delivery from the Hookshot dashboard; verify its signature as any other delivery.',
    created_at: startedAt.toISOString(),
    context: { webhook: { name: w.name, secret: w.secret, consecutive_failed_count: w.consecutive_failed_count }, env: w.env, project: projectName },
  };
  const prepared = signForWebhook(w, serialize(doc, w.content_type), {
    contentType: w.content_type,
    env: w.env,
    projectName,
    resourceType: 'test',
    jobId: id,
    logUrl: null,
    timestamp: startedAt,
  });
  // The API process holds no webhook dispatcher of its own (workers do); one
  // per test, closed after, keeps no sockets open between tests.
  const http = createGuardedAgent({ guard: new AddressGuard(deps.config.webhook.allowedCidrs) });
  try {
    const { sent } = await sendDelivery(prepared, {
      http,
      timeoutMs: Math.min(deps.config.webhook.timeoutMs, TEST_TIMEOUT_CAP_MS),
      requireHttps: deps.config.webhook.requireHttps,
      startedAt,
    });
    return {
      webhook: w,
      outcome: {
        success: sent.success,
        statusCode: sent.status_code,
        durationMs: sent.duration_ms,
        errorCode: sent.error_code,
        errorMessage: sent.error_message,
      },
    };
  } finally {
    await http.close().catch(() => undefined);
  }
}
