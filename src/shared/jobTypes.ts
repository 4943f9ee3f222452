// Workflow ↔ activity contracts. Small values only: history carries IDs and
// summaries, never page content.
import type { JobKind, JobStatus } from './names';

export interface JobWorkflowInput {
  jobId: string;
  kind: JobKind;
  /** The webhook's uuid: its entity workflow gets every attempt's outcome. Absent in old histories. */
  webhookId?: string | null;
  /** 'replay': the result is stored already; only deliver (a new series). */
  mode?: 'new' | 'replay';
  /** Consecutive failures that disable a webhook (entity workflow input). */
  disableAfter?: number;
  /** A short capture (plain scrape): run it as a local activity, sparing a server round trip. */
  captureLocal?: boolean;
  /** false for synchronous jobs: nothing to deliver. */
  deliver: boolean;
  /** Waits between failed attempts; attempts = waits + 1. */
  retryScheduleMs: number[];
  /** One attempt's HTTP limit; sizes the activity timeout. */
  deliveryTimeoutMs: number;
}

export interface RunJobOutcome {
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
  /** Whether a failure will be followed by another attempt (sets job status). */
  willRetry: boolean;
  /** When set, the activity itself reports the outcome to the webhook's entity. */
  report?: { webhookId: string; disableAfter: number };
}

export interface DeliveryAttemptOutcome {
  success: boolean;
  statusCode: number | null;
  errorCode: string | null;
  /** Server's Retry-After on 429/503, already capped; null when absent. */
  retryAfterMs: number | null;
  /** The webhook is disabled or gone: end this series without further attempts. */
  stop?: boolean;
}

export interface FinishJobInput {
  jobId: string;
  status: Extract<JobStatus, 'delivered' | 'done' | 'failed'>;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface WebhookEvent {
  kind: 'warning' | 'disabled' | 'enabled' | 'disabled_manually';
  /** Percent of the threshold for warnings; the threshold for disabled. */
  threshold: number;
  count: number;
  /** Per-webhook sequence number: the notification's dedupe key. */
  seq: number;
}

export interface StoredWebhookState {
  status: 'enabled' | 'disabled';
  disabledReason: string | null;
  consecutiveFailedCount: number;
}
