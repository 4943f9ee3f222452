// Workflow ↔ activity contracts. Small values only: history carries IDs and
// summaries, never page content.
import type { JobKind, JobStatus } from './names';

export interface JobWorkflowInput {
  jobId: string;
  kind: JobKind;
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
  series: number;
  attempt: number;
  /** Whether a failure will be followed by another attempt (sets job status). */
  willRetry: boolean;
}

export interface DeliveryAttemptOutcome {
  success: boolean;
  statusCode: number | null;
  errorCode: string | null;
  /** Server's Retry-After on 429/503, already capped; null when absent. */
  retryAfterMs: number | null;
}

export interface FinishJobInput {
  jobId: string;
  status: Extract<JobStatus, 'delivered' | 'done' | 'failed'>;
  errorCode: string | null;
  errorMessage: string | null;
}
