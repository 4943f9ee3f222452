// What the REST API and the dashboard both do to a webhook. Routes parse and
// present; the rules (scope, duplicate names, the entity as the one writer of
// status, no delete while deliveries are pending) live here once.
import { randomUUID } from 'node:crypto';
import type { ApiDeps } from '../api/context';
import { withTransaction } from '../db/pool';
import { lockProject } from '../db/repositories/projects';
import { createWebhook, deleteWebhookIfIdle, getWebhookByName, rotateSigningSecret, updateWebhook, type WebhookPatch } from '../db/repositories/webhooks';
import type { Env, Webhook } from '../db/rows';
import { signForWebhook } from '../delivery/deliver';
import { serialize } from '../delivery/payload';
import { sendDelivery } from '../delivery/send';
import { AppError, WebhookErrors } from '../errors';
import { AddressGuard } from '../net/addressGuard';
import { createGuardedAgent } from '../net/httpClient';
import { webhookWorkflowId } from '../shared/names';
import { ensureWebhookEntity, setWebhookStatus } from '../temporal/webhookEntity';

export type WebhookDeps = Pick<ApiDeps, 'db' | 'config' | 'temporal' | 'logger'>;
export interface WebhookScope {
  projectId: string;
  env: Env;
}

export type NewWebhook = Pick<Webhook, 'name' | 'url'> & Partial<Pick<Webhook, 'secret' | 'content_type' | 'content_encoding' | 'standard_webhooks'>>;

/** The scope's webhook of that name; any other project's or environment's is not found. */
export async function findWebhook(deps: Pick<WebhookDeps, 'db'>, scope: WebhookScope, name: string): Promise<Webhook> {
  const w = await getWebhookByName(deps.db, scope.projectId, scope.env, name);
  if (!w) throw WebhookErrors.notFound(name);
  return w;
}

export async function createWebhookCommand(deps: WebhookDeps, scope: WebhookScope, input: NewWebhook): Promise<Webhook> {
  const created = await createWebhook(deps.db, { ...input, project_id: scope.projectId, env: scope.env });
  if (!created) throw WebhookErrors.duplicate(input.name);
  // Visible in the Web UI from the start; if Temporal is briefly away, the
  // first delivery starts the entity instead (signal-with-start).
  await ensureWebhookEntity(deps.temporal, deps.config.temporal.taskQueue, created.id, deps.config.webhook.disableAfter).catch((err) =>
    deps.logger.warn({ webhook: created.name, err: (err as Error).message }, 'webhook entity not started yet'),
  );
  return created;
}

/** Changes the fields given; an undefined one (a form's blank "keep it" field) is left as it is, only null clears. */
export async function updateWebhookCommand(deps: Pick<WebhookDeps, 'db'>, w: Webhook, patch: WebhookPatch): Promise<Webhook> {
  const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as WebhookPatch;
  return (await updateWebhook(deps.db, w.id, given))!;
}

export async function rotateWebhookSecretCommand(deps: Pick<WebhookDeps, 'db'>, w: Webhook): Promise<Webhook> {
  return (await rotateSigningSecret(deps.db, w.id))!;
}

/** Deletes unless deliveries are pending (ERR::WEBHOOK::DELIVERIES_PENDING, 409). */
export async function deleteWebhookCommand(deps: WebhookDeps, w: Webhook): Promise<void> {
  const { deleted, pending } = await withTransaction(deps.db, async (c) => {
    await lockProject(c, w.project_id);
    return deleteWebhookIfIdle(c, w);
  });
  if (!deleted) {
    throw new AppError(
      'ERR::WEBHOOK::DELIVERIES_PENDING',
      `webhook "${w.name}" still has ${pending} pending deliveries; disable it and wait for them to finish, or retry later`,
    );
  }
  // Its entity has nothing left to serialize.
  await deps.temporal.workflow
    .getHandle(webhookWorkflowId(w.id))
    .terminate('webhook deleted')
    .catch(() => undefined);
}

/** Status changes go through the webhook's entity workflow, its one writer; returns the stored webhook after. */
export async function setWebhookStatusCommand(deps: WebhookDeps, w: Webhook, status: Webhook['status']): Promise<Webhook> {
  await setWebhookStatus(deps.temporal, deps.config.temporal.taskQueue, w.id, deps.config.webhook.disableAfter, {
    status,
    ...(status === 'disabled' ? { reason: 'manual' } : {}),
  });
  return (await getWebhookByName(deps.db, w.project_id, w.env, w.name)) ?? w;
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
export async function sendTestDelivery(deps: Pick<WebhookDeps, 'config'>, w: Webhook, projectName: string): Promise<TestDeliveryOutcome> {
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
    return { success: sent.success, statusCode: sent.status_code, durationMs: sent.duration_ms, errorCode: sent.error_code, errorMessage: sent.error_message };
  } finally {
    await http.close().catch(() => undefined);
  }
}
