import { activityInfo, heartbeat } from '@temporalio/activity';
import { listWebhookEvents } from '../src/db/repositories/crawlEvents';
import { listWebhookJobs } from '../src/db/repositories/jobs';
import { getProjectById } from '../src/db/repositories/projects';
import { getWebhookById, insertNotification, storeEntityState } from '../src/db/repositories/webhooks';
import { request } from '../src/net/httpClient';
import type { StoredWebhookState, WebhookEvent, WebhookFanoutInput } from '../src/shared/contracts/webhook';
import { eventDeliveryWorkflowId, jobWorkflowId } from '../src/shared/names';
import { wakeJobSignal, type WebhookEntityState } from '../src/shared/workflowApi';
import { replayEvent } from '../src/temporal/eventReplay';
import { replayJob } from '../src/temporal/jobReplay';
import type { ActivityDeps } from './deps';

const FANOUT_PAGE = 100;
const FIRST_ID = '00000000-0000-0000-0000-000000000000';
const FANOUT_CONCURRENCY = 10;

/** Activities of the webhook entity and its fan-out children. */
export function createWebhookActivities(deps: ActivityDeps) {
  const { config, logger } = deps;
  const db = deps.entityDb ?? deps.db;

  // Best effort: an unreachable alert URL must not hold up the webhook's state.
  const postAlert = async (url: string, body: unknown) => {
    try {
      const res = await request(deps.webhookHttp, {
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Hookshot-Alert/0.1' },
        body: Buffer.from(JSON.stringify(body)),
        timeoutMs: 10_000,
        maxBodyBytes: 1024,
      });
      if (res.status >= 300) logger.warn({ url, status: res.status }, 'alert URL answered with an error');
    } catch (err) {
      logger.warn({ url, err: (err as Error).message }, 'alert URL unreachable');
    }
  };

  return {
    async loadWebhookState({ webhookId }: { webhookId: string }): Promise<StoredWebhookState | null> {
      const w = await getWebhookById(db, webhookId);
      return w && { status: w.status, disabledReason: w.disabled_reason, consecutiveFailedCount: w.consecutive_failed_count };
    },

    /**
     * Writes the entity's state, records its notifications once each, POSTs
     * the project's alert URL on a disable, and logs. Returns true when the
     * webhook no longer exists.
     */
    async persistWebhookState(input: { state: WebhookEntityState; events: WebhookEvent[] }): Promise<boolean> {
      const s = input.state;
      const disabling = input.events.some((e) => e.kind === 'disabled' || e.kind === 'disabled_manually');
      const w = await storeEntityState(db, s.webhookId, s, disabling);
      if (!w) return true;
      for (const e of input.events) {
        const message = describeEvent(w.name, e);
        const inserted = await insertNotification(db, {
          project_id: w.project_id,
          env: w.env,
          webhook_id: w.id,
          kind: `webhook.${e.kind}`,
          message,
          // The name too: a deleted webhook's notices outlive the row they point at.
          details: { count: e.count, threshold: e.threshold, webhook_name: w.name },
          dedupe_key: `webhook:${w.id}:${e.seq}`,
        });
        // Only the first write of the event counts, like the alert below: an activity retry is not a second disable.
        if (inserted && e.kind === 'disabled') deps.metrics.webhookDisabled('consecutive_failures');
        if (inserted && e.kind === 'disabled_manually') deps.metrics.webhookDisabled('manual');
        const level = e.kind === 'disabled' ? 'warn' : 'info';
        logger[level]({ webhook: w.name, webhookId: w.id, project: w.project, env: w.env, event: e.kind, count: e.count }, message);
        // Only the first write of this event alerts, so an activity retry does not POST twice.
        if (e.kind === 'disabled' && inserted && w.alert_url) {
          await postAlert(w.alert_url, {
            event: 'webhook.disabled',
            project: w.project,
            env: w.env,
            webhook: w.name,
            reason: 'consecutive_failures',
            consecutive_failed_count: e.count,
            message,
          });
        }
      }
      return false;
    },

    /**
     * Signals a webhook's jobs page by page with bounded concurrency: a
     * replay of each failed one, or a wake of each waiting on the ladder;
     * then the same for the events of crawlers that name this webhook.
     * The cursor is heartbeated, so a retry resumes after the last page done.
     */
    async signalWebhookJobs(input: WebhookFanoutInput): Promise<number> {
      const resumed = activityInfo().heartbeatDetails as { after?: string; eventsAfter?: string } | undefined;
      let after = resumed?.after ?? FIRST_ID;
      const webhook = await getWebhookById(db, input.webhookId);
      if (!webhook) return 0;
      const projectName = input.action === 'replay' ? ((await getProjectById(db, webhook.project_id))?.name ?? '') : '';
      let signalled = 0;
      // The jobs first, then a crawler's events on this webhook; a retry resumes where the last try stopped.
      for (;;) {
        if (resumed?.eventsAfter !== undefined) break;
        const page = await listWebhookJobs(db, input.webhookId, input.action === 'replay' ? 'failed' : 'retrying', {
          since: input.since,
          after,
          limit: FANOUT_PAGE,
        });
        if (page.length === 0) break;
        for (let i = 0; i < page.length; i += FANOUT_CONCURRENCY) {
          await Promise.all(
            page.slice(i, i + FANOUT_CONCURRENCY).map((job) =>
              input.action === 'replay'
                ? replayJob(deps.temporal, config, job, projectName, input.requestId)
                : deps.temporal.workflow
                    .getHandle(jobWorkflowId(job.id))
                    .signal(wakeJobSignal)
                    .catch(() => undefined),
            ),
          );
        }
        signalled += page.length;
        after = page.at(-1)?.id ?? after;
        heartbeat({ after });
      }
      // Crawler events: a failed one is sent again (a new series); one waiting
      // on the ladder is woken, and its next attempt ends at the gate.
      let eventsAfter = resumed?.eventsAfter ?? FIRST_ID;
      for (;;) {
        const page = await listWebhookEvents(db, input.webhookId, input.action === 'replay' ? 'failed' : 'retrying', {
          since: input.since,
          after: eventsAfter,
          limit: FANOUT_PAGE,
        });
        if (page.length === 0) break;
        for (let i = 0; i < page.length; i += FANOUT_CONCURRENCY) {
          await Promise.all(
            page.slice(i, i + FANOUT_CONCURRENCY).map((event) =>
              input.action === 'replay'
                ? replayEvent(deps.temporal, config, event)
                : deps.temporal.workflow
                    .getHandle(eventDeliveryWorkflowId(event.id))
                    .signal(wakeJobSignal)
                    .catch(() => undefined),
            ),
          );
        }
        signalled += page.length;
        eventsAfter = page.at(-1)?.id ?? eventsAfter;
        heartbeat({ after, eventsAfter });
      }
      logger.info({ webhookId: input.webhookId, action: input.action, signalled }, 'webhook jobs signalled');
      return signalled;
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;

function describeEvent(name: string, e: WebhookEvent): string {
  switch (e.kind) {
    case 'warning':
      return `webhook "${name}" has failed ${e.count} time${e.count === 1 ? '' : 's'} in a row (${e.threshold}% of the disable threshold)`;
    case 'disabled':
      return `webhook "${name}" was disabled after ${e.count} consecutive failed deliveries`;
    case 'disabled_manually':
      return `webhook "${name}" was disabled`;
    case 'enabled':
      return `webhook "${name}" was enabled; its failure count is reset`;
  }
}
