// A receiver that answers 200 with a 1 GB body. The delivery reads the
// response only up to the stored snippet (send.ts caps it at 4 KiB), counts
// the 2xx as a success and hangs up: neither the time nor the memory of
// reading a gigabyte. The body is generated on the fly, so the receiver's
// side holds 64 KiB, and what this process's memory does is the client's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startPageServer } from '../helpers/site';
import { until } from '../helpers/wait';
import { envInt, MB, mb, printFigures, sampleMemory, startHugeReceiver } from '../helpers/receiverFaults';

const BODY_BYTES = envInt('FAULTS_HUGE_BODY_BYTES', 1024 * MB);
// Far below the body: buffering it (or most of it) could not stay under this.
const MAX_GROWTH = envInt('FAULTS_HUGE_MAX_GROWTH_BYTES', 200 * MB);
// The stored snippet (src/delivery/send.ts SNIPPET_BYTES): what the read is capped at.
const SNIPPET_BYTES = 4096;

describe('a receiver that answers with a 1 GB body', () => {
  let site: Awaited<ReturnType<typeof startPageServer>>;
  let hs: TestHookshot;
  before(async () => {
    site = await startPageServer();
    hs = await startTestHookshot({ WEBHOOK_TIMEOUT_MS: '30000', WEBHOOK_RETRY_SCHEDULE: '1h' });
    const plan = await hs.api('/admin/projects/default', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      json: { plan: 'ENTERPRISE' },
    });
    assert.equal(plan.status, 200);
  });
  after(async () => {
    await hs?.close();
    await site?.close();
  });

  for (const framing of ['content-length', 'chunked'] as const) {
    it(`${framing}: the read stops at the snippet, the attempt is a success, memory stays flat`, async () => {
      const huge = await startHugeReceiver(BODY_BYTES, { chunked: framing === 'chunked' });
      try {
        const name = `huge-${framing}`;
        const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name, url: huge.url } });
        assert.equal(w.status, 201);
        global.gc?.();
        const memory = sampleMemory(100);
        const submitted = await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=${name}`, { key: hs.keys.live });
        assert.equal(submitted.status, 200);
        const job = await until(async () => {
          const { rows } = await hs.db.query<{ status: string; error_code: string | null }>(`SELECT status, error_code FROM jobs WHERE id = $1`, [
            submitted.body.job_uuid,
          ]);
          return rows[0]?.status === 'delivered' || rows[0]?.status === 'failed' ? rows[0] : undefined;
        }, 60_000);
        // The receiver learns the client left when its socket closes.
        await until(async () => (huge.responses.every((r) => r.endedAt !== null) ? true : undefined), 10_000, 20);
        const m = memory.stop();
        const { rows: attempts } = await hs.db.query<{
          success: boolean;
          status_code: number;
          duration_ms: number;
          response_snippet: string;
          error_code: string | null;
        }>(`SELECT success, status_code, duration_ms, response_snippet, error_code FROM delivery_attempts WHERE job_id = $1`, [
          submitted.body.job_uuid,
        ]);
        const written = huge.responses.map((r) => r.written);
        const growth = m.peakRss - m.before.rss;
        printFigures(`fault: 1 GB response body (${framing})`, {
          'jobs submitted': 1,
          delivered: job.status === 'delivered' ? 1 : 0,
          // The job has ended (the wait above): nothing to lose but its outcome.
          lost: job.status === 'delivered' || job.status === 'failed' ? 0 : 1,
          'duplicates at the receiver': huge.responses.length - 1,
          attempt: `${attempts.map((a) => `HTTP ${a.status_code} success=${a.success} in ${a.duration_ms} ms`).join('; ')}`,
          'stored snippet': `${attempts[0] ? Buffer.byteLength(attempts[0].response_snippet) : '-'} bytes (cap ${SNIPPET_BYTES})`,
          'body offered': `${BODY_BYTES} bytes (${mb(BODY_BYTES)})`,
          'receiver wrote before the close': `${written.join(', ')} bytes (${written.map(mb).join(', ')})`,
          'receiver finished the body': huge.responses.some((r) => r.finished),
          'RSS before / after': `${mb(m.before.rss)} / ${mb(m.after.rss)}`,
          'RSS peak (sampled every 100 ms)': `${mb(m.peakRss)} (+${mb(growth)}, ${m.samples} samples)`,
          'heap used before / peak / after': `${mb(m.before.heapUsed)} / ${mb(m.peakHeap)} / ${mb(m.after.heapUsed)}`,
          'kernel max RSS before / after': `${mb(m.maxRssBefore)} / ${mb(m.maxRssAfter)}`,
        });

        assert.equal(job.status, 'delivered');
        assert.equal(attempts.length, 1);
        assert.deepEqual([attempts[0]!.success, attempts[0]!.status_code, attempts[0]!.error_code], [true, 200, null]);
        assert.ok(Buffer.byteLength(attempts[0]!.response_snippet) <= SNIPPET_BYTES);
        assert.ok(attempts[0]!.response_snippet.startsWith('abcdefghij'), 'the snippet is the start of the body');
        assert.equal(huge.responses.length, 1);
        assert.equal(huge.responses[0]!.finished, false, 'the client hung up before the body ended');
        // The kernel's socket buffers hold a few MB; reading the body would take it all.
        assert.ok(written[0]! < BODY_BYTES / 10, `the receiver wrote ${written[0]} of ${BODY_BYTES} bytes: the body was read`);
        assert.ok(growth < MAX_GROWTH, `RSS grew by ${mb(growth)} while the 1 GB response was handled`);
        // The kernel's high-water mark sees a peak between two samples too (when this test set a new one).
        const kernelGrowth = m.maxRssAfter > m.maxRssBefore ? m.maxRssAfter - m.before.rss : 0;
        assert.ok(kernelGrowth < MAX_GROWTH, `the kernel's RSS high-water mark rose to ${mb(m.maxRssAfter)}`);
      } finally {
        await huge.close();
      }
    });
  }
});
