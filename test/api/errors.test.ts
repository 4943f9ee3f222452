import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';

function assertErrorShape(res: { status: number; body: any }, status: number, code: string | RegExp, message?: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'error_id', 'http_code', 'message', 'retryable']);
  assert.match(res.body.error_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
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
    const r = await hs.api('/webhooks', {
      method: 'POST',
      key: hs.keys.test,
      json: { name: 'big', url: 'http://example.com', secret: 'x'.repeat(5000) },
    });
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
    assertErrorShape(
      await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'acme', plan: 'PRO' } }),
      409,
      'ERR::PROJECT::ALREADY_EXISTS',
    );
    const k = await hs.api('/admin/projects/acme/keys', { method: 'POST', headers: admin, json: { env: 'live' } });
    assert.equal(k.status, 201);
    assert.deepEqual([k.body.project, k.body.env], ['acme', 'live']);
    assert.equal((await hs.api('/webhooks', { key: k.body.key })).status, 200);
    const patched = await hs.api('/admin/projects/acme', { method: 'PATCH', headers: admin, json: { plan: 'STARTUP' } });
    assert.equal(patched.body.plan, 'STARTUP');
    assert.equal((await hs.api(`/admin/keys/${k.body.prefix}`, { method: 'DELETE', headers: admin })).status, 204);
    assertErrorShape(await hs.api('/webhooks', { key: k.body.key }), 401, 'ERR::AUTH::INVALID_KEY');
    assertErrorShape(
      await hs.api('/admin/projects/ghost/keys', { method: 'POST', headers: admin, json: { env: 'test' } }),
      404,
      'ERR::PROJECT::NOT_FOUND',
    );
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
      const r = await hs.api('/admin/projects', {
        method: 'POST',
        headers: { authorization: 'Bearer anything-at-all-here' },
        json: { name: 'x', plan: 'PRO' },
      });
      assertErrorShape(r, 404, 'ERR::API::NOT_FOUND');
    } finally {
      await hs.close();
    }
  });
});

function logCollector() {
  const lines: any[] = [];
  const logStream = new Writable({
    write(chunk, _e, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logStream };
}

describe('an unexpected failure', () => {
  it('answers 500 with a generic message quoting its error id; the log line with that id has the detail, the client no stack', async () => {
    const { lines, logStream } = logCollector();
    const hs = await startTestHookshot({}, { logStream });
    try {
      // A real fault, not a stub: the table the route reads is gone.
      await hs.db.query('ALTER TABLE webhooks RENAME TO webhooks_gone');
      const r = await hs.api('/webhooks', { key: hs.keys.test });
      assertErrorShape(r, 500, 'ERR::API::INTERNAL');
      assert.equal(r.body.retryable, true);
      assert.ok(r.body.message.includes(r.body.error_id), 'the message quotes the error id');
      assert.ok(!/webhooks_gone|relation|at \//.test(JSON.stringify(r.body)), 'no internals reach the client');
      const logged = lines.filter((l) => l.error_id === r.body.error_id);
      assert.equal(logged.length, 1, 'one log line carries the error id');
      assert.equal(logged[0].level, 50, 'a 5xx is logged as an error');
      assert.equal(logged[0].requestId, r.headers.get('x-request-id'));
      assert.deepEqual([logged[0].code, logged[0].method, logged[0].path], ['ERR::API::INTERNAL', 'GET', '/webhooks']);
      assert.match(JSON.stringify(logged[0].err), /webhooks/);
      assert.match(logged[0].err.stack, /\n\s+at /, 'with the stack');
    } finally {
      await hs.db.query('ALTER TABLE webhooks_gone RENAME TO webhooks').catch(() => undefined);
      await hs.close();
    }
  });
});

describe('error ids', () => {
  it('are new for every error and name the log line written for it', async () => {
    const { lines, logStream } = logCollector();
    const hs = await startTestHookshot({}, { logStream });
    try {
      const a = await hs.api('/webhooks');
      const b = await hs.api('/webhooks');
      const c = await hs.api('/jobs/not-a-uuid', { key: hs.keys.test });
      assertErrorShape(a, 401, 'ERR::AUTH::MISSING_KEY');
      assertErrorShape(c, 400, 'ERR::VALIDATION::INVALID_PARAMETER');
      assert.equal(new Set([a.body.error_id, b.body.error_id, c.body.error_id]).size, 3);
      for (const r of [a, b, c]) {
        const logged = lines.filter((l) => l.error_id === r.body.error_id);
        assert.equal(logged.length, 1, `one log line for ${r.body.error_id}`);
        assert.equal(logged[0].level, 30, 'a 4xx is routine: info');
        assert.equal(logged[0].code, r.body.code);
        assert.equal(logged[0].requestId, r.headers.get('x-request-id'));
        assert.equal(logged[0].method, 'GET');
        assert.ok(!('err' in logged[0]), 'no stack for a client error');
      }
      assert.equal(lines.find((l) => l.error_id === c.body.error_id).path, '/jobs/not-a-uuid');
      assert.equal(lines.find((l) => l.error_id === c.body.error_id).route, '/jobs/:uuid');
      // An unmatched path is what the client typed, maybe a secret: not logged.
      const typo = await hs.api(`/${hs.keys.test}`);
      assertErrorShape(typo, 404, 'ERR::API::NOT_FOUND');
      const logged = lines.find((l) => l.error_id === typo.body.error_id);
      assert.equal(logged.path, '(no route)');
      assert.ok(!JSON.stringify(logged).includes(hs.keys.test));
    } finally {
      await hs.close();
    }
  });

  it('error documents are exactly application/json (clients compare the header verbatim)', async () => {
    const hs = await startTestHookshot();
    try {
      const r = await hs.api('/screenshot?url=x', { key: 'hs_live_0000000000000000000000000000000000000000' });
      assertErrorShape(r, 401, 'ERR::AUTH::INVALID_KEY');
      assert.equal(r.headers.get('content-type'), 'application/json');
    } finally {
      await hs.close();
    }
  });
});

/** Sends raw bytes in pieces of `piece` (each written before the next), then reads the answer to its end. */
async function rawExchange(apiUrl: string, request: string, piece = request.length): Promise<string> {
  const { hostname, port } = new URL(apiUrl);
  const socket = net.connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    socket.once('end', () => resolve());
    socket.once('error', reject);
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (let i = 0; i < request.length && !socket.readableEnded; i += piece) {
    await new Promise<void>((resolve) => socket.write(request.slice(i, i + piece), () => resolve()));
  }
  await ended;
  socket.end();
  return Buffer.concat(chunks).toString();
}

/** An HTTP/1.1 answer split into its status, its headers (lower-cased names) and its body parsed as JSON. */
function parseAnswer(raw: string): { status: number; headers: Record<string, string>; body: any } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...fields] = head.split('\r\n');
  const headers = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) };
}

describe('a request the HTTP parser refuses, before any route', () => {
  let hs: TestHookshot;
  let lines: any[];
  before(async () => {
    const logs = logCollector();
    lines = logs.lines;
    hs = await startTestHookshot({}, { logStream: logs.logStream });
  });
  after(async () => {
    await hs?.close();
  });

  it('a request line over the limit → 414 in the error shape, exactly application/json, the connection closed; the URL is not logged', async () => {
    const url = `${hs.apiUrl}/scrape?key=${hs.keys.live}&url=${encodeURIComponent(`http://127.0.0.1:9/?q=${'a'.repeat(70 * 1024)}`)}`;
    const res = await fetch(url);
    const r = { status: res.status, headers: res.headers, body: (await res.json()) as any };
    assertErrorShape(r, 414, 'ERR::API::URI_TOO_LONG', /request line/);
    assert.equal(r.body.retryable, false);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('connection'), 'close');
    const logged = lines.filter((l) => l.error_id === r.body.error_id);
    assert.equal(logged.length, 1, 'one log line carries the error id');
    assert.deepEqual([logged[0].level, logged[0].code, logged[0].http_code], [30, 'ERR::API::URI_TOO_LONG', 414]);
    assert.ok(!JSON.stringify(lines).includes(hs.keys.live), 'the key in the URL is not logged');
    const { rows } = await hs.db.query('SELECT count(*)::int AS n FROM jobs');
    assert.equal(rows[0].n, 0);
  });

  it('header fields over the limit → 431', async () => {
    const res = await fetch(`${hs.apiUrl}/webhooks`, { headers: { authorization: `Bearer ${hs.keys.test}`, 'x-big': 'b'.repeat(20 * 1024) } });
    assertErrorShape({ status: res.status, body: await res.json() }, 431, 'ERR::API::HEADERS_TOO_LARGE', /header fields/);
  });

  it('a long request line sent in small pieces is still told from large headers', async () => {
    const line = `GET /webhooks?key=${hs.keys.test}&q=${'a'.repeat(40 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const longLine = parseAnswer(await rawExchange(hs.apiUrl, line, 1024));
    assertErrorShape(longLine, 414, 'ERR::API::URI_TOO_LONG');
    assert.equal(longLine.headers['content-type'], 'application/json');
    assert.equal(Number(longLine.headers['content-length']), Buffer.byteLength(JSON.stringify(longLine.body)));
    const manyHeaders = `GET /webhooks HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 400 }, (_, i) => `x-h${i}: ${'v'.repeat(80)}\r\n`).join('')}\r\n`;
    assertErrorShape(parseAnswer(await rawExchange(hs.apiUrl, manyHeaders, 1024)), 431, 'ERR::API::HEADERS_TOO_LARGE');
  });

  it('a malformed request → 400 in the error shape', async () => {
    const r = parseAnswer(await rawExchange(hs.apiUrl, 'GET /webhooks HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'));
    assertErrorShape(r, 400, 'ERR::API::BAD_REQUEST', /malformed HTTP request/);
  });

  it('the service goes on answering', async () => {
    const r = await hs.api('/webhooks', { key: hs.keys.test });
    assert.equal(r.status, 200);
  });
});

describe('an error code stored before the table knew it', () => {
  it('is answered with a safe default, not a crash', async () => {
    const hs = await startTestHookshot();
    try {
      // 127.0.0.2 is outside the allow-list: both jobs end failed without any traffic.
      const target = encodeURIComponent('http://127.0.0.2:4567/');
      const headers = { 'idempotency-key': 'legacy-1' };
      const shot = await hs.api(`/screenshot?url=${target}`, { key: hs.keys.test, headers });
      assertErrorShape(shot, 422, 'ERR::SCREENSHOT::ADDRESS_REFUSED');
      const scrape = await hs.api(`/scrape?url=${target}`, { key: hs.keys.test, headers: { 'idempotency-key': 'legacy-2' } });
      assert.equal(scrape.body.result.error.code, 'ERR::SCRAPE::ADDRESS_REFUSED');
      // As an older version might have left them.
      await hs.db.query(`UPDATE jobs SET error_code = 'ERR::LEGACY::GONE'`);
      const again = await hs.api(`/screenshot?url=${target}`, { key: hs.keys.test, headers });
      assertErrorShape(again, 500, 'ERR::LEGACY::GONE');
      assert.equal(again.body.retryable, false);
      const doc = await hs.api(`/scrape?url=${target}`, { key: hs.keys.test, headers: { 'idempotency-key': 'legacy-2' } });
      assert.equal(doc.status, 200);
      assert.deepEqual(doc.body.result.error, {
        code: 'ERR::LEGACY::GONE',
        message: scrape.body.result.error.message,
        http_code: 500,
        retryable: false,
      });
    } finally {
      await hs.close();
    }
  });
});
