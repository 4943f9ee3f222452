import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { decode as msgpackDecode } from '@msgpack/msgpack';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createTemporalClient } from '../../src/temporal/client';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { verifyWithPython } from '../helpers/verify';
import { until } from '../helpers/wait';

const BIG = 'x'.repeat(5 * 1024 * 1024);

async function startSite() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(req.url === '/big' ? BIG : 'small page');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('delivery', () => {
  let hs: TestHookshot;
  let site: Awaited<ReturnType<typeof startSite>>;
  before(async () => {
    site = await startSite();
    // Seven attempts (six waits) in milliseconds; a high threshold keeps webhooks enabled.
    hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '10ms,10ms,10ms,10ms,10ms,10ms', WEBHOOK_DISABLE_AFTER: '1000' });
  });
  after(async () => {
    await hs?.close();
    await site?.close();
  });

  const submit = async (webhook: string, path = '/') => {
    const r = await hs.api(`/scrape?url=${encodeURIComponent(site.url + path)}&webhook_name=${webhook}`, { key: hs.keys.live });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.job_uuid as string;
  };
  const settled = (jobId: string) =>
    until(async () => {
      const j = await hs.api(`/jobs/${jobId}`, { key: hs.keys.live });
      return j.body.status === 'delivered' || j.body.status === 'failed' ? j.body : undefined;
    }, 30_000);

  it('an always-failing receiver gets seven attempts, then ERR::WEBHOOK::MAX_RETRY', async () => {
    const down = await startReceiver(() => ({ status: 502, body: 'bad gateway', headers: { 'x-why': 'maintenance' } }));
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'always-down', url: down.url, secret: 's3cret' } });
      const job = await settled(await submit('always-down'));
      assert.equal(job.status, 'failed');
      assert.equal(job.error.code, 'ERR::WEBHOOK::MAX_RETRY');
      assert.match(job.error.message, /7 times/);
      assert.equal(job.attempts.length, 7);
      assert.equal(down.received.length, 7);
      assert.ok(job.attempts.every((a: any) => a.status_code === 502 && a.error.code === 'ERR::WEBHOOK::ENDPOINT_ERROR'));
      assert.equal(job.attempts[0].response_snippet, 'bad gateway');
      const row = await hs.db.query('SELECT request_headers, response_headers FROM delivery_attempts WHERE job_id = $1 AND attempt = 1', [job.uuid]);
      assert.equal(row.rows[0].response_headers['x-why'], 'maintenance');
      assert.equal(row.rows[0].request_headers['x-scrapfly-webhook-secret'], '[redacted]', 'secrets are not stored in attempt rows');
      assert.equal(new Set(down.received.map((r) => r.headers['x-scrapfly-webhook-job-id'])).size, 1);
    } finally {
      await down.close();
    }
  });

  it('Retry-After on a 429 lengthens the wait', async () => {
    const busy = await startReceiver((_r, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'busy', url: busy.url } });
      const job = await settled(await submit('busy'));
      assert.equal(job.status, 'delivered');
      const gap = busy.received[1]!.at - busy.received[0]!.at;
      assert.ok(gap >= 1000, `second attempt came ${gap} ms after the first; Retry-After asked for 1 s`);
    } finally {
      await busy.close();
    }
  });

  it('follows redirects with the same method and body, and re-checks the guard on every hop', async () => {
    // 127.0.0.2 is loopback outside the allow-list (127.0.0.1/32): a hop there must be refused.
    let forbiddenHits = 0;
    const forbidden = http.createServer((_q, s) => (forbiddenHits++, s.end()));
    await new Promise<void>((r) => forbidden.listen(0, '127.0.0.2', () => r()));
    const forbiddenUrl = `http://127.0.0.2:${(forbidden.address() as AddressInfo).port}/in`;
    const hops = await startReceiver((r) => {
      if (r.url === '/start') return { status: 307, headers: { location: '/middle' } };
      if (r.url === '/middle') return { status: 308, headers: { location: '/final' } };
      if (r.url === '/escape') return { status: 302, headers: { location: forbiddenUrl } };
      return { status: 200 };
    });
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'hops', url: `${hops.url}/start` } });
      const ok = await settled(await submit('hops'));
      assert.equal(ok.status, 'delivered');
      assert.equal(ok.attempts[0].final_url, `${hops.url}/final`);
      assert.deepEqual(
        hops.received.map((r) => `${r.method} ${r.url}`),
        ['POST /start', 'POST /middle', 'POST /final'],
      );
      assert.ok(hops.received.every((r) => r.body.equals(hops.received[0]!.body)));

      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'escape', url: `${hops.url}/escape` } });
      const refused = await settled(await submit('escape'));
      assert.equal(refused.status, 'failed');
      assert.equal(refused.attempts[0].error.code, 'ERR::WEBHOOK::ENDPOINT_UNREACHABLE');
      assert.match(refused.attempts[0].error.message, /127\.0\.0\.2/);
      assert.equal(forbiddenHits, 0, 'the refused hop never reached its server');
    } finally {
      await hops.close();
      forbidden.closeAllConnections();
      await new Promise((r) => forbidden.close(r));
    }
  });

  it('every content type and encoding arrives decodable, signed over the decoded bytes', async () => {
    const receiver = await startReceiver();
    try {
      const combos: Array<[string, string]> = [];
      for (const ct of ['application/json', 'application/msgpack']) {
        for (const ce of ['identity', 'gzip', 'deflate', 'br']) combos.push([ct, ce]);
      }
      const secrets = new Map<string, string>();
      for (const [ct, ce] of combos) {
        const name = `${ct.split('/')[1]}-${ce}`;
        const w = await hs.api('/webhooks', {
          method: 'POST',
          key: hs.keys.live,
          json: { name, url: `${receiver.url}/${name}`, content_type: ct, content_encoding: ce },
        });
        assert.equal(w.status, 201, JSON.stringify(w.body));
        secrets.set(name, w.body.signing_secret);
        await submit(name);
      }
      await receiver.waitFor(combos.length);
      const decoders: Record<string, (b: Buffer) => Buffer> = {
        gzip: gunzipSync,
        deflate: inflateSync,
        br: brotliDecompressSync,
      };
      for (const r of receiver.received) {
        const name = r.url.slice(1);
        const ce = r.headers['content-encoding'];
        const raw = ce ? decoders[String(ce)]!(r.body) : r.body;
        const doc: any = r.headers['content-type'] === 'application/msgpack' ? msgpackDecode(raw) : JSON.parse(raw.toString());
        assert.equal(doc.result.content, 'small page', name);
        assert.equal(doc.context.webhook.name, name);
        const v = await verifyWithPython(secrets.get(name)!, raw, String(r.headers['x-scrapfly-webhook-signature']));
        assert.ok(v.ok, `${name}: ${v.output}`);
      }
    } finally {
      await receiver.close();
    }
  });

  it('a 5 MB page is delivered whole while the workflow history stays small', async () => {
    const receiver = await startReceiver();
    const client = await createTemporalClient(hs.temporalAddress, 'default');
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'big', url: receiver.url } });
      const jobId = await submit('big', '/big');
      await receiver.waitFor(1);
      const doc = JSON.parse(receiver.received[0]!.body.toString());
      assert.equal(doc.result.content.length, BIG.length);
      const history = await until(async () => {
        const h = await client.workflow.getHandle(`job:${jobId}`).fetchHistory();
        return h.events?.some((e) => e.workflowExecutionCompletedEventAttributes) ? h : undefined;
      });
      const size = historyToJSON(history).length;
      assert.ok(size < 32 * 1024, `history is ${size} bytes for a 5 MB page`);
    } finally {
      await client.connection.close();
      await receiver.close();
    }
  });
});
