// The shared sender, independent of who produced the delivery.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressGuard, parseCidrList } from '../../src/net/addressGuard';
import { createGuardedAgent } from '../../src/net/httpClient';
import { sendDelivery } from '../../src/delivery/send';

describe('sendDelivery', () => {
  const agents: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const a of agents) await a.close();
  });
  const agentFor = (allow: string) => {
    const a = createGuardedAgent({ guard: new AddressGuard(parseCidrList(allow)) });
    agents.push(a);
    return a;
  };

  it('posts the exact bytes and headers, keeps secret headers out of the log, and reads Retry-After', async () => {
    let got: { headers: http.IncomingHttpHeaders; body: Buffer } | null = null;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got = { headers: req.headers, body: Buffer.concat(chunks) };
        res.writeHead(503, { 'retry-after': '120' });
        res.end('busy');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const { outcome, sent } = await sendDelivery(
        {
          url,
          headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret' },
          body: Buffer.from('{"a":1}'),
          secretHeaders: ['authorization'],
        },
        { http: agentFor('127.0.0.1/32'), timeoutMs: 5000, requireHttps: false, startedAt: new Date() },
      );
      assert.equal(got!.body.toString(), '{"a":1}');
      assert.equal(got!.headers.authorization, 'Bearer s3cret', 'the receiver gets the real header');
      assert.equal(sent.request_headers.authorization, '[redacted]', 'the log does not');
      assert.deepEqual(outcome, { success: false, statusCode: 503, errorCode: 'ERR::WEBHOOK::ENDPOINT_ERROR', retryAfterMs: 120_000 });
      assert.equal(sent.response_snippet, 'busy');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses by the address guard and by the https rule without connecting', async () => {
    const guarded = await sendDelivery(
      { url: 'http://127.0.0.1:9/hook', headers: {}, body: Buffer.alloc(0) },
      { http: agentFor(''), timeoutMs: 1000, requireHttps: false, startedAt: new Date() },
    );
    assert.equal(guarded.outcome.errorCode, 'ERR::WEBHOOK::ENDPOINT_UNREACHABLE');
    assert.match(guarded.sent.error_message!, /address guard/);
    const plain = await sendDelivery(
      { url: 'http://127.0.0.1:9/hook', headers: {}, body: Buffer.alloc(0) },
      { http: agentFor('127.0.0.1/32'), timeoutMs: 1000, requireHttps: true, startedAt: new Date() },
    );
    assert.equal(plain.outcome.errorCode, 'ERR::WEBHOOK::ENDPOINT_UNREACHABLE');
    assert.match(plain.sent.error_message!, /https/);
  });
});
