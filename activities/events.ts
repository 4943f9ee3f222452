import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { getEventSecret } from '../src/db/repositories/account';
import {
  beginEventSeries,
  listEvents,
  loadEventAttemptContext,
  maxEventSeq,
  noteEventAttempt,
  readWebhookAtGate,
  recordEventAttempt,
} from '../src/db/repositories/crawlEvents';
import { getWebhookStatus } from '../src/db/repositories/webhooks';
import type { Attempt, Crawl, CrawlEvent } from '../src/db/rows';
import { prepareCrawlerEvent } from '../src/delivery/deliver';
import { prepareFirecrawlEvent } from '../src/delivery/firecrawlEvent';
import { sendDelivery } from '../src/delivery/send';
import type { EventAttemptInput, EventAttemptOutcome, EventDeliveryWorkflowInput } from '../src/shared/contracts/crawl';
import { eventDeliveryWorkflowId } from '../src/shared/names';
import { wakeJobSignal } from '../src/shared/workflowApi';
import { createEntityReporter } from '../src/temporal/outcomeReporter';
import type { ActivityDeps } from './deps';

const DISABLED = 'ERR::WEBHOOK::DISABLED';
const NOT_FOUND = 'ERR::WEBHOOK::NOT_FOUND';

const eventNotFound = (eventId: string) =>
  ApplicationFailure.create({ type: 'EventNotFound', message: `event ${eventId} not found`, nonRetryable: true });

/** Activities that send a crawl's events: the same sender, guard and attempt log as named webhooks. */
export function createEventActivities(deps: ActivityDeps) {
  const { db, config, logger } = deps;

  /** The ladder after a failed first attempt runs in a workflow of its own (event:<id>). */
  const startRetries = async (eventId: string, input: Omit<EventDeliveryWorkflowInput, 'eventId'>) => {
    try {
      await deps.temporal.workflow.start('eventDeliveryWorkflow', {
        workflowId: eventDeliveryWorkflowId(eventId),
        taskQueue: config.temporal.taskQueue,
        args: [{ eventId, ...input }],
      });
    } catch (err) {
      // An earlier try of this activity started it already.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  };

  /** Counts a crawler event's attempts in its webhook's entity, exactly as a job's (key: event id/series/attempt). */
  const { report } = createEntityReporter(deps.temporal, { taskQueue: config.temporal.taskQueue, disableAfter: config.webhook.disableAfter });

  /**
   * One attempt of a Scrapfly crawler's event to the crawler's named webhook,
   * as a job's delivery: load and gate (disabled or gone: an attempt is
   * recorded, nothing is sent, the series ends) → prepare and sign (Scrapfly
   * headers and signature over the stored JSON bytes) → send → record →
   * report to the webhook's entity. A failure that disabled the webhook (or
   * found it disabled since) ends the series with `stop`.
   */
  const deliverCrawlerEvent = async (
    input: EventAttemptInput,
    ctx: { event: CrawlEvent; crawl: Crawl; prior: Attempt | null; now: Date },
  ): Promise<EventAttemptOutcome> => {
    const { event, crawl, prior } = ctx;
    const first = input.attempt === 1;
    const key = { jobId: event.id, series: input.series, attempt: input.attempt };
    const log = logger.child({
      crawlId: crawl.id,
      eventId: event.id,
      event: event.event,
      webhookId: crawl.webhook_id,
      webhook: crawl.webhook_name,
      series: input.series,
      attempt: input.attempt,
    });

    // Nothing is sent: the attempt is recorded and this series ends (a replay after re-enabling sends it).
    const endSeries = async (code: typeof DISABLED | typeof NOT_FOUND, message: string, at: Date, url: string): Promise<EventAttemptOutcome> => {
      if (!prior) {
        await recordEventAttempt(db, {
          event_id: event.id,
          webhook_id: crawl.webhook_id,
          series: input.series,
          attempt: input.attempt,
          started_at: at,
          duration_ms: 0,
          url,
          final_url: null,
          success: false,
          status_code: null,
          error_code: code,
          error_message: message,
          request_headers: {},
          response_headers: null,
          response_snippet: null,
        });
        log.info({ errorCode: code }, message);
      }
      await noteEventAttempt(db, event.id, { first, delivery: 'failed' });
      return { success: false, statusCode: null, errorCode: code, retryAfterMs: null, stop: code };
    };

    let outcome: Omit<EventAttemptOutcome, 'stop'>;
    let webhookId = crawl.webhook_id;
    if (prior) {
      // A retry of an attempt that was recorded (a later step failed): not sent again.
      if (prior.error_code === DISABLED || prior.error_code === NOT_FOUND)
        return endSeries(prior.error_code, prior.error_message ?? '', prior.started_at, prior.url);
      outcome = { success: prior.success, statusCode: prior.status_code, errorCode: prior.error_code, retryAfterMs: null };
      webhookId = prior.webhook_id ?? webhookId;
    } else {
      const gate = webhookId ? await readWebhookAtGate(db, webhookId) : null;
      if (!gate) return endSeries(NOT_FOUND, `webhook "${crawl.webhook_name ?? ''}" no longer exists`, ctx.now, '');
      const { webhook } = gate;
      if (webhook.status === 'disabled') {
        const reason = webhook.disabled_reason ?? 'manual';
        return endSeries(DISABLED, `webhook "${webhook.name}" is disabled (${reason}); nothing was sent`, gate.gateAt, webhook.url);
      }
      const beat = setInterval(() => heartbeat(), 1000);
      const prepared = prepareCrawlerEvent(webhook, {
        event,
        crawl,
        projectName: gate.projectName,
        resourceType: config.webhook.crawlerResourceType,
        timestamp: gate.gateAt,
      });
      const sent = await sendDelivery(prepared, {
        http: deps.webhookHttp,
        timeoutMs: config.webhook.timeoutMs,
        requireHttps: config.webhook.requireHttps,
        startedAt: gate.gateAt,
      }).finally(() => clearInterval(beat));
      await recordEventAttempt(db, { ...sent.sent, event_id: event.id, webhook_id: webhook.id, series: input.series, attempt: input.attempt });
      outcome = sent.outcome;
      deps.metrics.delivery(outcome.success ? 'success' : 'failure', sent.sent.duration_ms);
      log.info(
        { success: outcome.success, statusCode: outcome.statusCode, errorCode: outcome.errorCode },
        outcome.success ? 'event delivered' : 'event attempt failed',
      );
    }

    const retrying = !outcome.success && input.willRetry;
    // The first attempt hands its retries to eventDeliveryWorkflow.
    const handedOver = retrying && !!input.startRetries;
    let stop: EventAttemptOutcome['stop'] = null;
    if (retrying) {
      // In this order, so no retry sleeps out its ladder on a disabled
      // webhook: the event shows as waiting (what the entity's wake lists),
      // its retry workflow exists, and only then is the status read. A
      // disable stored before the read is seen here; one stored after it
      // wakes the retry workflow through the entity's stop run.
      await noteEventAttempt(db, event.id, { first, delivery: 'pending' });
      if (handedOver && input.startRetries) {
        await startRetries(event.id, { ...input.startRetries, failedAttempt: input.attempt, retryAfterMs: outcome.retryAfterMs });
      }
      const now = webhookId ? await getWebhookStatus(db, webhookId) : null;
      stop = now === 'enabled' ? null : now === null ? NOT_FOUND : DISABLED;
    }
    if (webhookId) await report(webhookId, { ...key, success: outcome.success });
    // The retry workflow was started already: wake it, and its next attempt ends the series at the gate.
    if (stop && handedOver) {
      await deps.temporal.workflow
        .getHandle(eventDeliveryWorkflowId(event.id))
        .signal(wakeJobSignal)
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'retry workflow not woken; it stops at its next attempt'));
    }
    await noteEventAttempt(db, event.id, {
      first,
      delivery: outcome.success ? 'delivered' : retrying && (stop === null || handedOver) ? 'pending' : 'failed',
    });
    return { ...outcome, stop };
  };

  return {
    /** The highest event seq stored for the crawl (-1: none yet). */
    async lastEventSeq({ crawlId }: { crawlId: string }): Promise<number> {
      return maxEventSeq(db, crawlId);
    },

    /** Stored events from `fromSeq`, in order (ids and names; the bytes stay in PostgreSQL). */
    async listCrawlEvents(input: { crawlId: string; fromSeq: number; limit: number }) {
      return listEvents(db, input.crawlId, input.fromSeq, input.limit);
    },

    /**
     * One attempt of one event, as a pipeline: load → prepare and sign →
     * send → record. A retried activity whose attempt was recorded does not
     * send again. The first attempt hands a failure to the retry workflow.
     */
    async deliverEvent(input: EventAttemptInput): Promise<EventAttemptOutcome> {
      const ctx = await loadEventAttemptContext(db, input.eventId, input.series, input.attempt);
      if (!ctx) throw eventNotFound(input.eventId);
      if (ctx.crawl.kind === 'crawler') return deliverCrawlerEvent(input, ctx);
      const { event, crawl } = ctx;
      const log = logger.child({ crawlId: crawl.id, eventId: event.id, event: event.event, seq: event.seq, attempt: input.attempt });
      let outcome: EventAttemptOutcome;
      if (ctx.prior) {
        outcome = { success: ctx.prior.success, statusCode: ctx.prior.status_code, errorCode: ctx.prior.error_code, retryAfterMs: null };
      } else if (!crawl.webhook) {
        outcome = { success: false, statusCode: null, errorCode: 'ERR::WEBHOOK::NOT_FOUND', retryAfterMs: null };
      } else {
        const secret = ctx.secret ?? (await getEventSecret(db, crawl.project_id, crawl.env));
        const beat = setInterval(() => heartbeat(), 1000);
        const sent = await sendDelivery(prepareFirecrawlEvent(crawl.webhook, event.body, secret), {
          http: deps.webhookHttp,
          timeoutMs: config.webhook.timeoutMs,
          // Inline webhooks are HTTPS only, whatever WEBHOOK_REQUIRE_HTTPS says.
          requireHttps: true,
          startedAt: ctx.now,
        }).finally(() => clearInterval(beat));
        await recordEventAttempt(db, { ...sent.sent, event_id: event.id, series: input.series, attempt: input.attempt });
        outcome = sent.outcome;
        deps.metrics.delivery(outcome.success ? 'success' : 'failure', sent.sent.duration_ms);
        log.info(
          { success: outcome.success, statusCode: outcome.statusCode, errorCode: outcome.errorCode },
          outcome.success ? 'event delivered' : 'event attempt failed',
        );
      }
      const retrying = !outcome.success && input.willRetry;
      if (retrying && input.startRetries) {
        await startRetries(event.id, { ...input.startRetries, failedAttempt: input.attempt, retryAfterMs: outcome.retryAfterMs });
      }
      await noteEventAttempt(db, event.id, {
        first: input.attempt === 1,
        delivery: outcome.success ? 'delivered' : retrying ? 'pending' : 'failed',
      });
      return outcome;
    },

    /** A bulk replay's new series of one event: it owes a delivery again. */
    async beginEventSeries({ eventId }: { eventId: string }): Promise<void> {
      await beginEventSeries(db, eventId);
    },
  };
}

export type EventActivities = ReturnType<typeof createEventActivities>;
