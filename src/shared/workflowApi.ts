// Signal, query and update definitions shared by workflows, the API and
// tests. Workflow-safe: @temporalio/workflow's define* are plain factories.
import { defineQuery } from '@temporalio/workflow';
import type { JobStatus } from './names';

export interface JobState {
  status: JobStatus;
  /** Delivery attempts made so far in the current series. */
  attempts: number;
  maxAttempts: number;
  /** The wait in progress before the next attempt, or null. */
  waitingMs: number | null;
  lastErrorCode: string | null;
}

export const jobStateQuery = defineQuery<JobState>('jobState');
