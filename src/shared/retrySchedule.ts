// Pure: used inside workflow code (the random number comes from the
// workflow's deterministic Math.random, so replays compute the same waits).

/** Longest any single wait may become, Retry-After included. */
export const MAX_WAIT_MS = 86_400_000;

/**
 * Wait before attempt `failedAttempt + 1`: the ladder's step spread by up to
 * ±`jitter` of itself (`random` in [0, 1)), so deliveries that failed together
 * do not all come back together; then lengthened (never shortened) by a
 * server's Retry-After, and never past one day.
 */
export function retryDelayMs(scheduleMs: readonly number[], failedAttempt: number, retryAfterMs: number | null, jitter = 0, random = 0.5): number {
  const step = scheduleMs[Math.min(failedAttempt - 1, scheduleMs.length - 1)] ?? 0;
  const spread = Math.round(step * jitter * (2 * random - 1));
  const ladder = Math.max(1, step + spread);
  const wanted = retryAfterMs !== null && retryAfterMs > ladder ? retryAfterMs : ladder;
  return Math.min(wanted, MAX_WAIT_MS);
}

/** Retry-After is seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_WAIT_MS);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - nowMs), MAX_WAIT_MS);
}
