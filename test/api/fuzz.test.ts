// Property-based robustness of the HTTP API: whatever arrives (malformed JSON,
// wrong types, prototype-pollution keys, odd query strings, odd paths, bad
// credentials) the answer is never a 5xx, every failure has the one error
// shape, and a failed request leaves no record behind.
//
// Network safety: the service fetches scrape targets, delivers to webhook URLs
// and posts to alert URLs. Every generated URL that could pass validation
// points at 127.0.0.1:9 (discard port, connection refused), and `send()`
// refuses (fc.pre) any request carrying an http(s) URL to anything else, so no
// run can make the service dial a non-loopback address or look up a name.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import querystring from 'node:querystring';
import fc from 'fast-check';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const BODY_LIMIT = 65_536;

// ---------------------------------------------------------------------------
// Requests

interface Req {
  method: string;
  path: string; // sent as-is (request-target), may hold a query string
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
let apiPort = 0;

/** Only 127.0.0.1:9 may appear as an http(s) URL anywhere in a request. */
function isSafeString(s: string): boolean {
  for (const candidate of new Set([s, s.trim()])) {
    let u: URL;
    try {
      u = new URL(candidate);
    } catch {
      continue;
    }
    if ((u.protocol === 'http:' || u.protocol === 'https:') && !(u.hostname === '127.0.0.1' && u.port === '9')) return false;
  }
  return true;
}

function collectStrings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      collectStrings(x, out);
    }
}

function requestStrings(req: Req): string[] {
  const out: string[] = [];
  const q = req.path.indexOf('?');
  const pathPart = q >= 0 ? req.path.slice(0, q) : req.path;
  for (const seg of pathPart.split('/')) out.push(seg, querystring.unescape(seg));
  if (q >= 0) collectStrings(querystring.parse(req.path.slice(q + 1)), out);
  if (req.body !== undefined) {
    const text = typeof req.body === 'string' ? req.body : Buffer.from(req.body).toString('utf8');
    out.push(text);
    try {
      collectStrings(JSON.parse(text), out);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/** Status/code counts per property, reported as test diagnostics (coverage at a glance). */
let tally = new Map<string, number>();
/** fc.assert, then the answers' status/code counts as a diagnostic (also when it failed). */
async function check(t: { diagnostic(m: string): void }, property: fc.IAsyncProperty<any>, numRuns: number): Promise<void> {
  tally = new Map();
  try {
    await fc.assert(property, { numRuns, seed: SEED });
  } finally {
    const lines = [...tally.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}× ${k}`);
    t.diagnostic(lines.join(', '));
  }
}

/** Raw HTTP to the API (no URL normalisation of the path), behind the loopback-only guard. */
function send(req: Req, count = true): Promise<Res> {
  fc.pre(requestStrings(req).every(isSafeString));
  // Never start Chromium (render_js, /screenshot): a browser may open connections of its own.
  fc.pre(!/screenshot|render_js["=:\s]*(true|%74)/i.test(`${req.path} ${typeof req.body === 'string' ? req.body : ''}`));
  // Past 16 KiB of request head Node itself answers 431 (no body), before the app sees the request.
  fc.pre(req.path.length + Object.values(req.headers ?? {}).reduce((n, v) => n + v.length, 0) < 12_000);
  return new Promise<Res>((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(req.headers ?? {}) };
    if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
    const r = http.request({ host: '127.0.0.1', port: apiPort, method: req.method, path: req.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, body });
      });
    });
    r.on('error', reject);
    r.end(req.body);
  }).then((res) => {
    let key = `${res.status}${res.status >= 400 && res.body?.code ? ` ${res.body.code}` : ''}`;
    if (process.env.FUZZ_VERBOSE && res.status >= 400) key += ` ${String(res.body?.message).slice(0, 60)}`;
    if (count) tally.set(key, (tally.get(key) ?? 0) + 1);
    return res;
  });
}

const clip = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

function describeExchange(req: Req, res: Res): string {
  const body = req.body === undefined ? '' : typeof req.body === 'string' ? req.body : `<${req.body.length} bytes>`;
  return `${req.method} ${clip(req.path)} ${JSON.stringify(req.headers ?? {})} ${clip(body)}\n→ ${res.status} ${clip(res.text)}`;
}

/** < 500; failures in the one error shape; successes are JSON (or an empty 204). */
function assertWellFormed(req: Req, res: Res, opts: { allowHtml?: boolean } = {}): void {
  const what = describeExchange(req, res);
  assert.ok(res.status < 500, `5xx: ${what}`);
  assert.ok(res.status >= 200 && !(res.status >= 300 && res.status < 400), `unexpected status: ${what}`);
  if (res.status >= 400) {
    assert.match(String(res.headers['content-type']), /application\/json/, what);
    assert.ok(res.body && typeof res.body === 'object' && !Array.isArray(res.body), `error body is not a JSON object: ${what}`);
    assert.deepEqual(Object.keys(res.body).sort(), ['code', 'error_id', 'http_code', 'message', 'retryable'], what);
    assert.match(res.body.error_id, /^[0-9a-f-]{36}$/, what);
    assert.equal(res.body.http_code, res.status, what);
    assert.match(res.body.code, /^ERR::[A-Z_]+::[A-Z_]+$/, what);
    assert.equal(typeof res.body.message, 'string', what);
    assert.equal(typeof res.body.retryable, 'boolean', what);
    return;
  }
  if (res.status === 204) {
    assert.equal(res.text, '', what);
    return;
  }
  if (opts.allowHtml && /text\/html/.test(String(res.headers['content-type']))) return;
  assert.match(String(res.headers['content-type']), /application\/json/, what);
  assert.ok(res.body !== undefined && typeof res.body === 'object', `2xx body is not JSON: ${what}`);
}

// ---------------------------------------------------------------------------
// Stored state: counts plus a digest of the user-controlled columns, so a
// failed request that half-wrote (or half-updated) something shows up.

interface Snapshot {
  webhooks: number;
  jobs: number;
  projects: number;
  api_keys: number;
  revoked: number;
  idempotency_keys: number;
  webhooks_digest: string;
  projects_digest: string;
}

let hs: TestHookshot;

async function snapshot(): Promise<Snapshot> {
  const { rows } = await hs.db.query<Snapshot>(`SELECT
    (SELECT count(*)::int FROM webhooks) AS webhooks,
    (SELECT count(*)::int FROM jobs) AS jobs,
    (SELECT count(*)::int FROM projects) AS projects,
    (SELECT count(*)::int FROM api_keys) AS api_keys,
    (SELECT count(*)::int FROM api_keys WHERE revoked_at IS NOT NULL) AS revoked,
    (SELECT count(*)::int FROM idempotency_keys) AS idempotency_keys,
    (SELECT coalesce(md5(string_agg(concat_ws('|', id, env, name, url, secret, signing_secret, content_type, content_encoding, standard_webhooks::text), ',' ORDER BY id)), '') FROM webhooks) AS webhooks_digest,
    (SELECT coalesce(md5(string_agg(concat_ws('|', id, name, plan, alert_url), ',' ORDER BY id)), '') FROM projects) AS projects_digest`);
  return rows[0]!;
}

const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');
const PROTO_KEYS = protoKeys();

/** After any request: nothing stored on failure, and Object.prototype untouched. */
async function assertNoPartialRecord(req: Req, res: Res, before: Snapshot): Promise<Snapshot> {
  const now = await snapshot();
  if (res.status >= 400) assert.deepEqual(now, before, `a failed request changed stored state: ${describeExchange(req, res)}`);
  assert.equal(protoKeys(), PROTO_KEYS, `Object.prototype was polluted: ${describeExchange(req, res)}`);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, `Object.prototype was polluted: ${describeExchange(req, res)}`);
  return now;
}

// ---------------------------------------------------------------------------
// Generators. Each request starts from a valid one and gets 0-3 mutations
// (a field dropped, a field set to an odd value, an extra key), so both the
// success paths and every kind of rejection are exercised.

const LOOPBACK_URLS = [
  'http://127.0.0.1:9/',
  'http://127.0.0.1:9/hook',
  'https://127.0.0.1:9/x?y=1#z',
  'HTTP://127.0.0.1:9/UPPER',
  'http://127.0.0.1:9/%00',
  'http://user:pass@127.0.0.1:9/',
  'http://127.0.0.1:9/ünïcödé/😀',
  ' http://127.0.0.1:9/padded ',
  'http://127.1:9/short-form',
  'http://0x7f.0.0.1:9/hex-form',
  `http://127.0.0.1:9/${'a'.repeat(2000)}`,
];
const INVALID_URLS = [
  '',
  ' ',
  'not a url',
  '/relative/path',
  '//127.0.0.1:9/',
  '127.0.0.1:9',
  'ftp://127.0.0.1:9/',
  'ws://127.0.0.1:9/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'data:text/plain,hi',
  'mailto:a@b.invalid',
  'http://',
  'http:///x',
  'http://[::1',
  'http://exa mple.invalid/',
  'http://%zz/',
  'http://127.0.0.1:99999/',
  'http://127.0.0.1:9 /',
  '\u0000',
  'http://\u0000/',
  `http://127.0.0.1:9/${'a'.repeat(9000)}`,
];

const asciiString = (maxLength = 40) => fc.string({ maxLength });
const unicodeString = (maxLength = 40) => fc.string({ unit: 'grapheme', maxLength });
const hugeString = fc
  .tuple(fc.constantFrom('x', 'é', '😀', '\u0000', '\u202e', '"', '\\', '%'), fc.integer({ min: 257, max: 20_000 }))
  .map(([c, n]) => c.repeat(n));
const validName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const POOL = ['hook-a', 'hook-b', 'hook_c'];

const goodUrl: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...LOOPBACK_URLS), weight: 3 },
  { arbitrary: unicodeString().map((s) => `http://127.0.0.1:9/${s}`), weight: 1 },
  { arbitrary: asciiString().map((s) => `http://127.0.0.1:9/${encodeURIComponent(s)}?q=${encodeURIComponent(s)}`), weight: 1 },
);
const badUrl: fc.Arbitrary<string> = fc.oneof({ arbitrary: fc.constantFrom(...INVALID_URLS), weight: 3 }, asciiString(), unicodeString());

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.constant([]),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(asciiString(10), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);
/** Anything that is not what the field wants, per field plus the generic kinds. */
const odd = (specific?: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof(
    ...(specific ? [{ arbitrary: specific, weight: 3 }] : []),
    { arbitrary: wrongType, weight: 2 },
    { arbitrary: unicodeString(), weight: 1 },
    { arbitrary: hugeString, weight: 1 },
    { arbitrary: fc.constantFrom('', ' ', '\u0000', 'null', 'undefined'), weight: 1 },
  );

const EVIL_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'then',
  '',
  ' ',
  'NAME',
  'name ',
  'name\u0000',
  'url.host',
  '$where',
  'key',
];
const extraKey = fc.oneof({ arbitrary: fc.constantFrom(...EVIL_KEYS), weight: 3 }, asciiString(20), unicodeString(10));
const extraValue: fc.Arbitrary<unknown> = fc.oneof(
  wrongType,
  asciiString(),
  fc.constant({ polluted: true }),
  fc.constant({ prototype: { polluted: true } }),
);

type Entry = [string, unknown];
type Mutation = { kind: 'drop'; key: string } | { kind: 'set'; key: string; value: unknown } | { kind: 'extra'; key: string; value: unknown };

/** Valid base + 0-3 mutations, as an entry list (duplicate keys possible). */
function mutated(
  base: fc.Arbitrary<Record<string, unknown>>,
  oddByField: Record<string, fc.Arbitrary<unknown>>,
  extra: { key: fc.Arbitrary<string>; value: fc.Arbitrary<unknown> } = { key: extraKey, value: extraValue },
): fc.Arbitrary<Entry[]> {
  const fields = Object.keys(oddByField);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.constantFrom(...fields).map((key): Mutation => ({ kind: 'drop', key })),
    { arbitrary: fc.constantFrom(...fields).chain((key) => oddByField[key]!.map((value): Mutation => ({ kind: 'set', key, value }))), weight: 3 },
    // An extra key, or a second copy of a real one (JSON: last one wins).
    fc
      .tuple(fc.oneof({ arbitrary: extra.key, weight: 3 }, fc.constantFrom(...fields)), extra.value)
      .map(([key, value]): Mutation => ({ kind: 'extra', key, value })),
  );
  const mutations = fc.oneof(
    { arbitrary: fc.constant<Mutation[]>([]), weight: 2 },
    { arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }), weight: 3 },
  );
  return fc.tuple(base, mutations).map(([b, ms]) => {
    let entries: Entry[] = Object.entries(b).filter(([, v]) => v !== undefined);
    for (const m of ms) {
      if (m.kind === 'drop') entries = entries.filter(([k]) => k !== m.key);
      else if (m.kind === 'extra') entries.push([m.key, m.value]);
      else if (entries.some(([k]) => k === m.key)) entries = entries.map(([k, v]) => [k, k === m.key ? m.value : v]);
      else entries.push([m.key, m.value]);
    }
    return entries;
  });
}

/** JSON object text from entries: keeps `__proto__` as a plain key and allows duplicate keys. */
const objectText = (entries: Entry[]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;

const webhookOdd = {
  name: odd(fc.oneof(fc.constantFrom('a'.repeat(65), 'a b', 'a/b', '../x', 'é', '-'.repeat(64)), unicodeString(10))),
  url: odd(badUrl),
  secret: odd(fc.constantFrom('', 'x'.repeat(257))),
  content_type: odd(fc.oneof(fc.constantFrom('text/xml', 'APPLICATION/JSON', 'application/json ', 'application/*'), asciiString())),
  content_encoding: odd(fc.oneof(fc.constantFrom('zstd', 'GZIP', 'identity,gzip', 'x-gzip'), asciiString())),
  standard_webhooks: odd(fc.constantFrom('true', 'false', 0, 1, 'yes')),
};

const webhookBase = (name: fc.Arbitrary<string>) =>
  fc.record(
    {
      name,
      url: goodUrl,
      secret: fc.oneof(fc.string({ minLength: 1, maxLength: 256 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 })),
      content_type: fc.constantFrom('application/json', 'application/msgpack'),
      content_encoding: fc.constantFrom('identity', 'gzip', 'deflate', 'br'),
      standard_webhooks: fc.boolean(),
    },
    { requiredKeys: ['name', 'url'] },
  ) as fc.Arbitrary<Record<string, unknown>>;

const ODD_BODIES = [
  '{"__proto__": {"polluted": true}, "name": "proto", "url": "http://127.0.0.1:9/"}',
  '{"name": "proto2", "url": "http://127.0.0.1:9/", "__proto__": {"polluted": true}}',
  '{"constructor": {"prototype": {"polluted": true}}, "name": "ctor", "url": "http://127.0.0.1:9/"}',
  '{"name": "dupkeys", "name": {"x": 1}, "url": "http://127.0.0.1:9/"}',
  '{"name": {"x": 1}, "name": "dupkeys2", "url": "http://127.0.0.1:9/"}',
  '{"name": "nullsecret", "url": "http://127.0.0.1:9/", "secret": null}',
  '{"name": "\\u0000", "url": "http://127.0.0.1:9/"}',
  '{"name": "lone", "url": "http://127.0.0.1:9/\\ud800", "secret": "\\udfff"}',
  '{"name": "nul-secret", "url": "http://127.0.0.1:9/", "secret": "a\\u0000b"}',
  '{"name": "nul-url", "url": "http://127.0.0.1:9/a\\u0000b"}',
  '{"name": "big-number", "url": "http://127.0.0.1:9/", "standard_webhooks": 1e400}',
  `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
  `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`,
  'null',
  'true',
  '""',
  '0',
  '[]',
  '{}',
  '\ufeff{"name":"bom","url":"http://127.0.0.1:9/"}',
];

const webhookBodyText: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: mutated(webhookBase(fc.oneof({ arbitrary: validName, weight: 4 }, fc.constantFrom(...POOL))), webhookOdd).map(objectText),
    weight: 14,
  },
  { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), weight: 2 },
  { arbitrary: fc.constantFrom(...ODD_BODIES), weight: 2 },
);

/** A query string from (key, value) pairs; repeated keys allowed. */
const toQuery = (pairs: Array<[string, unknown]>) =>
  pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`).join('&');

const RAW_QUERY_JUNK = ['', '&', '&&', '=', '==', '%', '%zz', '%00', '%E0%A4%A', 'url', 'a[b]=c', 'headers%5B', '+', '%2B', 'url=', 'headers[X]'];

const byteLength = (s: string) => Buffer.byteLength(s);

/** `arb` with probability p, else null. */
const sometimes = <T>(arb: fc.Arbitrary<T>, p: number): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: Math.round((1 - p) * 100) }, { arbitrary: arb, weight: Math.round(p * 100) });

// ---------------------------------------------------------------------------

describe('API fuzzing (fast-check)', () => {
  before(async () => {
    hs = await startTestHookshot({ API_BODY_LIMIT_BYTES: String(BODY_LIMIT) });
    apiPort = Number(new URL(hs.apiUrl).port);
  });
  after(async () => {
    agent.destroy();
    await hs?.close();
  });

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  it('POST /webhooks with random JSON bodies: never 5xx, one error shape, a row only on 201', async (t) => {
    await check(
      t,
      fc.asyncProperty(
        webhookBodyText,
        sometimes(
          fc.array(
            fc.tuple(
              fc.constantFrom('name', 'url', 'secret', 'content_type', 'standard_webhooks', '__proto__'),
              fc.oneof(asciiString(), goodUrl, badUrl),
            ),
            { maxLength: 2 },
          ),
          0.2,
        ),
        async (body, query) => {
          const req: Req = {
            method: 'POST',
            path: `/webhooks${query && query.length ? `?${toQuery(query)}` : ''}`,
            headers: { ...bearer(hs.keys.test), 'content-type': 'application/json' },
            body,
          };
          const before = await snapshot();
          const res = await send(req);
          assertWellFormed(req, res);
          const now = await assertNoPartialRecord(req, res, before);
          if (res.status === 201) {
            assert.equal(now.webhooks, before.webhooks + 1, describeExchange(req, res));
            assert.equal(typeof res.body.uuid, 'string', describeExchange(req, res));
            assert.match(res.body.signing_secret, /^whsec_/, describeExchange(req, res));
          } else {
            assert.equal(now.webhooks, before.webhooks, `webhooks row count changed without a 201: ${describeExchange(req, res)}`);
          }
          if (byteLength(body) > BODY_LIMIT) assert.equal(res.status, 413, describeExchange(req, res));
        },
      ),
      RUNS,
    );
  });

  it('POST /webhooks with raw non-JSON bodies and a JSON content type → 400', async (t) => {
    const notJson = (text: string) => {
      try {
        JSON.parse(text);
        return false;
      } catch {
        return true;
      }
    };
    await check(
      t,
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          fc.json().map((j) => j.slice(0, Math.max(1, j.length - 1))),
          webhookBodyText.map((j) => j.slice(0, Math.max(1, j.length - 1))),
        ),
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=latin1'),
        async (body, contentType) => {
          const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
          fc.pre(text.trim() !== '' && notJson(text));
          const req: Req = { method: 'POST', path: '/webhooks', headers: { ...bearer(hs.keys.test), 'content-type': contentType }, body };
          const before = await snapshot();
          const res = await send(req);
          assertWellFormed(req, res);
          await assertNoPartialRecord(req, res, before);
          if (Buffer.byteLength(body) > BODY_LIMIT) {
            assert.equal(res.status, 413, describeExchange(req, res));
          } else {
            assert.equal(res.status, 400, describeExchange(req, res));
            assert.equal(res.body.code, 'ERR::VALIDATION::INVALID_PARAMETER', describeExchange(req, res));
          }
        },
      ),
      RUNS,
    );
  });

  // The live environment has no webhook at all, so a scrape here never
  // delivers anywhere; without webhook_name it is synchronous and fetches its
  // url, which is 127.0.0.1:9 (refused) or rejected by validation first.
  const HEADER_NAMES = [
    'X-Test',
    'Accept',
    'Host',
    'Content-Length',
    'Transfer-Encoding',
    'Connection',
    'Upgrade',
    'Expect',
    'Cookie',
    'Authorization',
    '__proto__',
    'constructor',
    'toString',
    'a b',
    'é',
    '',
  ];
  const longValue = fc.integer({ min: 8_000, max: 9_000 }).map((n) => 'v'.repeat(n));
  const scrapeBase = fc.record(
    {
      url: goodUrl,
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
      format: fc.constantFrom('raw', 'text', 'markdown', 'json'),
      timeout: fc.integer({ min: 1000, max: 30_000 }).map(String),
      render_js: fc.constant('false'),
      body: unicodeString(),
    },
    { requiredKeys: ['url'] },
  ) as fc.Arbitrary<Record<string, unknown>>;
  const scrapeOdd = {
    url: odd(badUrl),
    webhook_name: fc.oneof(validName, asciiString(), fc.constant('a'.repeat(65))),
    method: odd(fc.oneof(fc.constantFrom('get', 'BREW', 'CONNECT', 'TRACE', ''), asciiString(8))),
    format: odd(fc.constantFrom('RAW', 'html', 'pdf', 'png', '')),
    timeout: odd(
      fc.oneof(
        fc.integer().map(String),
        fc.constantFrom('999', '30001', '0', '-1', '1e4', 'NaN', 'Infinity', '1000.5', '0x3e8', ' 1000 ', '', '99999999999999999999'),
      ),
    ),
    // Never 'true': rendering starts Chromium (see send()).
    render_js: fc.constantFrom('1', 'yes', '', 'TRUE', 'False'),
    body: odd(fc.oneof(longValue, hugeString)),
  };
  const headerPair = fc.tuple(
    fc.oneof({ arbitrary: fc.constantFrom(...HEADER_NAMES), weight: 3 }, asciiString(12), unicodeString(6)).map((n) => `headers[${n}]`),
    fc.oneof({ arbitrary: asciiString(), weight: 4 }, unicodeString(), longValue, fc.constantFrom('a\r\nX-Injected: 1', '\u0000', 'é')),
  );

  it('/scrape with random query strings: never 5xx, one error shape, a job only on 200', async (t) => {
    const extraQueryKey = fc.oneof(
      {
        arbitrary: fc.constantFrom(
          ...EVIL_KEYS,
          'headers',
          'headers[]',
          'headers[a][b]',
          'url[]',
          'url[a]',
          'webhook_name[]',
          'headers[__proto__]',
          'headers[constructor]',
        ),
        weight: 2,
      },
      asciiString(12),
    );
    await check(
      t,
      fc.asyncProperty(
        mutated(scrapeBase, scrapeOdd, { key: extraQueryKey, value: fc.oneof(asciiString(), unicodeString()) }),
        fc.oneof({ arbitrary: fc.constant<Array<[string, string]>>([]), weight: 2 }, fc.array(headerPair, { minLength: 1, maxLength: 3 })),
        fc.oneof({ arbitrary: fc.constant(''), weight: 3 }, fc.constantFrom(...RAW_QUERY_JUNK)),
        fc.constantFrom('GET', 'POST'),
        sometimes(fc.constantFrom('fuzz-key-1', 'fuzz-key-2', 'bad key with spaces', 'x'.repeat(300)), 0.15),
        async (entries, headerPairs, junk, method, idempotencyKey) => {
          const qs = [toQuery([...entries, ...headerPairs]), junk].filter(Boolean).join('&');
          const path = `/scrape${qs ? `?${qs}` : ''}`;
          const headers: Record<string, string> = bearer(hs.keys.live);
          if (idempotencyKey !== null) headers['idempotency-key'] = idempotencyKey;
          const req: Req = { method, path, headers };
          const before = await snapshot();
          const res = await send(req);
          assertWellFormed(req, res);
          const now = await assertNoPartialRecord(req, res, before);
          if (res.status === 200) {
            assert.ok(now.jobs - before.jobs <= 1, describeExchange(req, res));
            assert.equal(typeof res.body.uuid, 'string', describeExchange(req, res));
          } else {
            assert.equal(now.jobs, before.jobs, `jobs row count changed without a 200: ${describeExchange(req, res)}`);
          }
        },
      ),
      RUNS,
    );
  });

  it('POST /scrape with random JSON bodies: never 5xx, one error shape, a job only on 200', async (t) => {
    const bodyBase = fc
      .tuple(scrapeBase, sometimes(fc.dictionary(fc.constantFrom(...HEADER_NAMES.slice(0, 8)), asciiString(), { minKeys: 1, maxKeys: 3 }), 0.3))
      .map(([b, h]) => ({ ...b, ...(b.timeout !== undefined ? { timeout: Number(b.timeout) } : {}), ...(h ? { headers: h } : {}) }));
    const bodyOdd = {
      ...scrapeOdd,
      render_js: fc.oneof(
        fc.constantFrom(false, 'false', 1, null, 'yes'),
        wrongType.filter((v) => v !== true),
      ),
      headers: odd(
        fc.oneof(
          fc.dictionary(fc.constantFrom('X-A', 'Host', '__proto__', 'a b', ''), fc.oneof(asciiString(), wrongType), { maxKeys: 3 }),
          fc.constant(JSON.parse('{"__proto__": {"x": "y"}}')),
        ),
      ),
    };
    await check(
      t,
      fc.asyncProperty(mutated(bodyBase, bodyOdd).map(objectText), async (body) => {
        const req: Req = { method: 'POST', path: '/scrape', headers: { ...bearer(hs.keys.live), 'content-type': 'application/json' }, body };
        const before = await snapshot();
        const res = await send(req);
        assertWellFormed(req, res);
        const now = await assertNoPartialRecord(req, res, before);
        if (res.status !== 200) assert.equal(now.jobs, before.jobs, `jobs row count changed without a 200: ${describeExchange(req, res)}`);
        else assert.ok(now.jobs - before.jobs <= 1, describeExchange(req, res));
      }),
      100,
    );
  });

  it('random paths and methods: never 5xx, the error shape or a 2xx JSON answer', async (t) => {
    const SEGMENTS = [
      'webhooks',
      'jobs',
      'scrape',
      'admin',
      'projects',
      'keys',
      'enable',
      'disable',
      'replay',
      'rotate-secret',
      'deliveries',
      'healthz',
      'openapi.json',
      'docs',
      'default',
      ...POOL,
      '..',
      '.',
      '%00',
      '%2e%2e',
      '%2F',
      '%',
      '%zz',
      '%E0%A4%A',
      '%C0%AF',
      '%ED%A0%80',
      '',
      ';',
      '~',
      '*',
      ':name',
      '(',
      ')',
      "'",
      '"',
      '<script>',
      '\\',
      '..%2F..%2Fetc%2Fpasswd',
      '%u0000',
      '?',
      '??',
      '#',
      '%3F',
      '%23',
      '%20',
      '+',
    ];
    const segment = fc.oneof(
      { arbitrary: fc.constantFrom(...SEGMENTS), weight: 6 },
      { arbitrary: unicodeString(12).map(encodeURIComponent), weight: 2 },
      { arbitrary: fc.uuid().map(String), weight: 1 },
      { arbitrary: validName, weight: 1 },
      { arbitrary: fc.integer({ min: 1_000, max: 8_000 }).map((n) => 'a'.repeat(n)), weight: 1 },
    );
    const TEMPLATES = [
      '/webhooks',
      '/webhooks/',
      '/webhooks/{}',
      '/webhooks/{}/enable',
      '/webhooks/{}/disable',
      '/webhooks/{}/replay',
      '/webhooks/{}/rotate-secret',
      '/webhooks/{}/deliveries',
      '/jobs/{}',
      '/jobs/{}/replay',
      '/scrape',
      '/scrape/',
      '/admin/projects',
      '/admin/projects/{}',
      '/admin/projects/{}/keys',
      '/admin/keys/{}',
      '/healthz',
      '/openapi.json',
      '/{}',
      '/{}/{}',
      '/webhooks/{}/{}',
      '//webhooks',
      '/webhooks/{}/',
      '/webhooks/{}/../{}',
      // Case variants: routing and authentication must agree on what a path is.
      '/WEBHOOKS',
      '/Webhooks/{}',
      '/WEBHOOKS/{}/disable',
      '/JOBS/{}',
      '/Scrape',
      '/ADMIN/projects',
      '/Admin/projects/{}',
      '/ADMIN/projects/{}/keys',
      '/admin/PROJECTS',
      '/Admin/keys/{}',
      '/HEALTHZ',
    ];
    const randomPath = fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`);
    const templatePath = fc
      .tuple(
        fc.constantFrom(...TEMPLATES),
        fc.array(fc.oneof({ arbitrary: fc.constantFrom(...POOL, 'default'), weight: 2 }, segment), { minLength: 2, maxLength: 2 }),
      )
      .map(([tpl, [a, b]]) => tpl.replace('{}', a!).replace('{}', b!));
    const pathArb = fc
      .tuple(
        fc.oneof(randomPath, { arbitrary: templatePath, weight: 3 }),
        sometimes(
          fc.array(
            fc.tuple(
              fc.oneof(fc.constantFrom('name', 'url', 'status', 'limit', 'cursor', 'since', 'key', 'env', 'plan'), asciiString(8)),
              asciiString(),
            ),
            { maxLength: 3 },
          ),
          0.3,
        ),
      )
      .map(([p, q]) => (q && q.length ? `${p}?${toQuery(q)}` : p));
    const auth = fc.constantFrom('test-bearer', 'test-bearer', 'test-query', 'none', 'admin');
    const body = sometimes(
      fc.oneof(
        webhookBodyText,
        fc.constantFrom('{"env":"live"}', '{"plan":"PRO"}', '{"name":"fuzz-project","plan":"FREE"}', '{"secret":"s"}', '{}', '[]'),
      ),
      0.5,
    );
    const PUBLIC = /^\/(healthz|openapi\.json|docs)\/?(\?|$)/i;
    await check(
      t,
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'), pathArb, auth, body, async (method, path0, who, json) => {
        let path = path0;
        const headers: Record<string, string> = {};
        if (who === 'test-bearer') Object.assign(headers, bearer(hs.keys.test));
        if (who === 'admin') Object.assign(headers, bearer(ADMIN_TOKEN));
        if (who === 'test-query') path += `${path.includes('?') ? '&' : '?'}key=${encodeURIComponent(hs.keys.test)}`;
        const req: Req = { method, path, headers };
        if (json !== null && method !== 'GET') {
          req.body = json;
          headers['content-type'] = 'application/json';
        }
        // Never revoke the keys this file runs with.
        if (method === 'DELETE' && path.startsWith('/admin/keys/')) {
          const prefix = querystring.unescape(path.slice('/admin/keys/'.length).split(/[/?#]/)[0]!);
          fc.pre(prefix === '' || !(hs.keys.test.startsWith(prefix) || hs.keys.live.startsWith(prefix)));
        }
        const before = await snapshot();
        const res = await send(req);
        assertWellFormed(req, res, { allowHtml: true });
        await assertNoPartialRecord(req, res, before);
        // Only what the credentials open may succeed: nothing but the public routes without any,
        // no operator route with an API key, no key route with the admin token.
        if (res.status < 400 && !PUBLIC.test(path)) {
          const operator = /^\/+admin(\/|\?|$)/i.test(path);
          assert.ok(who !== 'none', `answered ${res.status} without credentials: ${describeExchange(req, res)}`);
          assert.ok(operator === (who === 'admin'), `answered ${res.status} with the wrong credentials (${who}): ${describeExchange(req, res)}`);
        }
      }),
      200,
    );
  });

  it('random credentials → 401 in the error shape, never 5xx', async (t) => {
    const KEY_ENDPOINTS: Req[] = [
      { method: 'GET', path: '/webhooks' },
      {
        method: 'POST',
        path: '/webhooks',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"auth-probe","url":"http://127.0.0.1:9/"}',
      },
      { method: 'GET', path: '/webhooks/hook-a' },
      { method: 'PATCH', path: '/webhooks/hook-a', headers: { 'content-type': 'application/json' }, body: '{"secret":"s"}' },
      { method: 'DELETE', path: '/webhooks/hook-a' },
      { method: 'POST', path: '/webhooks/hook-a/rotate-secret' },
      { method: 'GET', path: '/webhooks/hook-a/deliveries' },
      { method: 'POST', path: '/webhooks/hook-a/disable' },
      { method: 'POST', path: '/webhooks/hook-a/enable' },
      { method: 'POST', path: '/webhooks/hook-a/replay' },
      { method: 'GET', path: `/scrape?url=${encodeURIComponent('http://127.0.0.1:9/')}` },
      { method: 'POST', path: `/scrape?url=${encodeURIComponent('http://127.0.0.1:9/')}` },
      { method: 'GET', path: '/jobs/00000000-0000-4000-8000-000000000000' },
      { method: 'POST', path: '/jobs/00000000-0000-4000-8000-000000000000/replay' },
    ];
    const ADMIN_ENDPOINTS: Req[] = [
      { method: 'POST', path: '/admin/projects', headers: { 'content-type': 'application/json' }, body: '{"name":"auth-probe","plan":"FREE"}' },
      { method: 'PATCH', path: '/admin/projects/default', headers: { 'content-type': 'application/json' }, body: '{"plan":"FREE"}' },
      { method: 'POST', path: '/admin/projects/default/keys', headers: { 'content-type': 'application/json' }, body: '{"env":"test"}' },
      { method: 'DELETE', path: '/admin/keys/hs_test_' },
    ];
    const headerSafe = (s: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(s);
    const mutations = () => {
      const k = hs.keys.test;
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
      return [
        `${k}x`,
        k.slice(0, -1),
        flip(k, k.length - 1),
        flip(k, 10),
        k.toUpperCase(),
        k.slice(0, 12),
        hs.keys.live.replace(/^hs_live_/, 'hs_test_'),
        ADMIN_TOKEN,
        `${ADMIN_TOKEN}x`,
        ADMIN_TOKEN.slice(0, -1),
        'hs_live_0000000000000000000000000000000000000000',
        '',
      ].filter((m) => m !== hs.keys.test && m !== hs.keys.live);
    };
    const token = fc.oneof(
      { arbitrary: fc.constantFrom(...mutations()), weight: 3 },
      { arbitrary: asciiString(60), weight: 3 },
      { arbitrary: fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 20 }), weight: 1 },
      { arbitrary: hugeString.map((s) => s.slice(0, 4000)), weight: 1 },
    );
    const authHeader = fc.oneof(
      token.map((v) => `Bearer ${v}`),
      token.map((v) => `bearer ${v}`),
      token.map((v) => `Basic ${Buffer.from(`${v}:`).toString('base64')}`),
      token,
      fc.constantFrom('Bearer', 'Bearer ', 'Bearer  a b', 'Token x', `Bearer ${'x'.repeat(5000)}`),
    );
    await check(
      t,
      fc.asyncProperty(
        fc.constantFrom(...KEY_ENDPOINTS, ...ADMIN_ENDPOINTS),
        sometimes(authHeader, 0.75),
        sometimes(fc.oneof(token, fc.array(token, { minLength: 2, maxLength: 2 })), 0.5),
        async (endpoint, authorization, key) => {
          const admin = endpoint.path.startsWith('/admin');
          const headers: Record<string, string> = { ...(endpoint.headers ?? {}) };
          if (authorization !== null) {
            fc.pre(headerSafe(authorization));
            if (admin) fc.pre(!new RegExp(`^bearer\\s+${ADMIN_TOKEN}$`, 'i').test(authorization.trim()));
            headers.authorization = authorization;
          }
          let path = endpoint.path;
          if (key !== null) {
            const keys = Array.isArray(key) ? key : [key];
            path += keys.map((k, i) => `${path.includes('?') || i > 0 ? '&' : '?'}key=${encodeURIComponent(k)}`).join('');
          }
          const req: Req = { ...endpoint, path, headers };
          const before = await snapshot();
          const res = await send(req);
          assertWellFormed(req, res);
          await assertNoPartialRecord(req, res, before);
          assert.equal(res.status, 401, describeExchange(req, res));
          if (admin) assert.equal(res.body.code, 'ERR::AUTH::INVALID_ADMIN_TOKEN', describeExchange(req, res));
          else assert.match(res.body.code, /^ERR::AUTH::(MISSING|INVALID)_KEY$/, describeExchange(req, res));
        },
      ),
      RUNS,
    );
  });

  it('admin: random bodies for POST /admin/projects and PATCH /admin/projects/:name', async (t) => {
    const PLANS = ['FREE', 'DISCOVERY', 'PRO', 'STARTUP', 'ENTERPRISE'];
    const projectOdd = {
      name: odd(fc.constantFrom('a'.repeat(65), 'a b', 'é', '../x', 'default')),
      plan: odd(fc.oneof(fc.constantFrom('free', 'GOLD', 'ENTERPRISE ', ''), asciiString())),
      alert_url: odd(badUrl),
    };
    const createBase = fc.record(
      {
        name: fc.oneof({ arbitrary: validName, weight: 3 }, fc.constantFrom('default', 'proj-a', 'proj-b')),
        plan: fc.constantFrom(...PLANS),
        alert_url: fc.oneof(goodUrl, fc.constant(null)),
      },
      { requiredKeys: ['name', 'plan'] },
    ) as fc.Arbitrary<Record<string, unknown>>;
    const patchBase = fc.record(
      { plan: fc.constantFrom(...PLANS), alert_url: fc.oneof(goodUrl, fc.constant(null)) },
      { requiredKeys: [] },
    ) as fc.Arbitrary<Record<string, unknown>>;
    const projectName = fc.oneof(
      { arbitrary: fc.constantFrom('default', 'proj-a', 'proj-b', 'nope'), weight: 4 },
      { arbitrary: validName, weight: 1 },
      { arbitrary: unicodeString(12), weight: 1 },
      { arbitrary: fc.integer({ min: 100, max: 3000 }).map((n) => 'p'.repeat(n)), weight: 1 },
    );
    await check(
      t,
      fc.asyncProperty(
        fc.oneof(
          mutated(createBase, projectOdd).map((e) => ({ method: 'POST', name: '', body: objectText(e) })),
          fc.tuple(projectName, mutated(patchBase, projectOdd)).map(([name, e]) => ({ method: 'PATCH', name, body: objectText(e) })),
        ),
        async ({ method, name, body }) => {
          const req: Req = {
            method,
            path: method === 'POST' ? '/admin/projects' : `/admin/projects/${encodeURIComponent(name)}`,
            headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
            body,
          };
          const before = await snapshot();
          const res = await send(req);
          assertWellFormed(req, res);
          const now = await assertNoPartialRecord(req, res, before);
          if (res.status === 201) assert.equal(now.projects, before.projects + 1, describeExchange(req, res));
          else assert.equal(now.projects, before.projects, `projects row count changed without a 201: ${describeExchange(req, res)}`);
          if (method === 'PATCH' && res.status === 200) assert.equal(res.body.name, name, describeExchange(req, res));
        },
      ),
      RUNS,
    );
  });

  it('webhook management (PATCH, DELETE, rotate-secret, deliveries, enable/disable/replay) with random input', async (t) => {
    const patchBase = fc
      .record(
        {
          url: goodUrl,
          secret: fc.oneof(fc.string({ minLength: 1, maxLength: 256 }), fc.constant(null)),
          content_type: fc.constantFrom('application/json', 'application/msgpack'),
          content_encoding: fc.constantFrom('identity', 'gzip', 'deflate', 'br'),
          standard_webhooks: fc.boolean(),
        },
        { requiredKeys: [] },
      )
      .filter((r) => Object.keys(r).length > 0) as fc.Arbitrary<Record<string, unknown>>;
    const patchOdd = { ...webhookOdd, secret: odd(fc.constantFrom('', 'x'.repeat(257))) };
    const deliveriesQuery = mutated(
      fc.record(
        {
          status: fc.constantFrom('success', 'failed'),
          limit: fc.integer({ min: 1, max: 200 }).map(String),
          cursor: fc.integer({ min: 1, max: 1e6 }).map(String),
        },
        { requiredKeys: [] },
      ),
      {
        status: odd(fc.constantFrom('SUCCESS', 'pending', '')),
        limit: odd(fc.constantFrom('0', '201', '-1', '1.5', '1e3', 'NaN', '9007199254740993', ' 5 ', '0x10')),
        cursor: odd(fc.constantFrom('0', '-1', '1.5', 'NaN', '9007199254740993', '99999999999999999999', 'abc')),
      },
      { key: fc.constantFrom('name', 'url', '__proto__', 'constructor', 'offset'), value: asciiString() },
    );
    const replayBody = mutated(
      fc.record({ since: fc.constantFrom('2026-11-23T10:00:00Z', '2020-01-01T00:00:00+02:00', '2026-11-23T10:00:00.123Z') }, { requiredKeys: [] }),
      {
        since: odd(
          fc.constantFrom(
            '2026-13-45T10:00:00Z',
            '2026-11-23',
            'yesterday',
            '2026-11-23T10:00:00',
            '0',
            '9999-12-31T23:59:59Z',
            '+275760-09-13T00:00:00Z',
          ),
        ),
      },
      { key: fc.constantFrom('name', 'force', '__proto__'), value: asciiString() },
    );
    const op = fc.constantFrom('PATCH', 'DELETE', 'ROTATE', 'DELIVERIES', 'ENABLE', 'DISABLE', 'REPLAY', 'GET');
    const nameArb = fc.oneof(
      { arbitrary: fc.constantFrom(...POOL), weight: 6 },
      { arbitrary: validName, weight: 1 },
      { arbitrary: unicodeString(10), weight: 1 },
      { arbitrary: fc.constantFrom('a'.repeat(65), '%', '..'), weight: 1 },
    );
    await check(
      t,
      fc.asyncProperty(
        op,
        nameArb,
        mutated(patchBase, patchOdd).map(objectText),
        deliveriesQuery,
        replayBody,
        fc.boolean(),
        async (kind, name, patchBody, deliveryPairs, replayEntries, asQuery) => {
          // Keep the pool populated (DELETE removes them); loopback URLs only.
          for (const n of POOL) {
            await send(
              {
                method: 'POST',
                path: '/webhooks',
                headers: { ...bearer(hs.keys.test), 'content-type': 'application/json' },
                body: JSON.stringify({ name: n, url: 'http://127.0.0.1:9/pool' }),
              },
              false,
            );
          }
          const base = `/webhooks/${name === '%' || name === '..' ? name : encodeURIComponent(name)}`;
          const req: Req = (() => {
            switch (kind) {
              case 'PATCH':
                return { method: 'PATCH', path: base, body: patchBody };
              case 'DELETE':
                return { method: 'DELETE', path: base };
              case 'ROTATE':
                return { method: 'POST', path: `${base}/rotate-secret`, body: asQuery ? undefined : '{}' };
              case 'DELIVERIES':
                return { method: 'GET', path: `${base}/deliveries${deliveryPairs.length ? `?${toQuery(deliveryPairs)}` : ''}` };
              case 'ENABLE':
                return { method: 'POST', path: `${base}/enable` };
              case 'DISABLE':
                return { method: 'POST', path: `${base}/disable` };
              case 'REPLAY':
                return asQuery
                  ? { method: 'POST', path: `${base}/replay${replayEntries.length ? `?${toQuery(replayEntries)}` : ''}` }
                  : { method: 'POST', path: `${base}/replay`, body: objectText(replayEntries) };
              case 'GET':
                return { method: 'GET', path: base };
            }
          })();
          req.headers = { ...bearer(hs.keys.test), ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}) };
          const before = await snapshot();
          const res = await send(req);
          assertWellFormed(req, res);
          const now = await assertNoPartialRecord(req, res, before);
          assert.equal(now.jobs, before.jobs, describeExchange(req, res));
          if (kind === 'DELETE' && res.status === 204) assert.equal(now.webhooks, before.webhooks - 1, describeExchange(req, res));
          else assert.equal(now.webhooks, before.webhooks, describeExchange(req, res));
        },
      ),
      RUNS,
    );
  });
  // Scrapfly's Crawler API, in a project of its own. Its crawlers fetch
  // 127.0.0.1:9 (refused) or are refused first; the project has no webhook,
  // so a named one is unknown. Never rendering_delay > 0 (it would start Chromium).
  const crawlerBase = fc.record(
    {
      url: goodUrl,
      page_limit: fc.integer({ min: 0, max: 5 }),
      max_depth: fc.integer({ min: 0, max: 3 }),
      max_duration: fc.integer({ min: 15, max: 10_800 }),
      delay: fc.oneof(fc.integer({ min: 0, max: 15_000 }), fc.integer({ min: 0, max: 15_000 }).map(String)),
      exclude_paths: fc.array(asciiString(20), { maxLength: 3 }),
      follow_internal_subdomains: fc.boolean(),
      respect_robots_txt: fc.boolean(),
      content_formats: fc.subarray(['html', 'clean_html', 'markdown', 'text', 'json', 'page_metadata']),
      headers: fc.dictionary(fc.stringMatching(/^[A-Za-z-]{1,12}$/), asciiString(20), { maxKeys: 2 }),
      asp: fc.boolean(),
      country: fc.constantFrom('us', 'us,ca', '-gb'),
    },
    { requiredKeys: ['url'] },
  ) as fc.Arbitrary<Record<string, unknown>>;
  const crawlerOdd = {
    url: odd(badUrl),
    url_list: odd(fc.array(fc.oneof(goodUrl, badUrl), { maxLength: 4 })),
    page_limit: odd(fc.constantFrom(-1, 2.5, '5', 1e20)),
    max_depth: odd(fc.constantFrom(-1, 10_001, '2')),
    max_duration: odd(fc.constantFrom(14, 10_801, 0, '900')),
    delay: odd(fc.constantFrom(-1, 15_001, '1e3', ' 5 ', 'soon', 1.5)),
    rendering_delay: odd(fc.constantFrom(-1, 25_001, '500')),
    exclude_paths: odd(fc.array(fc.oneof(asciiString(), fc.constant('')), { minLength: 101, maxLength: 102 })),
    include_only_paths: fc.array(asciiString(20), { maxLength: 2 }),
    content_formats: odd(fc.array(fc.constantFrom('extracted_data', 'pdf', 'HTML', ''), { minLength: 1, maxLength: 2 })),
    extraction_rules: fc.dictionary(asciiString(8), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
    webhook_name: fc.oneof(validName, asciiString(), fc.constant('a'.repeat(65))),
    webhook_events: odd(fc.array(fc.constantFrom('crawler_started', 'crawler_updated', ''), { maxLength: 3 })),
    headers: odd(fc.constant({ 'a b': 'x', 'X-A': 'a\r\nX-B: b' })),
    remote_url_list: goodUrl,
  };
  const renders = (text: string) => {
    try {
      const v = (JSON.parse(text) as Record<string, unknown> | null)?.rendering_delay;
      return typeof v === 'number' && v > 0 && v <= 25_000;
    } catch {
      return false;
    }
  };
  // A project of its own, which the admin property (earlier) cannot have put on a plan with no queue.
  let crawlerKeyMemo: string | undefined;
  const crawlerKey = async () => {
    if (crawlerKeyMemo) return crawlerKeyMemo;
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const project = await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'crawler-fuzz', plan: 'PRO' } });
    assert.equal(project.status, 201, JSON.stringify(project.body));
    const key = await hs.api('/admin/projects/crawler-fuzz/keys', { method: 'POST', headers: admin, json: { env: 'live' } });
    crawlerKeyMemo = key.body.key as string;
    return crawlerKeyMemo;
  };
  const crawlerCount = async () => (await hs.db.query(`SELECT count(*)::int AS n FROM crawls WHERE kind = 'crawler'`)).rows[0].n as number;

  it('POST /crawl with random configs, as JSON or multipart: never 5xx, one error shape, a crawler only on 201', async (t) => {
    const key = await crawlerKey();
    await check(
      t,
      fc.asyncProperty(
        mutated(crawlerBase, crawlerOdd).map(objectText),
        fc.boolean(),
        fc.array(fc.oneof(goodUrl, badUrl), { minLength: 1, maxLength: 3 }),
        async (config, multipart, list) => {
          fc.pre(!renders(config));
          let req: Req;
          if (multipart) {
            const form = new FormData();
            form.append('config', new Blob([config], { type: 'application/json' }), 'config.json');
            form.append('urls', new Blob([list.join('\n')], { type: 'text/plain' }), 'urls.txt');
            const r = new Request('http://x/', { method: 'POST', body: form });
            req = {
              method: 'POST',
              path: '/crawl',
              headers: { ...bearer(key), 'content-type': r.headers.get('content-type')! },
              body: new Uint8Array(await r.arrayBuffer()),
            };
          } else {
            req = { method: 'POST', path: '/crawl', headers: { ...bearer(key), 'content-type': 'application/json' }, body: config };
          }
          const before = await snapshot();
          const crawlers = await crawlerCount();
          const res = await send(req);
          assertWellFormed(req, res);
          await assertNoPartialRecord(req, res, before);
          if (res.status === 201) {
            assert.equal(await crawlerCount(), crawlers + 1, describeExchange(req, res));
            assert.equal(res.body.status, 'PENDING', describeExchange(req, res));
          } else {
            assert.equal(await crawlerCount(), crawlers, `a crawler was stored without a 201: ${describeExchange(req, res)}`);
            if (res.status === 400) assert.match(res.body.code, /^ERR::(CRAWLER::CONFIG_ERROR|WEBHOOK::NOT_FOUND)$/, describeExchange(req, res));
          }
        },
      ),
      Math.min(RUNS, 80),
    );
  });

  it('crawler reads with random uuids and queries: never 5xx, JSON errors in the one shape', async (t) => {
    const key = await crawlerKey();
    const created = await send(
      {
        method: 'POST',
        path: '/crawl',
        headers: { ...bearer(key), 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'http://127.0.0.1:9/', content_formats: ['html', 'markdown'] }),
      },
      false,
    );
    assert.equal(created.status, 201, created.text);
    const id = created.body.crawler_uuid as string;
    const query = fc.array(
      fc.tuple(
        fc.oneof(
          { arbitrary: fc.constantFrom('status', 'page', 'per_page', 'formats', 'format', 'url', 'plain', 'limit', 'offset'), weight: 4 },
          extraKey,
        ),
        fc.oneof(
          fc.constantFrom(
            'visited',
            'pending',
            'failed',
            'skipped',
            'html',
            'markdown',
            'html,markdown',
            'text',
            'true',
            'false',
            '0',
            '1',
            '51',
            '-1',
            '',
          ),
          goodUrl,
          asciiString(),
        ),
      ),
      { maxLength: 4 },
    );
    await check(
      t,
      fc.asyncProperty(
        fc.constantFrom('status', 'urls', 'contents', 'contents/batch', 'cancel'),
        fc.oneof({ arbitrary: fc.constant(id), weight: 4 }, fc.uuid(), asciiString(40).map(encodeURIComponent)),
        query,
        fc.array(fc.oneof(goodUrl, badUrl), { maxLength: 4 }),
        async (what, uuid, pairs, urls) => {
          const post = what === 'contents/batch' || what === 'cancel';
          const req: Req = {
            method: post ? 'POST' : 'GET',
            path: `/crawl/${uuid}/${what}${pairs.length ? `?${toQuery(pairs)}` : ''}`,
            headers: { ...bearer(key), ...(what === 'contents/batch' ? { 'content-type': 'text/plain' } : {}) },
            ...(what === 'contents/batch' ? { body: urls.join('\n') } : {}),
          };
          const res = await send(req);
          const text = /^text\/|^multipart\/related/.test(String(res.headers['content-type'])) && res.status === 200;
          if (!text) assertWellFormed(req, res);
          else assert.ok(res.status < 300, describeExchange(req, res));
          if (res.status === 400) assert.equal(res.body.code, 'ERR::CRAWLER::CONFIG_ERROR', describeExchange(req, res));
          if (res.status === 200 && !text) assert.ok(!('error_id' in res.body) && !('http_code' in res.body), describeExchange(req, res));
        },
      ),
      Math.min(RUNS, 80),
    );
  });

  // Fixed reproducers of what the properties above found, so each failure is
  // named and deterministic whatever the seed.
  describe('found by fuzzing', () => {
    const exchange = async (req: Req) => {
      const before = await snapshot();
      const res = await send(req, false);
      assertWellFormed(req, res);
      await assertNoPartialRecord(req, res, before);
      return res;
    };
    /** Every request checked (not only up to the first failure), all problems in one message. */
    const checkAll = async (reqs: Req[], extra: (req: Req, res: Res) => string | null = () => null) => {
      const problems: string[] = [];
      for (const req of reqs) {
        try {
          const res = await exchange(req);
          const p = extra(req, res);
          if (p) problems.push(`${p}: ${describeExchange(req, res)}`);
        } catch (err) {
          problems.push((err as Error).message.split('\n\n')[0]!);
        }
      }
      assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
    };
    const json = (method: string, path: string, body: unknown, headers: Record<string, string> = {}): Req => ({
      method,
      path,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

    it('operator routes need the admin token whatever the case of the path', async () => {
      await checkAll(
        [
          json('POST', '/ADMIN/projects', { name: 'case-bypass-1', plan: 'ENTERPRISE' }),
          json('POST', '/Admin/projects', { name: 'case-bypass-2', plan: 'ENTERPRISE' }),
          json('POST', '/admin/PROJECTS', { name: 'case-bypass-3', plan: 'ENTERPRISE' }),
          json('POST', '/ADMIN/projects/default/keys', { env: 'live' }),
          json('PATCH', '/Admin/projects/default', { plan: 'FREE' }),
          { method: 'DELETE', path: '/ADMIN/keys/hs_test_00000000' },
        ],
        (_req, res) => (res.status === 401 || res.status === 404 ? null : 'answered without the admin token'),
      );
    });

    it('key routes need a key whatever the case of the path (401/404, not 500)', async () => {
      await checkAll(
        [
          { method: 'GET', path: '/WEBHOOKS' },
          { method: 'GET', path: '/Webhooks/hook-a' },
          { method: 'GET', path: '/webhooks/hook-a'.toUpperCase() },
          { method: 'GET', path: '/JOBS/00000000-0000-4000-8000-000000000000' },
          json('POST', '/WEBHOOKS', { name: 'case-bypass', url: 'http://127.0.0.1:9/' }),
        ],
        (_req, res) => (res.status === 401 || res.status === 404 ? null : 'not 401/404 without a key'),
      );
    });

    it('NUL characters in stored strings → an answer, not a 500, and nothing half-stored', async () => {
      const test = bearer(hs.keys.test);
      const live = bearer(hs.keys.live);
      await send(json('POST', '/webhooks', { name: 'nul-target', url: 'http://127.0.0.1:9/' }, test), false);
      await checkAll([
        json('POST', '/webhooks', { name: 'nul-url', url: 'http://127.0.0.1:9/a\u0000b' }, test),
        json('POST', '/webhooks', { name: 'nul-secret', url: 'http://127.0.0.1:9/', secret: 'a\u0000b' }, test),
        json('PATCH', '/webhooks/nul-target', { secret: 'a\u0000b' }, test),
        json('PATCH', '/webhooks/nul-target', { url: 'http://127.0.0.1:9/a\u0000b' }, test),
        json('POST', '/scrape', { url: 'http://127.0.0.1:9/', body: '\u0000' }, live),
        json('POST', '/scrape', { url: 'http://127.0.0.1:9/', headers: { 'X-A': '\u0000' } }, live),
        { method: 'GET', path: `/scrape?url=${encodeURIComponent('http://127.0.0.1:9/\u0000')}`, headers: live },
        json('POST', '/admin/projects', { name: 'nul-alert', plan: 'FREE', alert_url: 'http://127.0.0.1:9/a\u0000b' }, bearer(ADMIN_TOKEN)),
        json('PATCH', '/admin/projects/default', { alert_url: 'http://127.0.0.1:9/a\u0000b' }, bearer(ADMIN_TOKEN)),
      ]);
    });

    it('deeply nested JSON bodies → 400, not 500 (nothing may recurse over the input unbounded)', async () => {
      const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
      const deepArray = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
      const withDeep = (fields: string) => `{${fields}"secret":${deepArray}}`;
      const post = (path: string, body: string, headers: Record<string, string>): Req => ({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      await checkAll(
        [
          post('/webhooks', deepObject, bearer(hs.keys.test)),
          post('/webhooks', withDeep('"name":"deep","url":"http://127.0.0.1:9/",'), bearer(hs.keys.test)),
          post('/scrape', deepObject, bearer(hs.keys.live)),
          { ...post('/webhooks/hook-a', withDeep(''), bearer(hs.keys.test)), method: 'PATCH' },
          post('/admin/projects', deepObject, bearer(ADMIN_TOKEN)),
        ],
        (_req, res) => (res.status === 400 ? null : 'not a 400'),
      );
    });

    it('a webhook can be disabled right after it was created', async () => {
      const test = bearer(hs.keys.test);
      for (let i = 0; i < 3; i++) {
        const created = await send(json('POST', '/webhooks', { name: `fresh-${i}`, url: 'http://127.0.0.1:9/' }, test), false);
        assert.equal(created.status, 201, created.text);
        const res = await exchange({ method: 'POST', path: `/webhooks/fresh-${i}/disable`, headers: test });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.status, 'disabled');
      }
    });

    it('enable/disable keep working once the webhook entity has continued as new', async () => {
      // The test Temporal server suggests continue-as-new after 100 history events.
      const test = bearer(hs.keys.test);
      const created = await send(json('POST', '/webhooks', { name: 'toggled', url: 'http://127.0.0.1:9/' }, test), false);
      assert.equal(created.status, 201, created.text);
      for (let i = 0; i < 30; i++) {
        const action = i % 2 === 0 ? 'disable' : 'enable';
        const res = await exchange({ method: 'POST', path: `/webhooks/toggled/${action}`, headers: test }).catch((err: Error) => {
          throw new Error(`toggle #${i} (${action}) of 30: ${err.message}`);
        });
        assert.equal(res.status, 200, `toggle #${i} (${action}): ${res.text}`);
        assert.equal(res.body.status, action === 'disable' ? 'disabled' : 'enabled');
      }
    });

    it('headers[Name]=value in the query string reaches the scrape as a header', async () => {
      const req: Req = {
        method: 'GET',
        path: `/scrape?url=${encodeURIComponent('http://127.0.0.1:9/')}&headers[X-Test]=a&headers%5BX-Other%5D=b`,
        headers: bearer(hs.keys.live),
      };
      const res = await exchange(req);
      assert.equal(res.status, 200, describeExchange(req, res));
      assert.deepEqual(res.body.config.headers, { 'X-Test': 'a', 'X-Other': 'b' });
    });
  });
});
