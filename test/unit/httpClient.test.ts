// Every socket in this file goes to loopback (127.0.0.0/8). Refusals of other
// ranges are covered by the pure classifier tests in addressGuard.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Agent } from 'undici';
import { AddressGuard, parseCidrList } from '../../src/net/addressGuard';
import {
  AddressRefusedError,
  ConnectionError,
  InvalidUrlError,
  RedirectError,
  RequestTimeoutError,
  createGuardedAgent,
  request,
  type GuardedAgentOptions,
  type LookupAllFn,
} from '../../src/net/httpClient';

// Self-signed, test-only certificate for DNS:secure.test (valid 2000-2099).
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+FYkX2XUF3/gQCs9
M9Rnb6dAhmyc0uMfZZ7MuwclETGhRANCAAT4ACUj4sMmiMokBVXlWgJpQ98y6lyx
2P1nA0h5TLpYbv3fFHZkA6vkvYnn8qjzKlOdlMV6VnyoYKPge0Et8SLi
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBdDCCARqgAwIBAgIBATAKBggqhkjOPQQDAjAWMRQwEgYDVQQDDAtzZWN1cmUu
dGVzdDAgFw0wMDAxMDEwMDAwMDBaGA8yMDk5MTIzMTAwMDAwMFowFjEUMBIGA1UE
AwwLc2VjdXJlLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAT4ACUj4sMm
iMokBVXlWgJpQ98y6lyx2P1nA0h5TLpYbv3fFHZkA6vkvYnn8qjzKlOdlMV6Vnyo
YKPge0Et8SLio1cwVTAWBgNVHREEDzANggtzZWN1cmUudGVzdDAPBgNVHRMBAf8E
BTADAQH/MAsGA1UdDwQEAwIChDAdBgNVHQ4EFgQUQbAPWDW7gEdDabBPEEkRPwK+
qBYwCgYIKoZIzj0EAwIDSAAwRQIhANBSvGX7p3zcPZwymZJ6aiXeox/P+EmCpZ3s
kikNRZ+BAiAw9o36No+3mTpqYC9mpDiK+w9lyFXldwTjusHXO0skTQ==
-----END CERTIFICATE-----
`;

interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface TestServer {
  host: string;
  port: number;
  origin: string;
  requests: SeenRequest[];
  connections: number;
  servernames: Array<string | false | null>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, srv: TestServer) => void;

const servers: http.Server[] = [];
const agents: Agent[] = [];

async function startServer(host: string, handler: Handler, secure = false): Promise<TestServer> {
  const srv: TestServer = { host, port: 0, origin: '', requests: [], connections: 0, servernames: [] };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      srv.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      handler(req, res, srv);
    });
  };
  const server: http.Server = secure ? https.createServer({ key: TEST_KEY, cert: TEST_CERT }, onRequest) : http.createServer(onRequest);
  server.on('connection', () => srv.connections++);
  server.on('secureConnection', (s: TLSSocket) => srv.servernames.push(s.servername));
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  srv.port = (server.address() as AddressInfo).port;
  srv.origin = `${secure ? 'https' : 'http'}://${host}:${srv.port}`;
  return srv;
}

function agentWith(allow: string, extra: Partial<GuardedAgentOptions> = {}): Agent {
  const agent = createGuardedAgent({ guard: new AddressGuard(parseCidrList(allow)), ...extra });
  agents.push(agent);
  return agent;
}

/** Resolver answering from a table; counts calls. Unknown names fail like NXDOMAIN. */
function fakeLookup(table: Record<string, string[]>): LookupAllFn & { calls: string[] } {
  const calls: string[] = [];
  const fn = ((hostname, _options, callback) => {
    calls.push(hostname);
    const answer = table[hostname];
    setImmediate(() => {
      if (!answer) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = 'ENOTFOUND';
        callback(err, []);
        return;
      }
      callback(
        null,
        answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );
    });
  }) as LookupAllFn & { calls: string[] };
  fn.calls = calls;
  return fn;
}

async function rejectsWith<T extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => T, check?: (e: T) => void): Promise<T> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${String(caught)}`);
  check?.(caught);
  return caught;
}

after(async () => {
  await Promise.all(agents.map((a) => a.destroy()));
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

const ok: Handler = (_req, res) => {
  res.setHeader('x-test', 'yes');
  res.end('hello');
};

describe('guarded agent: address checks in the connect path', () => {
  it('allow-list 127.0.0.0/8 lets a loopback request through', async () => {
    const srv = await startServer('127.0.0.1', ok);
    const res = await request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/hi?q=1` });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello');
    assert.equal(res.headers['x-test'], 'yes');
    assert.equal(res.finalUrl, `${srv.origin}/hi?q=1`);
    assert.equal(res.redirects, 0);
    assert.equal(res.truncated, false);
    assert.ok(res.durationMs >= 0);
    assert.equal(srv.requests[0]?.url, '/hi?q=1');
  });

  it('without an allow-list loopback is refused and the server sees no connection', async () => {
    const srv = await startServer('127.0.0.1', ok);
    const agent = agentWith('');
    await rejectsWith(request(agent, { url: `${srv.origin}/` }), AddressRefusedError, (e) => {
      assert.equal(e.host, '127.0.0.1');
      assert.equal(e.address, '127.0.0.1');
      assert.equal(e.reason, '127.0.0.1 is a loopback address');
    });
    assert.equal(srv.requests.length, 0);
    assert.equal(srv.connections, 0);
  });

  it('odd literals are judged as the address they denote', async () => {
    const srv = await startServer('127.0.0.1', ok);
    const closed = agentWith('');
    for (const host of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '0x7f.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]']) {
      await rejectsWith(request(closed, { url: `http://${host}:${srv.port}/` }), AddressRefusedError, (e) =>
        assert.match(e.reason, /127\.0\.0\.1.*loopback/),
      );
    }
    assert.equal(srv.connections, 0);
    // ...and with the range opened, they reach the real target.
    const res = await request(agentWith('127.0.0.0/8'), { url: `http://0x7f.1:${srv.port}/odd` });
    assert.equal(res.status, 200);
    assert.equal(srv.requests[0]?.url, '/odd');
  });

  it('refuses [::1] without dialling', async () => {
    await rejectsWith(request(agentWith(''), { url: 'http://[::1]:9/' }), AddressRefusedError, (e) =>
      assert.equal(e.reason, '::1 is a loopback address'),
    );
  });

  it('a hostname resolving to loopback (localhost) is refused', async () => {
    const srv = await startServer('127.0.0.1', ok);
    await rejectsWith(request(agentWith(''), { url: `http://localhost:${srv.port}/` }), AddressRefusedError, (e) => {
      assert.equal(e.host, 'localhost');
      assert.match(e.reason, /loopback/);
    });
    assert.equal(srv.connections, 0);
  });

  it('judges the addresses a resolver returns (rebind.test -> 127.0.0.1)', async () => {
    const srv = await startServer('127.0.0.1', ok);
    const lookup = fakeLookup({ 'rebind.test': ['127.0.0.1'] });
    await rejectsWith(request(agentWith('127.0.0.2/32', { lookup }), { url: `http://rebind.test:${srv.port}/` }), AddressRefusedError, (e) => {
      assert.equal(e.host, 'rebind.test');
      assert.equal(e.address, '127.0.0.1');
      assert.match(e.message, /rebind\.test \(127\.0\.0\.1\)/);
    });
    assert.deepEqual(lookup.calls, ['rebind.test']);
    assert.equal(srv.connections, 0);
  });

  it('dials the resolved address it judged, with a single lookup', async () => {
    const srv = await startServer('127.0.0.2', ok);
    const lookup = fakeLookup({ 'named.test': ['127.0.0.2'] });
    const res = await request(agentWith('127.0.0.2/32', { lookup }), { url: `http://named.test:${srv.port}/x` });
    assert.equal(res.status, 200);
    assert.deepEqual(lookup.calls, ['named.test']);
    assert.equal(srv.requests[0]?.headers.host, `named.test:${srv.port}`);
  });

  it('normalises odd resolver answers and refuses non-IP ones', async () => {
    const srv = await startServer('127.0.0.1', ok);
    const lookup = fakeLookup({ 'odd.test': ['0x7f.1'], 'junk.test': ['not-an-ip'] });
    const agent = agentWith('127.0.0.0/8', { lookup });
    const res = await request(agent, { url: `http://odd.test:${srv.port}/` });
    assert.equal(res.status, 200);
    await rejectsWith(request(agent, { url: `http://junk.test:${srv.port}/` }), AddressRefusedError, (e) =>
      assert.match(e.reason, /not an IP address/),
    );
    assert.equal(srv.connections, 1);
  });

  it('refuses when any resolved address is refused', async () => {
    const a = await startServer('127.0.0.2', ok);
    const lookup = fakeLookup({ 'mixed.test': ['127.0.0.2', '127.0.0.1'] });
    await rejectsWith(request(agentWith('127.0.0.2/32', { lookup }), { url: `http://mixed.test:${a.port}/` }), AddressRefusedError, (e) =>
      assert.equal(e.address, '127.0.0.1'),
    );
    assert.equal(a.connections, 0);
  });

  it('falls through to the next judged address on connect failure', async () => {
    const srv = await startServer('127.0.0.2', ok);
    // Nothing listens on 127.0.0.3 at that port: ECONNREFUSED, then 127.0.0.2.
    const lookup = fakeLookup({ 'multi.test': ['127.0.0.3', '127.0.0.2'] });
    const res = await request(agentWith('127.0.0.0/8', { lookup }), { url: `http://multi.test:${srv.port}/` });
    assert.equal(res.status, 200);
    assert.equal(srv.requests.length, 1);
  });

  it('resolver failures surface as ConnectionError with the code', async () => {
    const lookup = fakeLookup({});
    await rejectsWith(request(agentWith('127.0.0.0/8', { lookup }), { url: 'http://nowhere.test/' }), ConnectionError, (e) =>
      assert.equal(e.code, 'ENOTFOUND'),
    );
  });

  it('ECONNREFUSED surfaces as ConnectionError', async () => {
    const tmp = http.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const { port } = tmp.address() as AddressInfo;
    await new Promise<void>((r) => tmp.close(() => r()));
    await rejectsWith(request(agentWith('127.0.0.0/8'), { url: `http://127.0.0.1:${port}/` }), ConnectionError, (e) => {
      assert.equal(e.code, 'ECONNREFUSED');
      assert.equal(e.url, `http://127.0.0.1:${port}/`);
    });
  });

  it('rejects non-http(s) and malformed URLs before any I/O', async () => {
    const agent = agentWith('127.0.0.0/8');
    for (const url of ['ftp://127.0.0.1/', 'file:///etc/passwd', 'gopher://127.0.0.1:70/']) {
      await rejectsWith(request(agent, { url }), InvalidUrlError, (e) => assert.equal(e.reason, 'unsupported_scheme'));
    }
    await rejectsWith(request(agent, { url: 'not a url' }), InvalidUrlError, (e) => assert.equal(e.reason, 'invalid_url'));
  });
});

describe('redirects', () => {
  const chain: Handler = (req, res) => {
    const m = /^\/chain\/(\d+)$/.exec(req.url ?? '');
    const left = Number(m?.[1] ?? 0);
    if (left > 0) {
      res.writeHead(302, { location: `/chain/${left - 1}` });
      res.end('moving');
    } else {
      res.end('done');
    }
  };

  it('re-checks every hop: 127.0.0.2 (allowed) -> 127.0.0.1 (not) is refused at hop two', async () => {
    const target = await startServer('127.0.0.1', ok);
    const first = await startServer('127.0.0.2', (_req, res) => {
      res.writeHead(302, { location: `${target.origin}/secret` });
      res.end();
    });
    await rejectsWith(request(agentWith('127.0.0.2/32'), { url: `${first.origin}/start` }), AddressRefusedError, (e) =>
      assert.equal(e.address, '127.0.0.1'),
    );
    assert.equal(first.requests.length, 1);
    assert.equal(target.requests.length, 0);
    assert.equal(target.connections, 0);
  });

  it('follows up to maxRedirects hops', async () => {
    const srv = await startServer('127.0.0.1', chain);
    const res = await request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/chain/5` });
    assert.equal(res.status, 200);
    assert.equal(res.redirects, 5);
    assert.equal(res.finalUrl, `${srv.origin}/chain/0`);
    assert.equal(res.body.toString(), 'done');
  });

  it('6 hops with the default maxRedirects=5 is too_many_redirects', async () => {
    const srv = await startServer('127.0.0.1', chain);
    await rejectsWith(request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/chain/6` }), RedirectError, (e) =>
      assert.equal(e.reason, 'too_many_redirects'),
    );
    assert.equal(srv.requests.length, 6); // /chain/6 .. /chain/1; /chain/0 never asked for
  });

  it('maxRedirects=0 refuses the first redirect', async () => {
    const srv = await startServer('127.0.0.1', chain);
    await rejectsWith(request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/chain/1`, maxRedirects: 0 }), RedirectError, (e) =>
      assert.equal(e.reason, 'too_many_redirects'),
    );
  });

  for (const status of [307, 308, 301, 302, 303]) {
    it(`${status} keeps POST and the body`, async () => {
      const srv = await startServer('127.0.0.1', (req, res) => {
        if (req.url === '/in') {
          res.writeHead(status, { location: '/out' });
          res.end();
        } else {
          res.end('stored');
        }
      });
      const res = await request(agentWith('127.0.0.0/8'), {
        url: `${srv.origin}/in`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"event":"job.completed"}',
      });
      assert.equal(res.status, 200);
      assert.equal(res.redirects, 1);
      assert.deepEqual(
        srv.requests.map((r) => [r.method, r.url, r.body, r.headers['content-type']]),
        [
          ['POST', '/in', '{"event":"job.completed"}', 'application/json'],
          ['POST', '/out', '{"event":"job.completed"}', 'application/json'],
        ],
      );
    });
  }

  it('resolves relative Locations against the current URL', async () => {
    const hops: Record<string, string> = {
      '/a/b/start': 'next?x=1', // same directory
      '/a/b/next?x=1': '../up', // parent
      '/a/up': '/abs#frag', // absolute path; fragment is not sent
    };
    const srv = await startServer('127.0.0.1', (req, res) => {
      const loc = hops[req.url ?? ''];
      if (loc) {
        res.writeHead(301, { location: loc });
        res.end();
      } else if (req.url === '/abs') {
        res.writeHead(302, { location: `//127.0.0.1:${srv.port}/scheme-relative` });
        res.end();
      } else {
        res.end('end');
      }
    });
    const res = await request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/a/b/start` });
    assert.deepEqual(
      srv.requests.map((r) => r.url),
      ['/a/b/start', '/a/b/next?x=1', '/a/up', '/abs', '/scheme-relative'],
    );
    assert.equal(res.redirects, 4);
    assert.equal(res.finalUrl, `${srv.origin}/scheme-relative`);
  });

  it('a 3xx without Location is returned as the response', async () => {
    const srv = await startServer('127.0.0.1', (_req, res) => {
      res.statusCode = 304;
      res.end();
    });
    const res = await request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/` });
    assert.equal(res.status, 304);
    assert.equal(res.redirects, 0);
  });

  it('bad Locations are bad_location', async () => {
    const srv = await startServer('127.0.0.1', (req, res) => {
      res.writeHead(302, { location: req.url === '/ftp' ? 'ftp://127.0.0.1/x' : 'http://[::1' });
      res.end();
    });
    const agent = agentWith('127.0.0.0/8');
    for (const path of ['/ftp', '/broken']) {
      await rejectsWith(request(agent, { url: `${srv.origin}${path}` }), RedirectError, (e) => {
        assert.equal(e.reason, 'bad_location');
        assert.equal(e.url, `${srv.origin}${path}`);
      });
    }
  });

  it('drops credentials on cross-origin hops, keeps them same-origin', async () => {
    const other = await startServer('127.0.0.1', ok);
    const srv = await startServer('127.0.0.1', (req, res) => {
      if (req.url === '/same') res.writeHead(302, { location: '/landing' });
      else if (req.url === '/cross') res.writeHead(302, { location: `${other.origin}/landing` });
      res.end();
    });
    const agent = agentWith('127.0.0.0/8');
    const headers = { authorization: 'Bearer t', cookie: 'a=b', 'x-hookshot-signature': 'sig' };
    await request(agent, { url: `${srv.origin}/same`, headers });
    await request(agent, { url: `${srv.origin}/cross`, headers });
    const same = srv.requests.find((r) => r.url === '/landing')!;
    assert.equal(same.headers.authorization, 'Bearer t');
    const cross = other.requests[0]!;
    assert.equal(cross.headers.authorization, undefined);
    assert.equal(cross.headers.cookie, undefined);
    assert.equal(cross.headers['x-hookshot-signature'], 'sig');
  });
});

describe('https', () => {
  it('dials the judged IP, sends SNI and verifies the certificate for the hostname', async () => {
    const srv = await startServer('127.0.0.1', ok, true);
    const lookup = fakeLookup({ 'secure.test': ['127.0.0.1'] });
    const agent = agentWith('127.0.0.0/8', { lookup, tls: { ca: TEST_CERT } });
    const res = await request(agent, { url: `https://secure.test:${srv.port}/` });
    assert.equal(res.status, 200);
    assert.deepEqual(srv.servernames, ['secure.test']);
    // By IP the certificate (DNS:secure.test only) does not match: no SNI, IP checked.
    await rejectsWith(request(agent, { url: `https://127.0.0.1:${srv.port}/` }), ConnectionError, (e) =>
      assert.equal(e.code, 'ERR_TLS_CERT_ALTNAME_INVALID'),
    );
  });

  it('refuses HTTPS -> HTTP downgrades unless allowHttpsToHttp', async () => {
    const plain = await startServer('127.0.0.1', ok);
    const srv = await startServer(
      '127.0.0.1',
      (_req, res) => {
        res.writeHead(302, { location: `${plain.origin}/plain` });
        res.end();
      },
      true,
    );
    const lookup = fakeLookup({ 'secure.test': ['127.0.0.1'] });
    const agent = agentWith('127.0.0.0/8', { lookup, tls: { ca: TEST_CERT } });
    const url = `https://secure.test:${srv.port}/down`;
    await rejectsWith(request(agent, { url }), RedirectError, (e) => {
      assert.equal(e.reason, 'https_to_http');
      assert.equal(e.location, `${plain.origin}/plain`);
    });
    assert.equal(plain.connections, 0);
    const res = await request(agent, { url, allowHttpsToHttp: true });
    assert.equal(res.status, 200);
    assert.equal(res.finalUrl, `${plain.origin}/plain`);
  });
});

describe('timeouts and body cap', () => {
  it('a server that never answers hits RequestTimeoutError on time', async () => {
    const srv = await startServer('127.0.0.1', () => {
      /* never respond */
    });
    const t0 = performance.now();
    await rejectsWith(request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/`, timeoutMs: 300 }), RequestTimeoutError, (e) => {
      assert.equal(e.timeoutMs, 300);
    });
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 250 && elapsed < 2000, `elapsed ${elapsed} ms`);
  });

  it('the timeout also covers a body that trickles', async () => {
    const srv = await startServer('127.0.0.1', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first bytes');
      // never ends
    });
    const t0 = performance.now();
    await rejectsWith(request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/`, timeoutMs: 300 }), RequestTimeoutError);
    assert.ok(performance.now() - t0 < 2000);
  });

  it('the timeout spans all hops', async () => {
    const srv = await startServer('127.0.0.1', (req, res) => {
      const n = Number(req.url?.slice(1) ?? 0);
      setTimeout(() => {
        res.writeHead(302, { location: `/${n + 1}` });
        res.end();
      }, 150);
    });
    const t0 = performance.now();
    await rejectsWith(request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/0`, timeoutMs: 400, maxRedirects: 50 }), RequestTimeoutError);
    assert.ok(performance.now() - t0 < 2000);
    assert.ok(srv.requests.length <= 4, `${srv.requests.length} hops`);
  });

  it('caps the body at maxBodyBytes without failing', async () => {
    const big = Buffer.alloc(1024 * 1024, 'x');
    const srv = await startServer('127.0.0.1', (req, res) => {
      res.end(req.url === '/exact' ? big.subarray(0, 4096) : big);
    });
    const agent = agentWith('127.0.0.0/8');
    const capped = await request(agent, { url: `${srv.origin}/big`, maxBodyBytes: 4096 });
    assert.equal(capped.status, 200);
    assert.equal(capped.body.length, 4096);
    assert.equal(capped.truncated, true);
    const exact = await request(agent, { url: `${srv.origin}/exact`, maxBodyBytes: 4096 });
    assert.equal(exact.body.length, 4096);
    assert.equal(exact.truncated, false);
    const full = await request(agent, { url: `${srv.origin}/big` });
    assert.equal(full.body.length, big.length);
    assert.equal(full.truncated, false);
  });
});

describe('caller abort signal', () => {
  it("stops a request in flight with the signal's reason, not a timeout", async () => {
    const srv = await startServer('127.0.0.1', () => {
      /* never respond */
    });
    const ac = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => ac.abort(reason), 100);
    const t0 = performance.now();
    await assert.rejects(request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/`, timeoutMs: 5000, signal: ac.signal }), (e) => e === reason);
    assert.ok(performance.now() - t0 < 2000);
  });

  it('an already aborted signal sends nothing', async () => {
    const srv = await startServer('127.0.0.1', (_req, res) => res.end('x'));
    const reason = new Error('gone');
    await assert.rejects(request(agentWith('127.0.0.0/8'), { url: `${srv.origin}/`, signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(srv.requests.length, 0);
  });
});
