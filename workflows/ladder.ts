import { condition } from '@temporalio/workflow';
import type { DeliveryAttemptOutcome } from '../src/shared/contracts/job';
import { retryDelayMs } from '../src/shared/retrySchedule';

/** An attempt's outcome as the ladder needs it (named webhooks add `stop`). */
export type LadderOutcome = Pick<DeliveryAttemptOutcome, 'success' | 'statusCode' | 'errorCode' | 'retryAfterMs'> & {
  stop?: DeliveryAttemptOutcome['stop'];
};

export interface LadderOptions<O extends LadderOutcome> {
  /** Waits between failed attempts; attempts = waits + 1. */
  scheduleMs: readonly number[];
  jitter: number;
  /** The first attempt this call makes (a later one when an earlier attempt was made elsewhere). */
  firstAttempt?: number;
  /** When the attempt before firstAttempt failed: wait its step first (its Retry-After counts). */
  waitFirst?: { retryAfterMs: number | null };
  /** One attempt; `willRetry` tells it whether a failure is followed by another. */
  attempt(attempt: number, willRetry: boolean): Promise<O>;
  /** Called after every attempt (state for queries, say). */
  afterAttempt?(attempt: number, outcome: O): void;
  /** Called when a wait begins, and with null when it ends. */
  onWait?(waitMs: number | null): void;
  /** A wait ends early once this is true (a replay, a wake). */
  interrupt?(): boolean;
  /** Checked after a wait: true abandons the series (a replay starts a new one). */
  abandon?(): boolean;
}

export interface LadderResult<O> {
  outcome: O | null;
  /** The last attempt made. */
  attempt: number;
  abandoned: boolean;
}

/**
 * The retry ladder every delivery uses, named webhook or inline event: make
 * an attempt; on failure sleep the schedule's step (durable timer, jittered,
 * lengthened by Retry-After) and try again, until success, a stop, or the
 * last step. Workflow code: deterministic (Math.random is the workflow's).
 */
export async function deliverWithLadder<O extends LadderOutcome>(o: LadderOptions<O>): Promise<LadderResult<O>> {
  const maxAttempts = o.scheduleMs.length + 1;
  const first = o.firstAttempt ?? 1;
  const sleep = async (failedAttempt: number, retryAfterMs: number | null) => {
    const waitMs = retryDelayMs(o.scheduleMs, failedAttempt, retryAfterMs, o.jitter, Math.random());
    o.onWait?.(waitMs);
    await condition(() => o.interrupt?.() ?? false, waitMs);
    o.onWait?.(null);
  };
  if (o.waitFirst && first > 1) {
    await sleep(first - 1, o.waitFirst.retryAfterMs);
    if (o.abandon?.()) return { outcome: null, attempt: first - 1, abandoned: true };
  }
  let outcome: O | null = null;
  let attempt: number;
  for (attempt = first; attempt <= maxAttempts; attempt++) {
    outcome = await o.attempt(attempt, attempt < maxAttempts);
    o.afterAttempt?.(attempt, outcome);
    if (outcome.success || (outcome.stop ?? null) !== null || attempt === maxAttempts) break;
    await sleep(attempt, outcome.retryAfterMs);
    if (o.abandon?.()) return { outcome, attempt, abandoned: true };
  }
  return { outcome, attempt: Math.min(attempt, maxAttempts), abandoned: false };
}
