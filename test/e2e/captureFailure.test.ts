import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { startTestSite } from '../helpers/site';
import { until } from '../helpers/wait';

// A worker without a usable browser: the capture fails on the worker side,
// Temporal retries it, and then the job must end on record, not hang pending.
describe('a capture that keeps failing on the worker', () => {
  let hs: TestHookshot;
  let site: Awaited<ReturnType<typeof startTestSite>>;
  before(async () => {
    site = await startTestSite();
    hs = await startTestHookshot({ CHROMIUM_PATH: '/nonexistent/chromium' });
  });
  after(async () => {
    await hs?.close();
    await site?.close();
  });

  it('ends the job as ERR::SCREENSHOT::FAILED: 502 when synchronous, a JSON error delivery with a webhook', async () => {
    const receiver = await startReceiver();
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'shots', url: receiver.url } });
      const [sync, queued] = await Promise.all([
        fetch(`${hs.apiUrl}/screenshot?key=${hs.keys.live}&url=${encodeURIComponent(`${site.url}/static`)}`),
        hs.api(`/screenshot?url=${encodeURIComponent(`${site.url}/static`)}&webhook_name=shots`, { key: hs.keys.live }),
      ]);
      assert.equal(sync.status, 502);
      const err = (await sync.json()) as { code: string; message: string; retryable: boolean };
      assert.equal(err.code, 'ERR::SCREENSHOT::FAILED');
      assert.match(err.message, /could not be launched/);
      assert.equal(err.retryable, true);

      assert.equal(queued.status, 200);
      await receiver.waitFor(1, 60_000);
      const got = receiver.received[0]!;
      assert.equal(got.headers['x-scrapfly-webhook-resource-type'], 'screenshot');
      assert.equal(got.headers['content-type'], 'application/json');
      const doc = JSON.parse(got.body.toString());
      assert.equal(doc.result.success, false);
      assert.equal(doc.result.error.code, 'ERR::SCREENSHOT::FAILED');
      const job = await until(async () => {
        const j = await hs.api(`/jobs/${queued.body.job_uuid}`, { key: hs.keys.live });
        return j.body.status === 'delivered' ? j.body : undefined;
      });
      assert.equal(job.delivery_status, 'delivered', 'nothing is left pending in the queue');
      assert.equal(job.error.code, 'ERR::SCREENSHOT::FAILED');
    } finally {
      await receiver.close();
    }
  });
});
