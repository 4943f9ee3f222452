// SPEC section 12: Temporal restarted mid-ladder loses nothing. The
// in-process version (test/e2e/resilience.test.ts) stops the server cleanly
// with one job waiting; here the server is SIGKILLed while many jobs wait
// on their retry ladder, Hookshot's processes ride out the outage, and when
// the server is back on the same store every job's ladder resumes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver, type Received } from '../helpers/receiver';
import { startTestSite } from '../helpers/site';
import { until } from '../helpers/wait';
import { createWebhook, jobStatuses, report, sized, sleep, waitDelivered, withFaultStack } from './harness';

const JOBS = sized('TEMPORAL_JOBS', 20);
/** How long the server stays dead before it is started again. */
const OUTAGE_MS = sized('TEMPORAL_OUTAGE_MS', 3000);
/** A short ladder, long enough (30 steps of 2 s) that no job runs out of it during the outage. */
const SCHEDULE = Array.from({ length: 30 }, () => '2s').join(',');

describe('fault: Temporal server SIGKILLed and restarted mid-ladder', () => {
  it('every job waiting on its ladder is delivered once the server is back', async () => {
    const site = await startTestSite();
    let healthy = false;
    const answers = new Map<Received, number>();
    const receiver = await startReceiver((r) => {
      answers.set(r, healthy ? 200 : 503);
      return { status: answers.get(r)!, body: healthy ? 'ok' : 'down' };
    });
    try {
      await withFaultStack(
        'temporal-kill',
        {
          env: {
            WEBHOOK_RETRY_SCHEDULE: SCHEDULE,
            WEBHOOK_RETRY_JITTER: '0',
            // The failures here are the receiver's on purpose: the webhook must not be disabled.
            WEBHOOK_DISABLE_AFTER: '1000000',
          },
        },
        async (s) => {
          await createWebhook(s, 'ladder', receiver.url);
          const submitted = await Promise.all(
            Array.from({ length: JOBS }, (_, i) =>
              s.request(`/scrape?url=${encodeURIComponent(`${site.url}/static?n=${i}`)}&webhook_name=ladder`, { key: s.keys.live }),
            ),
          );
          for (const r of submitted) assert.equal(r.status, 200, JSON.stringify(r.body));
          const ids = submitted.map((r) => r.body.job_uuid as string);
          const jobIdOf = (r: (typeof receiver.received)[number]) => String(r.headers['x-scrapfly-webhook-job-id']);

          // Every job has failed once and sleeps on its ladder.
          await until(
            async () => {
              const statuses = await jobStatuses(s);
              return ids.every((id) => statuses.get(id) === 'retrying') ? true : undefined;
            },
            60_000,
            100,
          );
          const failedBefore = receiver.received.length;
          const killedAt = Date.now();
          await s.temporal.kill();
          await sleep(OUTAGE_MS);
          const during = receiver.received.length - failedBefore;
          await s.temporal.restart();
          const backAt = Date.now();
          healthy = true;
          const open = await waitDelivered(s, ids, 90_000);
          const recoveredMs = Date.now() - backAt;

          const successes = new Map<string, number>();
          let failures = 0;
          for (const r of receiver.received) {
            if (answers.get(r) !== 200) failures++;
            else if (r.answeredAt !== undefined) successes.set(jobIdOf(r), (successes.get(jobIdOf(r)) ?? 0) + 1);
          }
          const duplicates = [...successes.values()].reduce((a, n) => a + n - 1, 0);
          report('Temporal server SIGKILLed mid-ladder', {
            'jobs submitted': JOBS,
            accepted: ids.length,
            '503 attempts before the kill': failedBefore,
            'requests while the server was dead': during,
            'outage (kill to serving again)': `${backAt - killedAt} ms`,
            delivered: ids.length - open.length,
            lost: open.length,
            'failed attempts in all': failures,
            'duplicate successes at the receiver': duplicates,
            'back to all delivered': `${recoveredMs} ms`,
          });

          assert.deepEqual(open, [], 'jobs not delivered after the restart');
          for (const id of ids) assert.ok(successes.has(id), `job ${id}: no successful delivery reached the receiver`);
          assert.ok(s.api.alive(), 'the API process outlived the outage');
          for (const w of s.workers) assert.ok(w.alive(), `${w.name} outlived the outage`);
          const { rows } = await s.database.pool.query<{ job_id: string; ok: number }>(
            'SELECT job_id, count(*) FILTER (WHERE success)::int AS ok FROM delivery_attempts GROUP BY job_id',
          );
          for (const r of rows) assert.equal(r.ok, 1, `job ${r.job_id}: one successful attempt recorded`);
          assert.equal(rows.length, ids.length);
        },
      );
    } finally {
      await receiver.close();
      await site.close();
    }
  });
});
