// Workflow ↔ activity contracts. Small values only: history carries IDs and
// summaries, never page content.
import type { FinalJobTransition } from '../jobStatus';
import type { JobKind, JobStatus } from '../names';

export interface JobWorkflowInput {
  jobId: string;
  kind: JobKind;
  /** The webhook's uuid (its entity counts every attempt's outcome); null for synchronous jobs. */
  webhookId: string | null;
  /** 'replay': the result is stored already; only deliver (a new series). */
  mode: 'new' | 'replay';
  /** A short capture (plain scrape): run it as a local activity, sparing a server round trip. */
  captureLocal: boolean;
  /** The capture's own limit (SCRAPE_TIMEOUT_MS); sizes the capture activity's timeout. */
  captureTimeoutMs: number;
  /**
   * While waiting in line for a capture slot, ask again this often in case a
   * wake-up signal was lost (the wake is a signal; this is only a safety net).
   */
  slotRecheckMs: number;
  /** false for synchronous jobs: nothing to deliver. */
  deliver: boolean;
  /** Waits between failed attempts; attempts = waits + 1. */
  retryScheduleMs: number[];
  /** Each wait is spread by up to ± this fraction, so failures that happened together are not retried together. */
  retryJitter: number;
  /** One attempt's HTTP limit; sizes the delivery activity's timeout. */
  deliveryTimeoutMs: number;
  /**
   * Attempts run as local activities. Input, not a patch marker: workflows
   * started before this existed (no field) keep scheduling activity tasks,
   * so their histories replay unchanged.
   */
  deliveryLocal?: boolean;
}

export interface JobWorkflowResult {
  status: JobStatus;
  /** Delivery attempts made, all series together. */
  attempts: number;
}

export interface RunJobOutcome {
  /** No capture slot of the project was free: the job waits in line and is woken by slotGranted. */
  queued: boolean;
  ok: boolean;
  errorCode: string | null;
  statusCode: number | null;
  sizeBytes: number;
}

export interface DeliveryAttemptInput {
  jobId: string;
  /** 0 for the first series; each replay starts the next one (same Job-Id). */
  series: number;
  attempt: number;
  /** Whether a failure will be followed by another attempt. */
  willRetry: boolean;
  /**
   * The job's transition to write with a failed attempt (the workflow's
   * choice). Absent in attempts scheduled before transitions were named:
   * then `willRetry` says it, as it did.
   */
  onFailure?: 'retryScheduled' | null;
}

export interface RunJobInput {
  jobId: string;
  /**
   * The transition to write once the capture has ended: `captured` for a
   * job with a webhook, null for a synchronous job (it stays running until
   * finishJob). Absent in calls scheduled before transitions were named.
   */
  afterCapture?: 'captured' | null;
}

export interface RecordCaptureFailureInput {
  jobId: string;
  errorCode: string;
  errorMessage: string;
  /** As RunJobInput.afterCapture. */
  transition?: 'captured' | null;
}

export interface DeliveryAttemptOutcome {
  success: boolean;
  statusCode: number | null;
  errorCode: string | null;
  /** Server's Retry-After on 429/503, already capped; null when absent. */
  retryAfterMs: number | null;
  /**
   * Set when this series must end now, to the code it ends with: the webhook
   * is disabled or gone, either before the attempt (nothing was sent) or
   * because this failure disabled it.
   */
  stop: 'ERR::WEBHOOK::DISABLED' | 'ERR::WEBHOOK::NOT_FOUND' | null;
}

export interface FinishJobInput {
  jobId: string;
  transition?: FinalJobTransition;
  /** Older calls named the status instead of the transition. */
  status?: Extract<JobStatus, 'delivered' | 'done' | 'failed'>;
  errorCode: string | null;
  errorMessage: string | null;
}
