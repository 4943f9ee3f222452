// The wait computation the job workflow uses, at the real scale.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WAIT_MS, parseRetryAfter, retryDelayMs } from '../../src/shared/retrySchedule';

const ladder = [30_000, 60_000, 300_000, 1_800_000, 3_600_000, 86_400_000];

describe('retry schedule', () => {
  it('walks the ladder in order without jitter', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(ladder, a, null)),
      ladder,
    );
  });

  it('keeps the last step for attempts past the ladder', () => {
    assert.equal(retryDelayMs(ladder, 9, null), 86_400_000);
  });

  it('lets Retry-After lengthen a wait but never shorten it or pass one day', () => {
    assert.equal(retryDelayMs(ladder, 1, 120_000), 120_000);
    assert.equal(retryDelayMs(ladder, 3, 1_000), 300_000);
    assert.equal(retryDelayMs(ladder, 1, 10 * 86_400_000), MAX_WAIT_MS);
    assert.equal(retryDelayMs(ladder, 6, 2 * 86_400_000, 0.1, 0.99), MAX_WAIT_MS);
  });

  it('spreads a wait by at most ± the jitter, from the random number given', () => {
    assert.equal(retryDelayMs(ladder, 1, null, 0.1, 0), 27_000);
    assert.equal(retryDelayMs(ladder, 1, null, 0.1, 0.5), 30_000);
    assert.ok(Math.abs(retryDelayMs(ladder, 1, null, 0.1, 0.999999) - 33_000) <= 1);
    // A day stays capped at a day, however it is spread.
    assert.equal(retryDelayMs(ladder, 6, null, 0.1, 0.99), MAX_WAIT_MS);
    assert.equal(retryDelayMs(ladder, 6, null, 0.1, 0), 77_760_000);
  });

  it('never shortens a wait below Retry-After, jitter included', () => {
    assert.equal(retryDelayMs(ladder, 1, 31_000, 0.1, 0), 31_000);
  });

  it('never waits zero', () => {
    assert.equal(retryDelayMs([1], 1, null, 0.5, 0), 1);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Mon, 23 Nov 2026 10:05:00 GMT', now), 300_000);
    assert.equal(parseRetryAfter('Mon, 23 Nov 2026 09:05:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
    assert.equal(parseRetryAfter('99999999', now), MAX_WAIT_MS);
  });
});
