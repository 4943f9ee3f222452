import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { until } from '../helpers/wait';
import { verifyWithPython } from '../helpers/verify';

const PAGE = '<html><head><title>Hookshot test page</title></head><body><h1>Hello from loopback</h1></body></html>';

async function startSite() {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-site': 'yes' });
    res.end(req.url === '/page' ? PAGE : 'other');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('a scrape job travels the whole path', () => {
  let hs: TestHookshot;
  let site: Awaited<ReturnType<typeof startSite>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    site = await startSite();
    receiver = await startReceiver();
    hs = await startTestHookshot({ PUBLIC_URL: 'http://hookshot.test:8080' });
  });
  after(async () => {
    await hs?.close();
    await receiver?.close();
    await site?.close();
  });

  it('delivers the scraped page, signed, with every Scrapfly header', async () => {
    const created = await hs.api('/webhooks', {
      method: 'POST',
      key: hs.keys.live,
      json: { name: 'orders', url: `${receiver.url}/hook`, secret: 'my-shared-secret' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const webhook = created.body;
    assert.match(webhook.signing_secret, /^whsec_/);
    assert.ok(Buffer.from(webhook.signing_secret.slice(6), 'base64').length >= 32);

    const submitted = await hs.api(`/scrape?url=${encodeURIComponent(`${site.url}/page`)}&webhook_name=orders`, { key: hs.keys.live });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    const promise = submitted.body;
    assert.deepEqual(Object.keys(promise).sort(), [
      'job_uuid',
      'log_url',
      'log_uuid',
      'success',
      'webhook_enqueued',
      'webhook_name',
      'webhook_queue_limit',
      'webhook_queued_element',
      'webhook_uuid',
    ]);
    assert.equal(promise.success, true);
    assert.equal(promise.webhook_enqueued, true);
    assert.equal(promise.webhook_name, 'orders');
    assert.equal(promise.webhook_uuid, webhook.uuid);
    assert.equal(promise.webhook_queue_limit, 10000); // default project is ENTERPRISE
    assert.equal(promise.webhook_queued_element, 1);
    assert.equal(promise.log_uuid, promise.job_uuid);
    assert.equal(promise.log_url, `http://hookshot.test:8080/jobs/${promise.job_uuid}`);
    assert.equal(submitted.headers.get('x-scrapfly-log-uuid'), promise.job_uuid);
    assert.equal(submitted.headers.get('x-scrapfly-log-url'), promise.log_url);

    await receiver.waitFor(1);
    const got = receiver.received[0]!;
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/hook');
    const h = got.headers;
    assert.equal(h['content-type'], 'application/json');
    assert.equal(h['content-encoding'], undefined);
    assert.equal(h['x-scrapfly-webhook-env'], 'live');
    assert.equal(h['x-scrapfly-webhook-project'], 'default');
    assert.equal(h['x-scrapfly-webhook-name'], 'orders');
    assert.equal(h['x-scrapfly-webhook-secret'], 'my-shared-secret');
    assert.equal(h['x-scrapfly-webhook-resource-type'], 'scrape');
    assert.equal(h['x-scrapfly-webhook-job-id'], promise.job_uuid);
    assert.equal(h['x-scrapfly-log-uuid'], promise.job_uuid);
    assert.equal(h['x-scrapfly-log-url'], promise.log_url);
    assert.match(String(h['user-agent']), /^Hookshot/);
    const upper = String(h['x-scrapfly-webhook-signature']);
    assert.match(upper, /^[0-9A-F]{64}$/);
    assert.equal(h['x-scrapfly-webhook-signature-lowercase'], upper.toLowerCase());
    // The signing secret itself is never sent.
    assert.ok(!JSON.stringify(h).includes(webhook.signing_secret));
    assert.ok(!got.body.toString().includes(webhook.signing_secret));

    const verdict = await verifyWithPython(webhook.signing_secret, got.body, upper);
    assert.equal(verdict.output, 'valid');
    assert.ok(verdict.ok);
    const tampered = await verifyWithPython(webhook.signing_secret, Buffer.concat([got.body, Buffer.from(' ')]), upper);
    assert.equal(tampered.ok, false);

    const body = JSON.parse(got.body.toString());
    assert.deepEqual(Object.keys(body).sort(), ['config', 'context', 'result', 'uuid']);
    assert.equal(body.uuid, promise.job_uuid);
    assert.deepEqual(body.context.webhook, { name: 'orders', secret: 'my-shared-secret', consecutive_failed_count: 0 });
    assert.equal(body.config.url, `${site.url}/page`);
    assert.equal(body.result.content, PAGE);
    assert.equal(body.result.status_code, 200);
    assert.equal(body.result.success, true);
    assert.equal(body.result.response_headers['x-site'], 'yes');

    // The job shows its one successful attempt.
    const job = await until(async () => {
      const r = await hs.api(`/jobs/${promise.job_uuid}`, { key: hs.keys.live });
      return r.body.status === 'delivered' ? r.body : undefined;
    });
    assert.equal(job.delivery_status, 'delivered');
    assert.equal(job.attempts.length, 1);
    assert.equal(job.attempts[0].success, true);
    assert.equal(job.attempts[0].status_code, 200);
    assert.equal(job.result.size, Buffer.byteLength(PAGE));
    assert.equal(receiver.received.length, 1);

    // The other environment's key cannot see the job.
    const hidden = await hs.api(`/jobs/${promise.job_uuid}`, { key: hs.keys.test });
    assert.equal(hidden.status, 404);
    assert.equal(hidden.body.code, 'ERR::JOB::NOT_FOUND');
  });

  it('makes the job workflow findable by ID and by search attributes', async () => {
    await hs.api('/webhooks', { method: 'POST', key: hs.keys.test, json: { name: 'sa-hook', url: `${receiver.url}/sa` } });
    const before = receiver.received.length;
    const r = await hs.api(`/scrape?url=${encodeURIComponent(`${site.url}/page`)}&webhook_name=sa-hook`, { key: hs.keys.test });
    assert.equal(r.status, 200);
    await receiver.waitFor(before + 1);
    const { createTemporalClient } = await import('../../src/temporal/client');
    const client = await createTemporalClient(hs.temporalAddress, 'default');
    try {
      const handle = client.workflow.getHandle(`job:${r.body.job_uuid}`);
      const result = await handle.result();
      assert.deepEqual(result, { status: 'delivered', attempts: 1 });
      const { jobStateQuery } = await import('../../src/shared/workflowApi');
      assert.deepEqual(await handle.query(jobStateQuery), {
        status: 'delivered',
        series: 0,
        attempts: 1,
        maxAttempts: 7,
        waitingMs: null,
        lastErrorCode: null,
      });
      const found = await until(async () => {
        const ids: string[] = [];
        for await (const wf of client.workflow.list({
          query: `WebhookName = "sa-hook" AND ProjectName = "default" AND JobStatus = "delivered" AND JobKind = "scrape"`,
        }))
          ids.push(wf.workflowId);
        return ids.length > 0 ? ids : undefined;
      });
      assert.deepEqual(found, [`job:${r.body.job_uuid}`]);
    } finally {
      await client.connection.close();
    }
  });

  it('answers synchronously without webhook_name, same document minus context.webhook', async () => {
    const r = await hs.api(`/scrape?url=${encodeURIComponent(`${site.url}/page`)}`, { key: hs.keys.test });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ['config', 'context', 'result', 'uuid']);
    assert.equal(r.body.result.content, PAGE);
    assert.equal(r.body.result.success, true);
    assert.equal(r.body.context.webhook, undefined);
    assert.equal(r.headers.get('x-scrapfly-log-uuid'), r.body.uuid);
    const job = await hs.api(`/jobs/${r.body.uuid}`, { key: hs.keys.test });
    assert.equal(job.body.status, 'done');
    assert.equal(job.body.delivery_status, null);
    assert.deepEqual(job.body.attempts, []);

    // A refused target: the error code and message both survive to the answer and the job.
    const refused = await hs.api(`/scrape?url=${encodeURIComponent('http://127.0.0.2:9/')}`, { key: hs.keys.test });
    assert.equal(refused.body.result.success, false);
    assert.equal(refused.body.result.error.code, 'ERR::SCRAPE::ADDRESS_REFUSED');
    assert.match(refused.body.result.error.message, /127\.0\.0\.2/);
    const failed = await hs.api(`/jobs/${refused.body.uuid}`, { key: hs.keys.test });
    assert.equal(failed.body.status, 'failed');
    assert.match(failed.body.error.message, /address guard/);
  });

  it('delivers a refused scrape as a result with its error code; the refused target sees nothing', async () => {
    // 127.0.0.2 is loopback but outside the test allow-list (127.0.0.1/32).
    let hits = 0;
    const refused = http.createServer((_q, s) => (hits++, s.end('secret')));
    await new Promise<void>((r) => refused.listen(0, '127.0.0.2', () => r()));
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'errors', url: `${receiver.url}/errors` } });
      const n = receiver.received.length;
      const target = `http://127.0.0.2:${(refused.address() as AddressInfo).port}/`;
      const r = await hs.api(`/scrape?url=${encodeURIComponent(target)}&webhook_name=errors`, { key: hs.keys.live });
      assert.equal(r.status, 200);
      await receiver.waitFor(n + 1);
      const body = JSON.parse(receiver.received[n]!.body.toString());
      assert.equal(body.result.success, false);
      assert.equal(body.result.error.code, 'ERR::SCRAPE::ADDRESS_REFUSED');
      assert.match(body.result.error.message, /127\.0\.0\.2/);
      assert.equal(body.result.content, null);
      assert.equal(hits, 0);
    } finally {
      refused.closeAllConnections();
      await new Promise((r) => refused.close(r));
    }
  });

  it('retries a failing receiver on the ladder and resets the count on success', async () => {
    // Separate instance with a millisecond ladder; receiver answers 500, 500, then 200.
    const flaky = await startReceiver((_r, i) => (i < 2 ? { status: 500, body: 'boom' } : { status: 200 }));
    const fast = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '50ms,100ms,100ms' });
    try {
      const w = await fast.api('/webhooks', { method: 'POST', key: fast.keys.live, json: { name: 'flaky', url: flaky.url } });
      assert.equal(w.status, 201);
      const r = await fast.api(`/scrape?url=${encodeURIComponent(`${site.url}/page`)}&webhook_name=flaky`, { key: fast.keys.live });
      assert.equal(r.status, 200);
      await flaky.waitFor(3);
      const counts = flaky.received.map((x) => JSON.parse(x.body.toString()).context.webhook.consecutive_failed_count);
      assert.deepEqual(counts, [0, 1, 2]);
      for (const x of flaky.received) {
        assert.ok((await verifyWithPython(w.body.signing_secret, x.body, String(x.headers['x-scrapfly-webhook-signature']))).ok);
        assert.equal(x.headers['x-scrapfly-webhook-job-id'], r.body.job_uuid);
      }
      const job = await until(async () => {
        const j = await fast.api(`/jobs/${r.body.job_uuid}`, { key: fast.keys.live });
        return j.body.status === 'delivered' ? j.body : undefined;
      });
      assert.deepEqual(
        job.attempts.map((a: { status_code: number }) => a.status_code),
        [500, 500, 200],
      );
      const after = await fast.api('/webhooks/flaky', { key: fast.keys.live });
      assert.equal(after.body.consecutive_failed_count, 0);
    } finally {
      await fast.close();
      await flaky.close();
    }
  });
});
