import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { decode as msgpackDecode } from '@msgpack/msgpack';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { prepareCrawlerEvent, prepareDelivery, type DeliverParams } from '../../src/delivery/deliver';
import type { Job, JobResult, Webhook } from '../../src/db/rows';

const job: Job = {
  id: '0b7a3f4e-5c1d-4e2a-9f8b-1c2d3e4f5a6b',
  project_id: 'p',
  env: 'live',
  kind: 'scrape',
  webhook_id: 'w',
  webhook_name: 'orders',
  status: 'delivering',
  delivery_status: 'pending',
  params: { url: 'https://example.com/', method: 'GET', format: 'raw' },
  error_code: null,
  error_message: null,
  created_at: new Date('2026-11-23T10:00:00Z'),
  updated_at: new Date('2026-11-23T10:00:00Z'),
  completed_at: null,
};
const result: JobResult = {
  job_id: job.id,
  status_code: 200,
  final_url: 'https://example.com/',
  headers: { 'content-type': 'text/html' },
  format: 'raw',
  content_type: 'text/html',
  content: '<h1>héllo</h1>',
  body: null,
  size_bytes: 15,
  duration_ms: 12,
  created_at: new Date(),
};
const baseWebhook: Webhook = {
  id: 'w',
  project_id: 'p',
  env: 'live',
  name: 'orders',
  url: 'https://receiver.example/hook',
  secret: 'user-secret',
  signing_secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
  content_type: 'application/json',
  content_encoding: 'identity',
  standard_webhooks: false,
  status: 'enabled',
  disabled_reason: null,
  consecutive_failed_count: 3,
  disabled_at: null,
  created_at: new Date(),
  updated_at: new Date(),
};
const params = (w: Partial<Webhook>): DeliverParams => ({
  job,
  result,
  webhook: { ...baseWebhook, ...w },
  projectName: 'acme',
  publicUrl: 'https://hookshot.example',
  http: undefined as never,
  timeoutMs: 1000,
  requireHttps: false,
});
const hmacHex = (key: string, body: Buffer) => createHmac('sha256', key).update(body).digest('hex');

const decoders = {
  identity: (b: Buffer) => b,
  gzip: gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
} as const;

describe('delivery payload', () => {
  for (const encoding of ['identity', 'gzip', 'deflate', 'br'] as const) {
    for (const contentType of ['application/json', 'application/msgpack'] as const) {
      it(`${contentType} + ${encoding}: decodes to the scrape response; HMAC is over the uncompressed bytes`, () => {
        const p = prepareDelivery(params({ content_encoding: encoding, content_type: contentType }), new Date());
        assert.equal(p.headers['content-type'], contentType);
        assert.equal(p.headers['content-encoding'], encoding === 'identity' ? undefined : encoding);
        const raw = decoders[encoding](p.body);
        const doc: any = contentType === 'application/json' ? JSON.parse(raw.toString()) : msgpackDecode(raw);
        assert.deepEqual(Object.keys(doc).sort(), ['config', 'context', 'result', 'uuid']);
        assert.equal(doc.result.content, '<h1>héllo</h1>');
        assert.deepEqual(doc.context.webhook, { name: 'orders', secret: 'user-secret', consecutive_failed_count: 3 });
        assert.equal(doc.result.log_url, `https://hookshot.example/jobs/${job.id}`);
        const expected = hmacHex(baseWebhook.signing_secret, raw);
        assert.equal(p.headers['x-scrapfly-webhook-signature'], expected.toUpperCase());
        assert.equal(p.headers['x-scrapfly-webhook-signature-lowercase'], expected);
      });
    }
  }

  it('sends no secret header when none is set, and never the signing secret', () => {
    const p = prepareDelivery(params({ secret: null }), new Date());
    assert.equal(p.headers['x-scrapfly-webhook-secret'], undefined);
    assert.ok(!JSON.stringify(p.headers).includes(baseWebhook.signing_secret));
    assert.ok(!p.body.toString().includes(baseWebhook.signing_secret.slice(6)));
    assert.equal(JSON.parse(p.body.toString()).context.webhook.secret, null);
  });

  it('adds Standard Webhooks headers that the standardwebhooks library verifies', () => {
    const now = new Date();
    const p = prepareDelivery(params({ standard_webhooks: true }), now);
    assert.equal(p.headers['webhook-id'], `msg_${job.id}`);
    assert.equal(p.headers['webhook-timestamp'], String(Math.floor(now.getTime() / 1000)));
    assert.match(p.headers['webhook-signature']!, /^v1,[A-Za-z0-9+/]+=*$/);
    const verifier = new StandardWebhook(baseWebhook.signing_secret);
    const verified: any = verifier.verify(p.body.toString(), {
      'webhook-id': p.headers['webhook-id']!,
      'webhook-timestamp': p.headers['webhook-timestamp']!,
      'webhook-signature': p.headers['webhook-signature']!,
    });
    assert.equal(verified.uuid, job.id);
    assert.throws(() =>
      verifier.verify(`${p.body.toString()} `, {
        'webhook-id': p.headers['webhook-id']!,
        'webhook-timestamp': p.headers['webhook-timestamp']!,
        'webhook-signature': p.headers['webhook-signature']!,
      }),
    );
  });

  it("signs a crawler event's stored bytes with Scrapfly headers, JSON whatever the content type, one message id per event", () => {
    const now = new Date();
    const body = Buffer.from(JSON.stringify({ event: 'crawler_started', payload: { crawler_uuid: 'c-1', state: {} } }));
    const meta = (eventId: string) => ({
      event: { id: eventId, event: 'crawler_started', body },
      crawl: { id: 'c-1', env: 'live' },
      projectName: 'default',
      resourceType: 'crawler',
      timestamp: now,
    });
    const w = { ...baseWebhook, content_type: 'application/msgpack' as const, content_encoding: 'gzip' as const, standard_webhooks: true };
    const p = prepareCrawlerEvent(w, meta('e-1'));
    assert.equal(p.headers['content-type'], 'application/json');
    assert.ok(gunzipSync(p.body).equals(body), 'the stored bytes, compressed as the webhook asks');
    const expected = createHmac('sha256', w.signing_secret).update(body).digest('hex');
    assert.equal(p.headers['x-scrapfly-webhook-signature'], expected.toUpperCase());
    assert.equal(p.headers['x-scrapfly-webhook-signature-lowercase'], expected);
    assert.equal(p.headers['x-scrapfly-webhook-resource-type'], 'crawler');
    assert.equal(p.headers['x-scrapfly-webhook-job-id'], 'c-1');
    assert.equal(p.headers['x-scrapfly-crawl-event-name'], 'crawler_started');
    assert.equal(p.headers['x-scrapfly-log-uuid'], undefined);
    assert.equal(p.headers['x-scrapfly-log-url'], undefined);
    assert.equal(p.headers['webhook-id'], 'msg_e-1');
    new StandardWebhook(w.signing_secret).verify(body.toString(), {
      'webhook-id': p.headers['webhook-id']!,
      'webhook-timestamp': p.headers['webhook-timestamp']!,
      'webhook-signature': p.headers['webhook-signature']!,
    });
    assert.equal(prepareCrawlerEvent(w, meta('e-2')).headers['webhook-id'], 'msg_e-2');
  });
});
