import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';

function assertErrorShape(res: { status: number; body: any }, status: number, code: string | RegExp, message?: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'http_code', 'message', 'retryable']);
  assert.equal(res.body.http_code, status);
  assert.equal(typeof res.body.retryable, 'boolean');
  if (typeof code === 'string') assert.equal(res.body.code, code);
  else assert.match(res.body.code, code);
  assert.match(res.body.code, /^ERR::[A-Z_]+::[A-Z_]+$/);
  if (message) assert.match(res.body.message, message);
}

describe('the one error shape', () => {
  let hs: TestHookshot;
  before(async () => {
    hs = await startTestHookshot({ API_BODY_LIMIT_BYTES: '2048' });
  });
  after(async () => {
    await hs?.close();
  });

  it('unknown route → 404', async () => {
    assertErrorShape(await hs.api('/nope'), 404, 'ERR::API::NOT_FOUND', /GET \/nope/);
  });

  it('routes are case-sensitive: a differently cased path is not a way around authentication', async () => {
    assertErrorShape(await hs.api('/Webhooks', { key: hs.keys.test }), 404, 'ERR::API::NOT_FOUND');
    assertErrorShape(await hs.api('/WEBHOOKS/x'), 404, 'ERR::API::NOT_FOUND');
    assertErrorShape(await hs.api('/Admin/projects', { method: 'POST', json: { name: 'x', plan: 'PRO' } }), 404, 'ERR::API::NOT_FOUND');
    assertErrorShape(await hs.api('/Jobs/6f1c2b8e-9a57-4c1e-8f0d-2d6b3c1a9e10'), 404, 'ERR::API::NOT_FOUND');
    const { rows } = await hs.db.query(`SELECT count(*)::int AS n FROM projects WHERE name = 'x'`);
    assert.equal(rows[0].n, 0);
  });

  it('wrong method → 405 with Allow', async () => {
    const r = await hs.api('/webhooks', { method: 'PUT', key: hs.keys.test });
    assertErrorShape(r, 405, 'ERR::API::METHOD_NOT_ALLOWED');
    assert.match(r.headers.get('allow') ?? '', /GET/);
  });

  it('missing and invalid API keys → 401', async () => {
    assertErrorShape(await hs.api('/webhooks'), 401, 'ERR::AUTH::MISSING_KEY', /key/);
    assertErrorShape(await hs.api('/webhooks', { key: 'hs_live_0000000000000000000000000000000000000000' }), 401, 'ERR::AUTH::INVALID_KEY');
    assertErrorShape(await hs.api('/webhooks', { headers: { authorization: 'Bearer nope' } }), 401, 'ERR::AUTH::INVALID_KEY');
    const ok = await hs.api('/webhooks', { headers: { authorization: `Bearer ${hs.keys.test}` } });
    assert.equal(ok.status, 200);
  });

  it('malformed JSON → 400', async () => {
    const r = await hs.api('/webhooks', {
      method: 'POST',
      key: hs.keys.test,
      headers: { 'content-type': 'application/json' },
      body: '{"name": "a",',
    });
    assertErrorShape(r, 400, 'ERR::VALIDATION::INVALID_PARAMETER', /not valid JSON/);
  });

  it('a JSON body that is not an object → 400', async () => {
    const r = await hs.api('/webhooks', { method: 'POST', key: hs.keys.test, json: [1, 2] });
    assertErrorShape(r, 400, 'ERR::VALIDATION::INVALID_PARAMETER', /JSON object/);
  });

  it('wrong content type → 415', async () => {
    const r = await hs.api('/webhooks', {
      method: 'POST',
      key: hs.keys.test,
      headers: { 'content-type': 'text/plain' },
      body: 'name=x',
    });
    assertErrorShape(r, 415, 'ERR::API::UNSUPPORTED_MEDIA_TYPE');
  });

  it('oversized body → 413', async () => {
    const r = await hs.api('/webhooks', { method: 'POST', key: hs.keys.test, json: { name: 'big', url: 'http://example.com', secret: 'x'.repeat(5000) } });
    assertErrorShape(r, 413, 'ERR::API::PAYLOAD_TOO_LARGE', /2048/);
  });

  const badWebhooks: Array<[string, unknown, RegExp]> = [
    ['missing name', { url: 'https://example.com/h' }, /^name: /],
    ['bad name', { name: 'no spaces!', url: 'https://example.com/h' }, /^name: .*letters/],
    ['relative url', { name: 'a', url: '/hook' }, /^url: /],
    ['ftp url', { name: 'a', url: 'ftp://example.com/h' }, /^url: /],
    ['unknown content type', { name: 'a', url: 'https://example.com/h', content_type: 'text/xml' }, /^content_type: /],
    ['unknown encoding', { name: 'a', url: 'https://example.com/h', content_encoding: 'zstd' }, /^content_encoding: /],
    ['unknown field', { name: 'a', url: 'https://example.com/h', colour: 'red' }, /unknown parameter "colour"/],
    ['wrong type', { name: 'a', url: 'https://example.com/h', standard_webhooks: 'yes' }, /^standard_webhooks: /],
  ];
  for (const [what, json, message] of badWebhooks) {
    it(`webhook with ${what} → 400 naming the field, nothing stored`, async () => {
      assertErrorShape(await hs.api('/webhooks', { method: 'POST', key: hs.keys.test, json }), 400, 'ERR::VALIDATION::INVALID_PARAMETER', message);
      const { rows } = await hs.db.query('SELECT count(*)::int AS n FROM webhooks');
      assert.equal(rows[0].n, 0);
    });
  }

  it('duplicate webhook name → 409, same name in the other environment is fine', async () => {
    const json = { name: 'dup', url: 'https://example.com/h' };
    assert.equal((await hs.api('/webhooks', { method: 'POST', key: hs.keys.test, json })).status, 201);
    assertErrorShape(await hs.api('/webhooks', { method: 'POST', key: hs.keys.test, json }), 409, 'ERR::WEBHOOK::ALREADY_EXISTS', /dup/);
    assert.equal((await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json })).status, 201);
  });

  it('webhook of another environment is invisible', async () => {
    await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'live-only', url: 'https://example.com/h' } });
    assertErrorShape(await hs.api('/webhooks/live-only', { key: hs.keys.test }), 404, 'ERR::WEBHOOK::NOT_FOUND');
    const r = await hs.api(`/scrape?url=${encodeURIComponent('http://127.0.0.1:9/')}&webhook_name=live-only`, { key: hs.keys.test });
    assertErrorShape(r, 404, 'ERR::WEBHOOK::NOT_FOUND', /live-only/);
  });

  const badScrapes: Array<[string, string, RegExp]> = [
    ['missing url', 'webhook_name=dup', /^url: /],
    ['relative url', 'url=/x&webhook_name=dup', /^url: /],
    ['javascript url', `url=${encodeURIComponent('javascript:alert(1)')}&webhook_name=dup`, /^url: /],
    ['unknown format', `url=${encodeURIComponent('http://127.0.0.1:9/')}&format=pdf`, /^format: /],
    ['bad method', `url=${encodeURIComponent('http://127.0.0.1:9/')}&method=BREW`, /^method: /],
    ['bad timeout', `url=${encodeURIComponent('http://127.0.0.1:9/')}&timeout=soon`, /^timeout: /],
    ['bad webhook name', `url=${encodeURIComponent('http://127.0.0.1:9/')}&webhook_name=${encodeURIComponent('a b')}`, /^webhook_name: /],
    ['unknown parameter', `url=${encodeURIComponent('http://127.0.0.1:9/')}&colour=red`, /unknown parameter "colour"/],
  ];
  for (const [what, qs, message] of badScrapes) {
    it(`scrape with ${what} → 400 naming the field, no job`, async () => {
      assertErrorShape(await hs.api(`/scrape?${qs}`, { key: hs.keys.test }), 400, 'ERR::VALIDATION::INVALID_PARAMETER', message);
      const { rows } = await hs.db.query('SELECT count(*)::int AS n FROM jobs');
      assert.equal(rows[0].n, 0);
    });
  }

  it('job lookups: malformed uuid → 400, unknown → 404', async () => {
    assertErrorShape(await hs.api('/jobs/not-a-uuid', { key: hs.keys.test }), 400, 'ERR::VALIDATION::INVALID_PARAMETER', /^uuid: /);
    assertErrorShape(await hs.api('/jobs/6f1c2b8e-9a57-4c1e-8f0d-2d6b3c1a9e10', { key: hs.keys.test }), 404, 'ERR::JOB::NOT_FOUND');
  });

  it('operator endpoints: wrong token → 401; create project and key; bad plan → 400', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    assertErrorShape(await hs.api('/admin/projects', { method: 'POST', json: { name: 'x', plan: 'PRO' } }), 401, 'ERR::AUTH::INVALID_ADMIN_TOKEN');
    assertErrorShape(
      await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'x', plan: 'GOLD' } }),
      400,
      'ERR::VALIDATION::INVALID_PARAMETER',
      /^plan: /,
    );
    const p = await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'acme', plan: 'PRO' } });
    assert.equal(p.status, 201);
    assert.equal(p.body.plan, 'PRO');
    assertErrorShape(await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'acme', plan: 'PRO' } }), 409, 'ERR::PROJECT::ALREADY_EXISTS');
    const k = await hs.api('/admin/projects/acme/keys', { method: 'POST', headers: admin, json: { env: 'live' } });
    assert.equal(k.status, 201);
    assert.deepEqual([k.body.project, k.body.env], ['acme', 'live']);
    assert.equal((await hs.api('/webhooks', { key: k.body.key })).status, 200);
    const patched = await hs.api('/admin/projects/acme', { method: 'PATCH', headers: admin, json: { plan: 'STARTUP' } });
    assert.equal(patched.body.plan, 'STARTUP');
    assert.equal((await hs.api(`/admin/keys/${k.body.prefix}`, { method: 'DELETE', headers: admin })).status, 204);
    assertErrorShape(await hs.api('/webhooks', { key: k.body.key }), 401, 'ERR::AUTH::INVALID_KEY');
    assertErrorShape(await hs.api('/admin/projects/ghost/keys', { method: 'POST', headers: admin, json: { env: 'test' } }), 404, 'ERR::PROJECT::NOT_FOUND');
  });
});

describe('queue limit over HTTP', () => {
  it('a FREE project gets ERR::WEBHOOK::QUEUE_FULL (429) and no job is started', async () => {
    const hs = await startTestHookshot();
    try {
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'freebie', plan: 'FREE' } });
      const key = (await hs.api('/admin/projects/freebie/keys', { method: 'POST', headers: admin, json: { env: 'live' } })).body.key;
      await hs.api('/webhooks', { method: 'POST', key, json: { name: 'w', url: 'https://example.com/h' } });
      const r = await hs.api(`/scrape?url=${encodeURIComponent('http://127.0.0.1:9/')}&webhook_name=w`, { key });
      assertErrorShape(r, 429, 'ERR::WEBHOOK::QUEUE_FULL', /limit 0/);
      assert.equal(r.body.retryable, true);
      const { rows } = await hs.db.query('SELECT count(*)::int AS n FROM jobs');
      assert.equal(rows[0].n, 0);
    } finally {
      await hs.close();
    }
  });
});

describe('WEBHOOK_REQUIRE_HTTPS=true', () => {
  it('refuses http:// webhook URLs on create and update, accepts https://', async () => {
    const hs = await startTestHookshot({ WEBHOOK_REQUIRE_HTTPS: 'true' });
    try {
      const bad = await hs.api('/webhooks', { method: 'POST', key: hs.keys.test, json: { name: 'plain', url: 'http://receiver.example/h' } });
      assertErrorShape(bad, 400, 'ERR::VALIDATION::INVALID_PARAMETER', /^url: .*https/);
      const ok = await hs.api('/webhooks', { method: 'POST', key: hs.keys.test, json: { name: 'tls', url: 'https://receiver.example/h' } });
      assert.equal(ok.status, 201);
      const patch = await hs.api('/webhooks/tls', { method: 'PATCH', key: hs.keys.test, json: { url: 'http://receiver.example/h' } });
      assertErrorShape(patch, 400, 'ERR::VALIDATION::INVALID_PARAMETER', /^url: .*https/);
    } finally {
      await hs.close();
    }
  });
});

describe('operator endpoints without ADMIN_TOKEN', () => {
  it('are off (404)', async () => {
    const hs = await startTestHookshot({ ADMIN_TOKEN: '' });
    try {
      const r = await hs.api('/admin/projects', { method: 'POST', headers: { authorization: 'Bearer anything-at-all-here' }, json: { name: 'x', plan: 'PRO' } });
      assertErrorShape(r, 404, 'ERR::API::NOT_FOUND');
    } finally {
      await hs.close();
    }
  });
});

describe('an unexpected failure', () => {
  it('answers 500 with a generic message and a request id; the log has the detail, the client no stack', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _e, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const hs = await startTestHookshot({}, { logStream });
    try {
      // A real fault, not a stub: the table the route reads is gone.
      await hs.db.query('ALTER TABLE webhooks RENAME TO webhooks_gone');
      const r = await hs.api('/webhooks', { key: hs.keys.test });
      assertErrorShape(r, 500, 'ERR::API::INTERNAL');
      assert.equal(r.body.retryable, true);
      const requestId = r.headers.get('x-request-id')!;
      assert.ok(r.body.message.includes(requestId), 'the message quotes the request id');
      assert.ok(!/webhooks_gone|relation|at \//.test(JSON.stringify(r.body)), 'no internals reach the client');
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.requestId === requestId);
      assert.ok(logged, 'the error is logged with its request id');
      assert.match(JSON.stringify(logged.err), /webhooks/);
    } finally {
      await hs.db.query('ALTER TABLE webhooks_gone RENAME TO webhooks').catch(() => undefined);
      await hs.close();
    }
  });
});
