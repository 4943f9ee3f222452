// Secrets never reach the logs: API keys (in ?key= and in Authorization),
// webhook secrets, signing secrets and the admin token, across the API, the
// worker (capture and delivery, success and failure) and the Temporal SDK
// logs, at level debug, and in whatever the process prints besides.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { until } from '../helpers/wait';

async function startSite() {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<html><body><h1>secrets test page</h1></body></html>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('secrets never appear in the logs', () => {
  const serviceLog: string[] = [];
  const printed: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      serviceLog.push(chunk.toString());
      cb();
    },
  });
  let hs: TestHookshot | undefined;
  let site: Awaited<ReturnType<typeof startSite>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const restore: Array<() => void> = [];

  before(async () => {
    // Whatever the process prints outside the logger (console.*, stray writes) counts too.
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write;
      stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
        printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
      } as typeof stream.write;
      restore.push(() => (stream.write = original));
    }
    site = await startSite();
    receiver = await startReceiver((req) => (req.url.startsWith('/fail') ? { status: 500, body: 'receiver says no' } : { status: 200, body: 'ok' }));
    hs = await startTestHookshot({}, { logStream });
  });
  after(async () => {
    for (const r of restore) r();
    await hs?.close();
    await receiver?.close();
    await site?.close();
  });

  it('API keys, webhook secrets, signing secrets and the admin token are not logged', async () => {
    const h = hs!;
    const secrets: Array<[string, string]> = [];
    const secret = (label: string, value: string) => {
      secrets.push([label, value]);
      return value;
    };
    const keyTail = (k: string) => k.slice(-24); // the part after the (public) 18-character prefix
    secret('test API key', h.keys.test);
    secret('test API key (after its prefix)', keyTail(h.keys.test));
    secret('live API key', h.keys.live);
    secret('live API key (after its prefix)', keyTail(h.keys.live));
    secret('admin token', ADMIN_TOKEN);
    const webhookSecret = secret('webhook secret', `shared-${randomBytes(12).toString('hex')}`);
    const patchedSecret = secret('webhook secret (patched)', `patched-${randomBytes(12).toString('hex')}`);
    const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
    const expect = (what: string, res: { status: number; body: any }, status: number) =>
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
    const signing = (label: string, value: string) => {
      assert.match(value, /^whsec_/);
      secret(label, value);
      secret(`${label} (key bytes)`, value.slice('whsec_'.length));
    };

    // Webhooks with a secret: one that answers 200, one that answers 500, one that refuses connections.
    for (const [name, url] of [
      ['ok-hook', `${receiver.url}/hook`],
      ['failing-hook', `${receiver.url}/fail`],
      ['refused-hook', 'http://127.0.0.1:9/hook'],
    ]) {
      const created = await h.api('/webhooks', { method: 'POST', key: h.keys.test, json: { name, url, secret: webhookSecret } });
      expect(`create ${name}`, created, 201);
      signing(`signing secret of ${name}`, created.body.signing_secret);
    }

    // Webhook jobs (key in Authorization), captured from the loopback page and delivered.
    const jobIds: string[] = [];
    for (const name of ['ok-hook', 'failing-hook', 'refused-hook']) {
      const submitted = await h.api(`/scrape?url=${encodeURIComponent(`${site.url}/page`)}&webhook_name=${name}`, { headers: bearer(h.keys.test) });
      expect(`scrape to ${name}`, submitted, 200);
      jobIds.push(submitted.body.job_uuid);
    }
    await receiver.waitFor(2);
    for (const id of jobIds) {
      await until(async () => {
        const { rows } = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_attempts WHERE job_id = $1', [id]);
        return rows[0]!.n > 0 ? true : undefined;
      }, 30_000);
    }
    const delivered = receiver.received.find((r) => r.url === '/hook')!;
    assert.ok(delivered, 'the good webhook received its delivery');
    assert.equal(delivered.headers['x-scrapfly-webhook-secret'], webhookSecret, 'the secret does travel in the delivery itself');

    // A synchronous scrape with the key in the query string, then reads.
    expect('sync scrape', await h.api(`/scrape?url=${encodeURIComponent(`${site.url}/page`)}`, { key: h.keys.live }), 200);
    expect('job', await h.api(`/jobs/${jobIds[0]}`, { key: h.keys.test }), 200);
    expect('job (bearer)', await h.api(`/jobs/${jobIds[1]}`, { headers: bearer(h.keys.test) }), 200);
    expect('webhooks', await h.api('/webhooks', { key: h.keys.test }), 200);
    expect('webhook', await h.api('/webhooks/ok-hook', { headers: bearer(h.keys.test) }), 200);
    expect('deliveries', await h.api('/webhooks/failing-hook/deliveries', { key: h.keys.test }), 200);
    expect('patch secret', await h.api('/webhooks/ok-hook', { method: 'PATCH', key: h.keys.test, json: { secret: patchedSecret } }), 200);
    const rotated = await h.api('/webhooks/ok-hook/rotate-secret', { method: 'POST', headers: bearer(h.keys.test) });
    expect('rotate', rotated, 200);
    signing('rotated signing secret', rotated.body.signing_secret);
    expect('disable', await h.api('/webhooks/refused-hook/disable', { method: 'POST', key: h.keys.test }), 200);
    expect('job replay', await h.api(`/jobs/${jobIds[0]}/replay`, { method: 'POST', key: h.keys.test }), 202);

    // Rejections: validation errors carrying secrets, keys that contain the real key, a wrong admin token.
    expect(
      'bad webhook',
      await h.api('/webhooks', { method: 'POST', key: h.keys.test, json: { name: 'bad name', url: 'nope', secret: webhookSecret } }),
      400,
    );
    expect(
      'unknown field',
      await h.api('/webhooks', {
        method: 'POST',
        headers: bearer(h.keys.test),
        json: { name: 'x', url: 'http://127.0.0.1:9/', secret: webhookSecret, key: h.keys.test },
      }),
      400,
    );
    expect('bad scrape', await h.api(`/scrape?url=nope&webhook_name=${encodeURIComponent('a b')}`, { key: h.keys.live }), 400);
    expect('key with a suffix', await h.api('/webhooks', { key: `${h.keys.test}x` }), 401);
    expect('bearer with a suffix', await h.api('/webhooks', { headers: bearer(`${h.keys.live}x`) }), 401);
    expect('the key as a path', await h.api(`/${h.keys.test}`, { key: h.keys.test }), 404);
    expect(
      'wrong admin token',
      await h.api('/admin/projects', { method: 'POST', headers: bearer(`${ADMIN_TOKEN}x`), json: { name: 'p', plan: 'FREE' } }),
      401,
    );
    // A request the service may fail on (NUL in a stored string), with secrets in it: whatever it answers, the
    // error path's logs must not carry them either.
    await h.api('/webhooks', { method: 'POST', key: h.keys.test, json: { name: 'nul', url: 'http://127.0.0.1:9/a\u0000b', secret: webhookSecret } });

    // Operator calls with the admin token; the minted key is a secret too.
    expect(
      'create project',
      await h.api('/admin/projects', { method: 'POST', headers: bearer(ADMIN_TOKEN), json: { name: 'secrets-project', plan: 'PRO' } }),
      201,
    );
    expect(
      'patch project',
      await h.api('/admin/projects/secrets-project', { method: 'PATCH', headers: bearer(ADMIN_TOKEN), json: { plan: 'STARTUP' } }),
      200,
    );
    const minted = await h.api('/admin/projects/secrets-project/keys', { method: 'POST', headers: bearer(ADMIN_TOKEN), json: { env: 'live' } });
    expect('mint key', minted, 201);
    secret('minted API key', minted.body.key);
    secret('minted API key (after its prefix)', keyTail(minted.body.key));
    expect('use minted key', await h.api('/webhooks', { key: minted.body.key }), 200);
    expect('revoke key', await h.api(`/admin/keys/${minted.body.prefix}`, { method: 'DELETE', headers: bearer(ADMIN_TOKEN) }), 204);
    expect('revoked key', await h.api('/webhooks', { headers: bearer(minted.body.key) }), 401);

    // Shutdown logs count too.
    await h.close();
    hs = undefined;

    const log = serviceLog.join('');
    const lines = log.split('\n').filter(Boolean);
    assert.ok(lines.length > 20, `expected a real log to inspect, got ${lines.length} lines`);
    assert.ok(
      lines.every((l) => l.startsWith('{')),
      'the service log is JSON lines',
    );
    assert.match(log, /"msg":"job ran"/, 'worker logs are captured');
    assert.match(log, /"component":"temporal-sdk"/, 'Temporal SDK logs are captured');
    assert.match(log, /"level":20/, 'debug logs are captured');

    const everything = [['service log', log] as const, ['process output', printed.join('')] as const];
    const leaks: string[] = [];
    for (const [label, value] of secrets) {
      for (const [where, text] of everything) {
        let at = text.indexOf(value);
        while (at >= 0) {
          const line = text.slice(text.lastIndexOf('\n', at) + 1, (text.indexOf('\n', at) + 1 || text.length + 1) - 1);
          // Masked (every secret), so this report does not spread them any further.
          const masked = secrets.reduce((l, [lab, v]) => l.split(v).join(`<${lab}>`), line);
          leaks.push(`${label} in the ${where}: ${masked.slice(0, 800)}`);
          at = text.indexOf(value, at + value.length);
        }
      }
    }
    assert.deepEqual(leaks, [], `secrets found:\n${leaks.join('\n')}`);
  });
});
