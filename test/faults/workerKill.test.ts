// SPEC section 12: a worker SIGKILLed mid-attempt loses nothing. The
// in-process version (test/e2e/resilience.test.ts) kills a worker holding
// one attempt; here a worker process holding many is killed, and the next
// worker must finish every job. Delivery is at-least-once: an attempt cut
// off mid-request is sent again (receivers dedupe on the Job-Id), so the
// duplicates are counted and reported, and must cover every cut attempt.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver } from '../helpers/receiver';
import { startTestSite } from '../helpers/site';
import { until } from '../helpers/wait';
import { createWebhook, report, sized, waitDelivered, withFaultStack } from './harness';

const JOBS = sized('KILL_JOBS', 30);
/** How long the receiver holds each request: attempts stay in flight that long. */
const HOLD_MS = sized('KILL_HOLD_MS', 3000);
/** The kill waits until this many requests are held at once. */
const IN_FLIGHT = Math.min(JOBS, sized('KILL_IN_FLIGHT', Math.ceil(JOBS / 3)));

describe('fault: worker SIGKILLed mid-attempt', () => {
  it('the next worker delivers every job; the cut attempts come again as duplicates', async () => {
    const site = await startTestSite();
    const receiver = await startReceiver(() => ({ status: 200, body: 'ok', delayMs: HOLD_MS }));
    try {
      await withFaultStack('worker-kill', { workers: 1 }, async (s) => {
        await createWebhook(s, 'held', receiver.url);
        const submitted = await Promise.all(
          Array.from({ length: JOBS }, (_, i) =>
            s.request(`/scrape?url=${encodeURIComponent(`${site.url}/static?n=${i}`)}&webhook_name=held`, { key: s.keys.live }),
          ),
        );
        for (const r of submitted) assert.equal(r.status, 200, JSON.stringify(r.body));
        const ids = submitted.map((r) => r.body.job_uuid as string);

        const heldNow = () => receiver.received.filter((r) => r.answeredAt === undefined);
        await until(async () => (heldNow().length >= IN_FLIGHT ? true : undefined), 60_000, 10);
        const cut = new Set(heldNow().map((r) => String(r.headers['x-scrapfly-webhook-job-id'])));
        const answeredBefore = receiver.received.length - cut.size;
        const killedAt = Date.now();
        await s.workers[0]!.kill();
        await s.startWorker();
        const open = await waitDelivered(s, ids, 90_000);
        const recoveredMs = Date.now() - killedAt;

        const jobIdOf = (r: (typeof receiver.received)[number]) => String(r.headers['x-scrapfly-webhook-job-id']);
        const answered = new Set(receiver.received.filter((r) => r.answeredAt !== undefined).map(jobIdOf));
        const distinct = new Set(receiver.received.map(jobIdOf));
        const duplicates = receiver.received.length - distinct.size;
        const resentCut = [...cut].filter((id) => receiver.received.filter((r) => jobIdOf(r) === id).length >= 2).length;
        report('worker SIGKILLed mid-attempt', {
          'jobs submitted': JOBS,
          accepted: ids.length,
          'answered before the kill': answeredBefore,
          'in flight at the kill (cut)': cut.size,
          delivered: ids.length - open.length,
          lost: open.length,
          'requests at the receiver': receiver.received.length,
          'duplicates at the receiver': duplicates,
          'cut attempts sent again': `${resentCut} of ${cut.size}`,
          'kill to all delivered': `${recoveredMs} ms`,
        });

        assert.deepEqual(open, [], 'jobs not delivered after the kill');
        for (const id of ids) assert.ok(answered.has(id), `job ${id}: the receiver never answered a delivery of it`);
        assert.deepEqual([...distinct].sort(), [...ids].sort(), 'the receiver heard of exactly the submitted jobs');
        // Each cut attempt never got its answer, so the next worker must send it again.
        assert.equal(resentCut, cut.size, 'every attempt cut by the kill was sent again');
        const { rows } = await s.database.pool.query<{ job_id: string; n: number; ok: number }>(
          'SELECT job_id, count(*)::int AS n, count(*) FILTER (WHERE success)::int AS ok FROM delivery_attempts GROUP BY job_id',
        );
        // A repeated attempt is the same attempt: one row, a success.
        for (const r of rows) assert.deepEqual([r.n, r.ok], [1, 1], `job ${r.job_id}: attempt rows`);
        assert.equal(rows.length, ids.length);
      });
    } finally {
      await receiver.close();
      await site.close();
    }
  });
});
