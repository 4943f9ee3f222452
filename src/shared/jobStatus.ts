// A job's status as a state machine: the job workflow is its one owner. It
// moves through the named transitions below; the activities it calls write
// the transition they are told to (the jobs repository turns a transition
// into its row update), and the JobStatus search attribute is set from the
// same transition. Workflow-safe: pure data and functions.
import type { JobStatus } from './names';

export type { JobStatus };

/** A job row starts here (inserted by the submitter, before its workflow runs). */
export const INITIAL_JOB_STATUS: JobStatus = 'queued';

/**
 * What a transition does to `delivery_status`, the second column. It stays
 * because status alone cannot tell "failed, never started: nothing is owed"
 * (null, never replayed) from "its delivery failed" ('failed', replayable),
 * and the queue limit counts owed deliveries on its partial index.
 * `keep`: unchanged (null for a synchronous job).
 */
export type DeliveryEffect = 'pending' | 'delivered' | 'failed' | 'none' | 'keep';

/**
 * When the transition is shown in the Web UI (the JobStatus search attribute).
 * Only the statuses worth filtering on are written, one visibility write
 * fewer per step: `always`; `never` for a step that lasts milliseconds;
 * `browserCapture` for the steps of a browser capture, which takes seconds.
 */
export type Announce = 'always' | 'never' | 'browserCapture';

export interface JobTransitionRule {
  from: readonly JobStatus[];
  to: JobStatus;
  delivery: DeliveryEffect;
  announce: Announce;
  /** The row's completed_at: set on a final status, cleared when a new series begins. */
  completes: 'set' | 'clear' | 'keep';
}

const ACTIVE: readonly JobStatus[] = ['queued', 'running', 'delivering', 'retrying'];
const FINAL: readonly JobStatus[] = ['delivered', 'done', 'failed'];

/** The whole state machine: state × transition → state. */
export const JOB_TRANSITIONS = {
  /** A browser capture took its slot; its capture starts now. */
  slotGranted: { from: ['queued'], to: 'running', delivery: 'keep', announce: 'always', completes: 'keep' },
  /** The capture runs (written when the slot is held; a rerun of the capture starts it again). */
  captureStarted: { from: ['queued', 'running'], to: 'running', delivery: 'keep', announce: 'never', completes: 'keep' },
  /** The capture ended (result or its failure stored) and the job has a webhook: delivery follows. */
  captured: { from: ['queued', 'running'], to: 'delivering', delivery: 'keep', announce: 'browserCapture', completes: 'keep' },
  /** An attempt failed and the ladder has another step: the job waits. */
  retryScheduled: { from: ['delivering', 'retrying'], to: 'retrying', delivery: 'keep', announce: 'always', completes: 'keep' },
  /** The wait is over (or was cut short): the next attempt is made. */
  retryDue: { from: ['retrying', 'delivering'], to: 'delivering', delivery: 'keep', announce: 'never', completes: 'keep' },
  /** The receiver took it. */
  delivered: { from: ['delivering', 'retrying'], to: 'delivered', delivery: 'delivered', announce: 'always', completes: 'set' },
  /** The ladder ran out, or the webhook was disabled or deleted. */
  deliveryFailed: { from: ['delivering', 'retrying'], to: 'failed', delivery: 'failed', announce: 'always', completes: 'set' },
  /** A synchronous job's capture succeeded. */
  completed: { from: ['queued', 'running'], to: 'done', delivery: 'keep', announce: 'always', completes: 'set' },
  /** A synchronous job's capture failed. */
  captureFailed: { from: ['queued', 'running'], to: 'failed', delivery: 'keep', announce: 'always', completes: 'set' },
  /** A replay: a new delivery series, from any point after the capture (a closed job's workflow starts again in `queued`). */
  seriesBegun: { from: [...ACTIVE, ...FINAL], to: 'delivering', delivery: 'pending', announce: 'never', completes: 'clear' },
  /** The workflow could not be started: the job ends here and owes nothing. */
  startFailed: { from: ['queued'], to: 'failed', delivery: 'none', announce: 'never', completes: 'set' },
} as const satisfies Record<string, JobTransitionRule>;

export type JobTransition = keyof typeof JOB_TRANSITIONS;
/** The transitions that end a job (finishJob writes one of these). */
export type FinalJobTransition = 'delivered' | 'deliveryFailed' | 'completed' | 'captureFailed';

export class InvalidJobTransition extends Error {
  constructor(
    readonly from: JobStatus,
    readonly transition: JobTransition,
  ) {
    super(`job status ${from} has no transition ${transition}`);
    this.name = 'InvalidJobTransition';
  }
}

/** The status after `transition`; throws when the table has no such step from `from`. */
export function nextJobStatus(from: JobStatus, transition: JobTransition): JobStatus {
  const rule: JobTransitionRule = JOB_TRANSITIONS[transition];
  if (!rule.from.includes(from)) throw new InvalidJobTransition(from, transition);
  return rule.to;
}

/** Whether the Web UI's JobStatus is written for this step of this job. */
export function announces(transition: JobTransition, job: { browserCapture: boolean }): boolean {
  const { announce }: JobTransitionRule = JOB_TRANSITIONS[transition];
  return announce === 'always' || (announce === 'browserCapture' && job.browserCapture);
}

export const isFinalJobStatus = (s: JobStatus): boolean => FINAL.includes(s);
