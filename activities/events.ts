import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { getEventSecret } from '../src/db/repositories/account';
import { listEvents, loadEventAttemptContext, maxEventSeq, noteEventAttempt, recordEventAttempt } from '../src/db/repositories/crawlEvents';
import { prepareFirecrawlEvent } from '../src/delivery/firecrawlEvent';
import { sendDelivery } from '../src/delivery/send';
import type { EventAttemptInput, EventAttemptOutcome, EventDeliveryWorkflowInput } from '../src/shared/contracts/crawl';
import { eventDeliveryWorkflowId } from '../src/shared/names';
import type { ActivityDeps } from './deps';

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
  };
}

export type EventActivities = ReturnType<typeof createEventActivities>;
