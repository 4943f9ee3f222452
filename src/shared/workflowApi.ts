// Signal, query and update definitions shared by workflows, the API and
// tests. Workflow-safe: @temporalio/workflow's define* are plain factories.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JobStatus } from './names';

// ---- job workflow (job:<uuid>) ----

export interface JobState {
  status: JobStatus;
  /** Current delivery series: 0 for the first, +1 per replay. */
  series: number;
  /** Delivery attempts made so far in the current series. */
  attempts: number;
  maxAttempts: number;
  /** The wait in progress before the next attempt, or null. */
  waitingMs: number | null;
  lastErrorCode: string | null;
}

export const jobStateQuery = defineQuery<JobState>('jobState');

/** Deliver again: a new attempt series with the same Job-Id. replayId makes repeats harmless. */
export const replayJobSignal = defineSignal<[{ replayId: string }]>('replay');

/** A capture slot of the job's project was granted to it: run the capture now. */
export const slotGrantedSignal = defineSignal('slotGranted');

/**
 * The webhook changed (disabled): stop waiting and make the next attempt now,
 * which ends the series. Sent to jobs and to crawler events' retry workflows.
 */
export const wakeJobSignal = defineSignal('wake');

// ---- webhook entity workflow (webhook:<uuid>) ----

export interface AttemptOutcome {
  jobId: string;
  series: number;
  attempt: number;
  success: boolean;
}

export interface WebhookEntityState {
  webhookId: string;
  status: 'enabled' | 'disabled';
  disabledReason: string | null;
  consecutiveFailedCount: number;
  disableAfter: number;
  /** Outcomes applied since the workflow first started (across continue-as-new). */
  outcomesApplied: number;
  replaysRequested: number;
}

/**
 * Every delivery attempt reports its outcome here. A signal, not an update:
 * a flood of failures is thousands of reports, and a workflow accepts only a
 * few updates in flight. The decision reaches attempts through PostgreSQL,
 * which every attempt reads before it sends.
 */
export const attemptOutcomeSignal = defineSignal<[AttemptOutcome]>('attemptOutcome');
/**
 * Several outcomes in one signal, applied in order: a worker sends the
 * outcomes that arrived while its previous report to the same webhook was in
 * flight, so a busy webhook costs its entity one signal per round trip, not
 * one per attempt. (attemptOutcome stays for histories that carry it.)
 */
export const attemptOutcomesSignal = defineSignal<[AttemptOutcome[]]>('attemptOutcomes');
export const webhookStateQuery = defineQuery<WebhookEntityState>('state');

export interface SetWebhookStatus {
  status: 'enabled' | 'disabled';
  /** Why an operator disabled it; enabling clears the reason and resets the count. */
  reason?: string;
}
/** Returns once the new state is in PostgreSQL, so the API can answer with it. */
export const setWebhookStatusUpdate = defineUpdate<WebhookEntityState, [SetWebhookStatus]>('setStatus');

/** Bulk replay of every failed delivery of the webhook (optionally created since an ISO time). */
export const replayFailedSignal = defineSignal<[{ replayId: string; since: string | null }]>('replayFailed');

// ---- crawl and batch scrape (crawl:<uuid>, crawl:<uuid>:events, event:<uuid>) ----

/** DELETE /v{1,2}/crawl/:id: no new page starts; the crawl ends with its terminal event. */
export const cancelCrawlSignal = defineSignal('cancelCrawl');

/** Events up to this seq are stored and may be sent (the crawl appends, the events workflow sends). */
export const eventsAppendedSignal = defineSignal<[{ upTo: number }]>('eventsAppended');

export interface CrawlProgress {
  status: 'scraping' | 'completed' | 'failed' | 'cancelled';
  pagesInFlight: number;
  /** Pages finished in this run (continue-as-new starts it again). */
  pagesThisRun: number;
  runs: number;
}
export const crawlProgressQuery = defineQuery<CrawlProgress>('crawlProgress');
